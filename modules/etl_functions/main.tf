# The three ETL functions: ingest (S3 raw/*.json -> ingest queue), enrich (ingest queue ->
# ground-station queue) and writer (ground-station queue -> processed/ CSV). Each has its own
# role (iam.tf), log group and, for the SQS consumers, an event source mapping.

data "aws_region" "current" {}

locals {
  # The handler every package uses (lambda_src/README.md).
  handler = "handler.lambda_handler"

  # for_each keys for resources that must not wait for the queues (roles, log groups): a key set
  # that references nothing, so Terraform creates them in parallel with the queues.
  function_keys = toset(["ingest", "enrich", "writer"])

  common_environment = {
    DATA_BUCKET = var.data_bucket_name
    LOG_LEVEL   = var.log_level
  }

  functions = {
    ingest = {
      zip_path    = var.ingest_zip_path
      memory_mb   = var.ingest_memory_mb
      timeout     = var.ingest_timeout_seconds
      dlq_arn     = var.ingest_events_dlq_arn # async (S3) invocations: failed events land here
      description = "Validates raw ride files and sends normalized rides to the ingest queue"
      environment = {
        INGEST_QUEUE_URL  = var.ingest_queue_url
        RIDES_PER_MESSAGE = tostring(var.rides_per_message)
        RAW_PREFIX        = var.prefixes.raw
        QUARANTINE_PREFIX = var.prefixes.quarantine
        MANIFEST_PREFIX   = var.prefixes.manifests
      }
    }
    enrich = {
      zip_path    = var.enrich_zip_path
      memory_mb   = var.enrich_memory_mb
      timeout     = var.enrich_timeout_seconds
      dlq_arn     = null # SQS-triggered: the ingest queue's redrive policy is the dead-letter path
      description = "Adds the nearest ground station and the heavy-utilization label to rides"
      environment = {
        OUTPUT_QUEUE_URL  = var.groundstation_queue_url
        QUARANTINE_PREFIX = var.prefixes.quarantine
      }
    }
    writer = {
      zip_path    = var.writer_zip_path
      memory_mb   = var.writer_memory_mb
      timeout     = var.writer_timeout_seconds
      dlq_arn     = null # SQS-triggered: the ground-station queue's redrive policy is the dead-letter path
      description = "Writes enriched rides as CSV objects under processed/ride_date=YYYY-MM-DD/"
      environment = {
        PROCESSED_PREFIX = var.prefixes.processed
        WRITER_MODE      = var.writer_mode
      }
    }
  }

  # SQS consumers: function => queue ARN it reads.
  sqs_consumers = {
    enrich = var.ingest_queue_arn
    writer = var.groundstation_queue_arn
  }
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.function_keys

  #checkov:skip=CKV_AWS_158:Log lines carry ride metadata, no secrets; CloudWatch Logs encrypts at rest by default and log_kms_key_arn enables a CMK.
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days) sized for a demo pipeline; a year of debug logs is cost without use here.
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "function" {
  for_each = local.functions

  #checkov:skip=CKV_AWS_117:The functions use only S3 and SQS public endpoints; a VPC would add NAT/endpoint cost and nothing to isolate.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the zips are built reproducibly by `make package` and pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173:Environment variables hold only bucket/queue names and tuning knobs, no secrets; Lambda encrypts them at rest with its service key.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in (var.reserved_concurrency): reserving fails on accounts with the default 10-execution quota; SQS consumers can be bounded by sqs_maximum_concurrency.
  #checkov:skip=CKV_AWS_116:Only ingest is invoked asynchronously and it has a dead_letter_config; enrich and writer are SQS-triggered, where the queue's redrive policy is the DLQ.
  function_name    = "${var.name_prefix}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  runtime          = var.runtime
  architectures    = var.architectures
  handler          = local.handler
  filename         = each.value.zip_path
  source_code_hash = filebase64sha256(each.value.zip_path) # a changed zip redeploys
  memory_size      = each.value.memory_mb
  timeout          = each.value.timeout

  reserved_concurrent_executions = coalesce(var.reserved_concurrency[each.key], -1) # -1 = unreserved

  environment {
    variables = merge(
      local.common_environment,
      { POWERTOOLS_SERVICE_NAME = "${var.name_prefix}-${each.key}" },
      each.value.environment,
      var.extra_environment[each.key],
    )
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "dead_letter_config" {
    for_each = each.value.dlq_arn == null ? [] : [each.value.dlq_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  tags = var.tags

  # The log group (with its retention) and the role's permissions must exist before the first
  # invocation, or Lambda creates a never-expiring log group / fails on a missing grant.
  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
    aws_iam_role_policy.logs,
  ]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.sqs_consumers

  event_source_arn                   = each.value
  function_name                      = aws_lambda_function.function[each.key].arn
  batch_size                         = var.sqs_batch_size
  maximum_batching_window_in_seconds = var.sqs_batching_window_seconds
  # Only the failed messages of a batch return to the queue, not the whole batch.
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.sqs_maximum_concurrency == null ? [] : [var.sqs_maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.sqs_batch_size <= 10 || var.sqs_batching_window_seconds >= 1
      error_message = "SQS event source mappings with sqs_batch_size > 10 need sqs_batching_window_seconds >= 1."
    }
  }
}
