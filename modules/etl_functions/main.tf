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
      dlq_arn     = var.queues.ingest_events.arn # async (S3) invocations: failed events land here
      description = "Validates raw ride files and sends normalized rides to the ingest queue"
      environment = {
        INGEST_QUEUE_URL  = var.queues.ingest.url
        RIDES_PER_MESSAGE = tostring(var.rides_per_message)
        RAW_PREFIX        = var.layout.raw
        QUARANTINE_PREFIX = var.layout.quarantine
        MANIFEST_PREFIX   = var.layout.manifests
      }
    }
    enrich = {
      dlq_arn     = null # SQS-triggered: the ingest queue's redrive policy is the dead-letter path
      description = "Adds the nearest ground station and the heavy-utilization label to rides"
      environment = {
        OUTPUT_QUEUE_URL  = var.queues.groundstation.url
        QUARANTINE_PREFIX = var.layout.quarantine
        # Lambda environment values are strings: "" = no limit (null).
        MAX_STATION_DISTANCE_MILES = var.max_station_distance_miles == null ? "" : tostring(var.max_station_distance_miles)
      }
    }
    writer = {
      dlq_arn     = null # SQS-triggered: the ground-station queue's redrive policy is the dead-letter path
      description = "Writes enriched rides as CSV objects under processed/ride_date=YYYY-MM-DD/"
      environment = {
        PROCESSED_PREFIX = var.layout.processed
        WRITER_MODE      = var.writer_mode
      }
    }
  }

  # SQS consumers: function => queue ARN it reads.
  sqs_consumers = {
    enrich = var.queues.ingest.arn
    writer = var.queues.groundstation.arn
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
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in (var.functions.<name>.reserved_concurrency): reserving fails on accounts with the default 10-execution quota; SQS consumers can be bounded by sqs_maximum_concurrency.
  #checkov:skip=CKV_AWS_116:Only ingest is invoked asynchronously and it has a dead_letter_config; enrich and writer are SQS-triggered, where the queue's redrive policy is the DLQ.
  function_name    = "${var.name_prefix}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  runtime          = var.runtime
  architectures    = var.architectures
  handler          = local.handler
  filename         = var.functions[each.key].zip_path
  source_code_hash = filebase64sha256(var.functions[each.key].zip_path) # a changed zip redeploys
  memory_size      = var.functions[each.key].memory_mb
  timeout          = var.functions[each.key].timeout_seconds

  reserved_concurrent_executions = coalesce(var.functions[each.key].reserved_concurrency, -1) # -1 = unreserved

  environment {
    variables = merge(
      local.common_environment,
      { POWERTOOLS_SERVICE_NAME = "${var.name_prefix}-${each.key}" },
      each.value.environment,
      var.functions[each.key].environment,
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
