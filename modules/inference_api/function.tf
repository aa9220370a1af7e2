# The inference function, its log group and (with SnapStart) the alias the API invokes.

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "inference" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; the caller gets the error, so an async DLQ never receives anything.
  #checkov:skip=CKV_AWS_117:Needs only S3 (the model); a VPC would add NAT/endpoints and cold-start latency without reducing exposure.
  #checkov:skip=CKV_AWS_173:The environment holds only bucket/key names and tuning knobs, no secrets; Lambda encrypts it at rest with the service key.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in (var.reserved_concurrency): reserving fails on accounts with the default 10-execution quota; the API usage plan throttles requests before they reach the function.
  #checkov:skip=CKV_AWS_272:Zips are built reproducibly by `make package` in CI; AWS Signer is not available on the LocalStack test bed.
  function_name                  = local.function_name
  description                    = "Scores ride heavy-utilization probability from distance, TMIN, TMAX, PRCP (Linear Learner artifact)."
  role                           = aws_iam_role.function.arn
  runtime                        = var.runtime
  handler                        = "handler.lambda_handler"
  architectures                  = var.architectures
  filename                       = var.function_zip_path
  source_code_hash               = filebase64sha256(var.function_zip_path)
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = coalesce(var.reserved_concurrency, -1) # -1 = unreserved
  layers                         = local.use_layer ? [aws_lambda_layer_version.mxnet[0].arn] : []
  # SnapStart restores published versions only: publish one per change and invoke it through the alias.
  publish = var.snapstart_enabled

  dynamic "snap_start" {
    for_each = var.snapstart_enabled ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  environment {
    variables = {
      MODEL_S3_BUCKET         = var.data_bucket_name
      MODEL_POINTER_KEY       = var.layout.model_pointer_key
      MODEL_VERSIONS_PREFIX   = var.layout.model_versions
      INFERENCE_ENGINE        = var.inference_engine
      MODEL_RECHECK_SECONDS   = tostring(var.model_recheck_seconds)
      MAX_BATCH               = tostring(var.max_batch)
      MAX_BODY_BYTES          = tostring(var.max_body_bytes)
      POWERTOOLS_SERVICE_NAME = local.function_name # <name_prefix>-<function>, as the ETL functions
      LOG_LEVEL               = var.log_level
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.function]
}

# With SnapStart the API invokes the alias of the latest published version (snapshots exist only for
# versions); without it, the function itself ($LATEST), as before.
resource "aws_lambda_alias" "live" {
  count = var.snapstart_enabled ? 1 : 0

  name             = "live"
  description      = "The published version API Gateway invokes (SnapStart)."
  function_name    = aws_lambda_function.inference.function_name
  function_version = aws_lambda_function.inference.version
}

locals {
  invoke_arn       = var.snapstart_enabled ? aws_lambda_alias.live[0].invoke_arn : aws_lambda_function.inference.invoke_arn
  invoke_qualifier = var.snapstart_enabled ? aws_lambda_alias.live[0].name : null
}
