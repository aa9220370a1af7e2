# wildrydes-ml root module: wires one module per concern.
# ETL: storage (data bucket) -> ingest -> queues -> enrich -> queues -> writer -> storage (processed/).

locals {
  lambda_build_dir = coalesce(var.lambda_build_dir, "${path.root}/build")
}

module "storage" {
  source = "./modules/storage"

  name_prefix                    = var.name_prefix
  bucket_name                    = var.data_bucket_name
  force_destroy                  = var.data_bucket_force_destroy
  kms_key_arn                    = var.data_bucket_kms_key_arn
  quarantine_expiration_days     = var.quarantine_expiration_days
  tmp_expiration_days            = var.tmp_expiration_days
  athena_results_expiration_days = var.athena_results_expiration_days

  # The raw/*.json notification targets the ingest function (created by etl_functions).
  ingest_notification_enabled = true
  ingest_function_arn         = module.etl_functions.ingest_function_arn
  ingest_function_name        = module.etl_functions.ingest_function_name
}

module "queues" {
  source = "./modules/queues"

  name_prefix                            = var.name_prefix
  max_receive_count                      = var.queue_max_receive_count
  visibility_timeout_multiplier          = var.queue_visibility_timeout_multiplier
  ingest_consumer_timeout_seconds        = var.enrich_timeout_seconds
  groundstation_consumer_timeout_seconds = var.writer_timeout_seconds
}

module "etl_functions" {
  source = "./modules/etl_functions"

  name_prefix = var.name_prefix

  ingest_zip_path = "${local.lambda_build_dir}/ingest.zip"
  enrich_zip_path = "${local.lambda_build_dir}/enrich.zip"
  writer_zip_path = "${local.lambda_build_dir}/writer.zip"

  data_bucket_name        = module.storage.bucket_name
  data_bucket_arn         = module.storage.bucket_arn
  data_bucket_kms_key_arn = var.data_bucket_kms_key_arn

  ingest_queue_arn         = module.queues.ingest_queue_arn
  ingest_queue_url         = module.queues.ingest_queue_url
  ingest_dlq_name          = module.queues.ingest_dlq_name
  groundstation_queue_arn  = module.queues.groundstation_queue_arn
  groundstation_queue_url  = module.queues.groundstation_queue_url
  groundstation_dlq_name   = module.queues.groundstation_dlq_name
  ingest_queue_name        = module.queues.ingest_queue_name
  groundstation_queue_name = module.queues.groundstation_queue_name
  ingest_events_dlq_arn    = module.queues.ingest_events_dlq_arn
  ingest_events_dlq_name   = module.queues.ingest_events_dlq_name

  ingest_memory_mb       = var.ingest_memory_mb
  ingest_timeout_seconds = var.ingest_timeout_seconds
  enrich_memory_mb       = var.enrich_memory_mb
  enrich_timeout_seconds = var.enrich_timeout_seconds
  writer_memory_mb       = var.writer_memory_mb
  writer_timeout_seconds = var.writer_timeout_seconds

  rides_per_message           = var.rides_per_message
  sqs_batch_size              = var.sqs_batch_size
  sqs_batching_window_seconds = var.sqs_batching_window_seconds
  log_retention_days          = var.log_retention_days
  log_level                   = var.log_level
  alarm_topic_enabled         = var.alarm_topic_enabled
}
