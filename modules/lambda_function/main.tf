# One Lambda function in the repository's single shape: the function, its execution role (assumable by
# Lambda only), its log group and two inline policies, `-data-access` (written by the caller: what the
# code calls) and `-own-logs` (writes into its own log group only). Used by modules/etl_functions and
# modules/inference_api, so every function follows the same naming rule.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  function_name = "${var.name_prefix}-${var.name}"
  log_group     = "/aws/lambda/${local.function_name}"
  # Built from the account id when given so the own-logs policy is fully known at plan time.
  log_group_arn = (var.account_id == null ? aws_cloudwatch_log_group.this.arn :
  "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${var.account_id}:log-group:${local.log_group}")
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Log lines carry ride metadata and scores, no secrets; CloudWatch Logs encrypts at rest by default and log_kms_key_arn enables a CMK.
  #checkov:skip=CKV_AWS_338:Retention is the caller's variable (30 days for the ETL functions, 365 for inference); a year of debug logs is cost without use for a demo pipeline.
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${local.function_name}-lambda"
  description        = "Execution role of the ${local.function_name} function (least privilege)"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "data_access" {
  name   = "${local.function_name}-data-access"
  role   = aws_iam_role.this.id
  policy = var.data_access_policy_json
}

# Logs only into the function's own group (the group exists, so no CreateLogGroup). A separate policy
# because without account_id the group's ARN is known only after apply, while the data-access policy
# is fully known at plan time (and checked there by the tests).
data "aws_iam_policy_document" "own_logs" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }
}

resource "aws_iam_role_policy" "own_logs" {
  name   = "${local.function_name}-own-logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.own_logs.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call only public AWS endpoints (S3, SQS); a VPC would add NAT/endpoint cost and cold-start latency without reducing exposure.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile (not available on the LocalStack test bed); the zips are built reproducibly by `make package` and pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173:Environment variables hold only bucket/queue/key names and tuning knobs, no secrets; Lambda encrypts them at rest with its service key.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in (function.reserved_concurrency): reserving fails on accounts with the default 10-execution quota; SQS mappings and the API usage plan bound the load instead.
  #checkov:skip=CKV_AWS_116:Only asynchronously invoked functions (ingest, from S3) can use a DLQ and they pass dead_letter_target_arn; SQS-triggered ones use the queue's redrive policy, API-invoked ones return the error to the caller.
  function_name                  = local.function_name
  description                    = var.function.description
  role                           = aws_iam_role.this.arn
  runtime                        = var.function.runtime
  architectures                  = var.function.architectures
  handler                        = var.function.handler
  filename                       = var.function.zip_path
  source_code_hash               = filebase64sha256(var.function.zip_path) # a changed zip redeploys
  memory_size                    = var.function.memory_mb
  timeout                        = var.function.timeout_seconds
  reserved_concurrent_executions = coalesce(var.function.reserved_concurrency, -1) # -1 = unreserved
  layers                         = var.function.layers
  # SnapStart restores published versions only: publish one per change (the caller invokes it through an alias).
  publish = var.function.snap_start

  dynamic "snap_start" {
    for_each = var.function.snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  environment {
    variables = merge({ POWERTOOLS_SERVICE_NAME = local.function_name }, var.function.environment)
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tracing_config {
    mode = var.function.tracing_mode
  }

  dynamic "dead_letter_config" {
    for_each = var.function.dead_letter_target_arn == null ? [] : [var.function.dead_letter_target_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  tags = local.tags

  # The log group (with its retention) and the role's permissions must exist before the first
  # invocation, or Lambda creates a never-expiring log group / fails on a missing grant.
  depends_on = [
    aws_iam_role_policy.data_access,
    aws_iam_role_policy.own_logs,
  ]
}

locals {
  # null rather than {} when there are none: the provider reads an untagged resource back as null (only the
  # provider's default_tags are on it), and {} would then be a change on every plan.
  tags = length(var.tags) > 0 ? var.tags : null
}
