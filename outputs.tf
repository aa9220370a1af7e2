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

output "dlq_redrive_commands" {
  description = "The command replaying each dead-letter queue once its cause is fixed (keys ingest-dlq, groundstation-dlq, ingest-events-dlq; the last re-invokes ingest with each failed S3 event)."
  value       = module.etl_functions.redrive_commands
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies (subscribe with alarm_emails or `aws sns subscribe`); null when alarm_topic_enabled = false."
  value       = module.etl_functions.alarm_topic_arn
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

output "inference_dashboard_name" {
  description = "Name of the CloudWatch dashboard of the inference API."
  value       = module.inference_api.dashboard_name
}

output "athena_workgroup_name" {
  description = "Athena workgroup for the weather and training queries (enforced scan cutoff and encrypted results)."
  value       = module.athena.workgroup_name
}

output "glue_database_name" {
  description = "Glue database with the rides, GHCN-D and weather tables."
  value       = module.athena.database_name
}

output "athena_rides_view" {
  description = "What readers query in Athena: the view database.rides_unique, each ride_id once (newest upload of the current version of its file; docs/design.md \"Each ride once for readers\"). The table rides holds every stored row."
  value       = module.athena.rides_unique_view
}

output "sagemaker_training_role_arn" {
  description = "Execution role ARN for Linear Learner training jobs (`wildrydes train --engine sagemaker`)."
  value       = module.sagemaker.training_role_arn
}

output "linear_learner_image_uri" {
  description = "Linear Learner training image URI for the region."
  value       = module.sagemaker.linear_learner_image_uri
}

output "model_package_group_name" {
  description = "SageMaker Model Package Group mirroring the serving model (WILDRYDES_MODEL_PACKAGE_GROUP for `wildrydes models promote|rollback`); null unless sagemaker_model_package_group_enabled."
  value       = module.sagemaker.model_package_group_name
}

output "inference_invoke_url" {
  description = "URL to POST scoring requests to: the LocalStack URL (no DNS needed) when local_endpoint is set, the execute-api URL otherwise."
  value       = module.inference_api.effective_invoke_url
}

output "inference_api_key" {
  description = "API key for the inference API (send as x-api-key)."
  value       = module.inference_api.api_key_value
  sensitive   = true
}

output "model_s3_uri" {
  description = "S3 URI of the serving pointer: a JSON object naming the model version (under models/linear-learner/versions/) the inference function serves."
  value       = module.inference_api.model_s3_uri
}

output "inference_curl_example" {
  description = "Ready-to-paste curl command scoring the workshop payload (reads the key via terraform output)."
  value       = module.inference_api.curl_example
}
