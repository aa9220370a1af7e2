# The inference function in the repository's one Lambda shape (modules/lambda_function: function, role,
# log group, data-access and own-logs policies) and, with SnapStart, the alias the API invokes.

module "function" {
  source = "../lambda_function"

  name_prefix = var.name_prefix
  name        = local.function_short_name
  function = {
    description          = "Scores ride heavy-utilization probability from distance, TMIN, TMAX, PRCP (Linear Learner artifact)."
    zip_path             = var.function_zip_path
    runtime              = var.runtime
    architectures        = var.architectures
    memory_mb            = var.memory_mb
    timeout_seconds      = var.timeout_seconds
    reserved_concurrency = var.reserved_concurrency
    layers               = local.use_layer ? [aws_lambda_layer_version.mxnet[0].arn] : []
    # Invoked synchronously by API Gateway only: the caller gets the error, so no dead-letter target.
    tracing_mode = "Active"
    snap_start   = var.snapstart_enabled
    environment = merge({
      MODEL_S3_BUCKET       = var.data_bucket_name
      MODEL_POINTER_KEY     = var.layout.model_pointer_key
      MODEL_VERSIONS_PREFIX = var.layout.model_versions
      INFERENCE_ENGINE      = var.inference_engine
      MODEL_RECHECK_SECONDS = tostring(var.model_recheck_seconds)
      MAX_BATCH             = tostring(var.max_batch)
      MAX_BODY_BYTES        = tostring(var.max_body_bytes)
      LOG_LEVEL             = var.log_level
    }, local.cors_function_environment) # cors.tf
  }
  data_access_policy_json = data.aws_iam_policy_document.function.json
  log_retention_days      = var.log_retention_days
  log_kms_key_arn         = var.log_kms_key_arn
  account_id              = var.account_id
  tags                    = var.tags
}

# With SnapStart the API invokes the alias of the latest published version (snapshots exist only for
# versions); without it, the function itself ($LATEST), as before.
resource "aws_lambda_alias" "live" {
  count = var.snapstart_enabled ? 1 : 0

  name             = "live"
  description      = "The published version API Gateway invokes (SnapStart)."
  function_name    = module.function.function_name
  function_version = module.function.version
}

locals {
  invoke_arn       = var.snapstart_enabled ? aws_lambda_alias.live[0].invoke_arn : module.function.invoke_arn
  invoke_qualifier = var.snapstart_enabled ? aws_lambda_alias.live[0].name : null
}
