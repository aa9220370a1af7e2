output "data_bucket_name" {
  description = "Name of the data bucket (raw/, processed/, quarantine/, manifests/, ...)."
  value       = module.storage.bucket_name
}

output "data_bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.storage.bucket_arn
}

output "ingest_queue_url" {
  description = "URL of the queue from ingest to enrich."
  value       = module.queues.ingest_queue_url
}

output "groundstation_queue_url" {
  description = "URL of the queue from enrich to writer (rides with their ground station)."
  value       = module.queues.groundstation_queue_url
}

output "ingest_dlq_url" {
  description = "URL of the ingest queue's dead-letter queue."
  value       = module.queues.ingest_dlq_url
}

output "groundstation_dlq_url" {
  description = "URL of the ground-station queue's dead-letter queue."
  value       = module.queues.groundstation_dlq_url
}

output "ingest_events_dlq_url" {
  description = "URL of the queue that receives S3 events the ingest function failed on after Lambda's async retries."
  value       = module.queues.ingest_events_dlq_url
}

output "ingest_function_name" {
  description = "Name of the ingest Lambda function."
  value       = module.etl_functions.ingest_function_name
}

output "enrich_function_name" {
  description = "Name of the enrich Lambda function."
  value       = module.etl_functions.enrich_function_name
}

output "writer_function_name" {
  description = "Name of the writer Lambda function."
  value       = module.etl_functions.writer_function_name
}

output "etl_dashboard_name" {
  description = "Name of the CloudWatch dashboard of the ETL pipeline."
  value       = module.etl_functions.dashboard_name
}
