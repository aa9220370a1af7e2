output "state_bucket_name" {
  description = "The state bucket: the `bucket` of backend.hcl."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket (for the IAM policy of whoever runs Terraform)."
  value       = aws_s3_bucket.state.arn
}

output "backend_config" {
  description = "backend.hcl values for this bucket (add a `key` per environment)."
  value = {
    bucket       = aws_s3_bucket.state.id
    region       = var.aws_region
    encrypt      = true
    use_lockfile = true
  }
}
