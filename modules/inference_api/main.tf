# Inference API: the MXNet layer (staged in S3), the scoring function, and a REST API (POST /) guarded by an
# API key with a throttled, quota'd usage plan and access logging.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  function_name = "${var.name_prefix}-inference"
  stage_name    = "prod"
  use_layer     = var.inference_engine == "mxnet"
  partition     = data.aws_partition.current.partition
  bucket_arn    = "arn:${local.partition}:s3:::${var.data_bucket_name}"
  # Built from the account id when given so the policy is fully known at plan time (see var.account_id).
  function_log_group_arn = (var.account_id == null ? aws_cloudwatch_log_group.function.arn :
  "arn:${local.partition}:logs:${data.aws_region.current.name}:${var.account_id}:log-group:${aws_cloudwatch_log_group.function.name}")

  # try(): a missing layer_zip_path is reported by the precondition below, not as a function error.
  layer_md5    = try(filemd5(var.layer_zip_path), "")
  layer_sha256 = try(filebase64sha256(var.layer_zip_path), "")

  # Workshop payload, used in the curl example output.
  example_payload = jsonencode({ distance = 30, TMAX = 333, TMIN = 300, PRCP = 100 })
}

# ------------------------------------------------------------------------------------------ layer
resource "aws_s3_object" "layer" {
  count = local.use_layer ? 1 : 0

  bucket = var.data_bucket_name
  # Content-addressed key: a rebuilt layer is a new object and a new layer version, the old one stays valid.
  key                    = "${var.artifacts_prefix}mxnet-layer-${local.layer_md5}.zip"
  source                 = var.layer_zip_path
  source_hash            = local.layer_md5
  server_side_encryption = var.data_bucket_kms_key_arn == null ? "AES256" : "aws:kms"
  kms_key_id             = var.data_bucket_kms_key_arn
  tags                   = var.tags

  lifecycle {
    precondition {
      condition     = local.layer_md5 != ""
      error_message = "layer_zip_path must name an existing zip when inference_engine is mxnet (run `make package`)."
    }
  }
}

resource "aws_lambda_layer_version" "mxnet" {
  count = local.use_layer ? 1 : 0

  layer_name               = "${var.name_prefix}-mxnet"
  description              = "MXNet 1.9.1 + numpy 2.4.6 for ${var.runtime} (trimmed for inference)."
  s3_bucket                = aws_s3_object.layer[0].bucket
  s3_key                   = aws_s3_object.layer[0].key
  compatible_runtimes      = [var.runtime]
  compatible_architectures = var.architectures
  source_code_hash         = local.layer_sha256
}

# ------------------------------------------------------------------------------------------ function
resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${local.function_name}-role"
  description        = "Inference function: reads the published model, writes its own logs and traces."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadPublishedModel"
    actions   = ["s3:GetObject"] # also covers HeadObject, used for the ETag re-check
    resources = ["${local.bucket_arn}/${var.model_prefix}*"]
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.function_log_group_arn}:*"]
  }

  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray trace APIs have no resource type
  }

  dynamic "statement" {
    for_each = var.data_bucket_kms_key_arn == null ? [] : [var.data_bucket_kms_key_arn]
    content {
      sid       = "DecryptModelObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "inference"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
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
      MODEL_S3_KEY            = var.model_s3_key
      METADATA_S3_KEY         = var.metadata_s3_key
      INFERENCE_ENGINE        = var.inference_engine
      MODEL_RECHECK_SECONDS   = tostring(var.model_recheck_seconds)
      MAX_BATCH               = tostring(var.max_batch)
      MAX_BODY_BYTES          = tostring(var.max_body_bytes)
      POWERTOOLS_SERVICE_NAME = "inference"
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

# ------------------------------------------------------------------------------------------ REST API
resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-inference"
  description = "POST / with the workshop JSON or SageMaker-style instances; API key required."

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_method" "post_root" {
  #checkov:skip=CKV2_AWS_53:The function validates every field and answers clear 400 JSON; an API Gateway model would duplicate (and drift from) that schema.
  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = aws_api_gateway_rest_api.this.root_resource_id
  http_method      = "POST"
  authorization    = "NONE"
  api_key_required = true # callers are identified, throttled and metered by API key (usage plan)
}

resource "aws_api_gateway_integration" "post_root" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_rest_api.this.root_resource_id
  http_method             = aws_api_gateway_method.post_root.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = local.invoke_arn
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowApiGatewayPostRoot"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.inference.function_name
  qualifier     = local.invoke_qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/POST/"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  # Redeploy whenever the method or integration changes.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_method.post_root.id,
      aws_api_gateway_method.post_root.api_key_required,
      aws_api_gateway_integration.post_root.id,
      aws_api_gateway_integration.post_root.uri,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name_prefix}-inference/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# Access logging needs the account-wide API Gateway CloudWatch role (one per account and region).
data "aws_iam_policy_document" "apigw_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigw_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name               = "${var.name_prefix}-apigw-cloudwatch"
  description        = "Lets API Gateway write access and execution logs to CloudWatch Logs."
  assume_role_policy = data.aws_iam_policy_document.apigw_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "apigw_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.apigw_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn
  depends_on          = [aws_iam_role_policy_attachment.apigw_cloudwatch]
}

resource "aws_api_gateway_stage" "prod" {
  #checkov:skip=CKV_AWS_120:Responses depend on the latest published model (re-checked by ETag); caching would serve stale scores.
  #checkov:skip=CKV2_AWS_29:No WAF on this small, API-key-guarded, throttled endpoint; add aws_wafv2_web_acl_association when exposed publicly at scale.
  #checkov:skip=CKV2_AWS_51:Clients authenticate with API keys; mutual TLS client certificates are out of scope for this API.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = local.stage_name
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      apiKeyId       = "$context.identity.apiKeyId"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      path           = "$context.path"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latencyMs      = "$context.responseLatency"
      integrationErr = "$context.integrationErrorMessage"
    })
  }

  tags       = var.tags
  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose (see the stage): scores must follow the published model.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.prod.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false # request bodies stay out of the logs
    caching_enabled        = false
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }
}

locals {
  aws_invoke_url = "${aws_api_gateway_stage.prod.invoke_url}/"
  # LocalStack serves every API under /_aws/execute-api/<id>/<stage>/ on its gateway port: no DNS needed.
  local_invoke_url     = var.local_endpoint == null ? null : "${var.local_endpoint}/_aws/execute-api/${aws_api_gateway_rest_api.this.id}/${local.stage_name}/"
  effective_invoke_url = coalesce(local.local_invoke_url, local.aws_invoke_url)
}

resource "aws_api_gateway_api_key" "client" {
  name        = "${var.name_prefix}-inference-client"
  description = "Key for callers of the inference API (send as x-api-key)."
  enabled     = true
  tags        = var.tags
}

resource "aws_api_gateway_usage_plan" "this" {
  name        = "${var.name_prefix}-inference"
  description = "Throttling and quota per API key."

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.prod.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  quota_settings {
    limit  = var.quota_limit
    period = var.quota_period
  }

  tags = var.tags
}

resource "aws_api_gateway_usage_plan_key" "client" {
  key_id        = aws_api_gateway_api_key.client.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this.id
}
