output "bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.id
}

output "bucket_arn" {
  description = "ARN of the data bucket (object ARNs are <bucket_arn>/<key>)."
  value       = local.bucket_arn
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the data bucket."
  value       = aws_s3_bucket.data.bucket_regional_domain_name
}

output "raw_prefix" {
  description = "Key prefix whose .json uploads trigger ingest."
  value       = var.raw_prefix
}

output "sse_algorithm" {
  description = "Default server-side encryption of the bucket: AES256 (SSE-S3) or aws:kms."
  value       = var.kms_key_arn == null ? "AES256" : "aws:kms"
}

output "layout" {
  description = "The bucket layout every other module takes as its `layout` input: key prefixes (raw, quarantine, manifests, processed, weather, training, models, artifacts, athena_results, tmp; each ends in '/') and the model keys (model_versions: prefix of the immutable model versions; model_pointer_key: the serving pointer; model_jobs: where SageMaker training jobs write)."
  value       = local.layout
}
