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

  functions = {
    ingest = {
      zip_path        = "${local.lambda_build_dir}/ingest.zip"
      memory_mb       = var.ingest_memory_mb
      timeout_seconds = var.ingest_timeout_seconds
    }
    enrich = {
      zip_path        = "${local.lambda_build_dir}/enrich.zip"
      memory_mb       = var.enrich_memory_mb
      timeout_seconds = var.enrich_timeout_seconds
    }
    writer = {
      zip_path        = "${local.lambda_build_dir}/writer.zip"
      memory_mb       = var.writer_memory_mb
      timeout_seconds = var.writer_timeout_seconds
    }
  }

  data_bucket_name        = module.storage.bucket_name
  data_bucket_arn         = module.storage.bucket_arn
  data_bucket_kms_key_arn = var.data_bucket_kms_key_arn
  layout                  = module.storage.layout
  queues                  = module.queues.queues

  runtime       = var.lambda_runtime
  architectures = var.lambda_architectures

  rides_per_message           = var.rides_per_message
  max_station_distance_miles  = var.max_station_distance_miles
  sqs_batch_size              = var.sqs_batch_size
  sqs_batching_window_seconds = var.sqs_batching_window_seconds
  log_retention_days          = var.log_retention_days
  log_level                   = var.log_level
  alarm_topic_enabled         = var.alarm_topic_enabled
  alarm_topic_kms_key_arn     = var.alarm_topic_kms_key_arn
  alarm_emails                = var.alarm_emails
  dlq_max_message_age_seconds = var.dlq_max_message_age_seconds

  ingest_duration_alarm_fraction = var.ingest_duration_alarm_fraction
}

# Weather stage: Glue catalog (rides, GHCN-D Parquet/CSV, reduced weather) and a cost-capped Athena workgroup.
module "athena" {
  source = "./modules/athena"

  name_prefix                    = var.name_prefix
  data_bucket_name               = module.storage.bucket_name
  layout                         = module.storage.layout
  ghcn_source_bucket             = var.ghcn_source_bucket
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
  results_encryption             = var.data_bucket_kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
  results_kms_key_arn            = var.data_bucket_kms_key_arn
  create_named_queries           = var.athena_create_named_queries
  years                          = var.weather_years
}

# Training stage: Linear Learner execution role (+ optional notebook instance).
module "sagemaker" {
  source = "./modules/sagemaker"

  name_prefix           = var.name_prefix
  data_bucket_name      = module.storage.bucket_name
  layout                = module.storage.layout
  bucket_kms_key_arn    = var.data_bucket_kms_key_arn
  enable_notebook       = var.enable_sagemaker_notebook
  ghcn_source_bucket    = var.ghcn_source_bucket
  athena_workgroup_name = module.athena.workgroup_name
  glue_database_name    = module.athena.database_name

  notebook_direct_internet_access = var.sagemaker_notebook_direct_internet_access
  model_package_group_enabled     = var.sagemaker_model_package_group_enabled
}

# Inference: MXNet layer + scoring function behind an API-key REST API (POST /, stage prod).
module "inference_api" {
  source = "./modules/inference_api"

  name_prefix             = var.name_prefix
  data_bucket_name        = module.storage.bucket_name
  layout                  = module.storage.layout
  data_bucket_kms_key_arn = var.data_bucket_kms_key_arn
  function_zip_path       = "${local.lambda_build_dir}/inference.zip"
  layer_zip_path          = "${local.lambda_build_dir}/mxnet-layer.zip"

  runtime           = var.lambda_runtime
  architectures     = var.lambda_architectures
  snapstart_enabled = var.inference_snapstart_enabled

  inference_engine           = var.inference_engine
  memory_mb                  = var.inference_memory_mb
  timeout_seconds            = var.inference_timeout_seconds
  reserved_concurrency       = var.inference_reserved_concurrency
  model_recheck_seconds      = var.inference_model_recheck_seconds
  throttle_rate_limit        = var.inference_throttle_rate_limit
  throttle_burst_limit       = var.inference_throttle_burst_limit
  quota_limit                = var.inference_quota_limit
  quota_period               = var.inference_quota_period
  cors_allowed_origins       = var.inference_cors_allowed_origins
  json_body_validation       = var.inference_json_body_validation
  manage_api_gateway_account = var.manage_api_gateway_account
  log_retention_days         = var.inference_log_retention_days
  log_level                  = var.log_level
  local_endpoint             = var.local_endpoint
  alarm_period_seconds       = var.inference_alarm_period_seconds
  alarm_evaluation_periods   = var.inference_alarm_evaluation_periods

  # Inference alarms notify the same topic as the ETL's (monitoring.tf).
  alarm_topic_arn = module.etl_functions.alarm_topic_arn
}
