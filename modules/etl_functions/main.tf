# The three ETL functions: ingest (S3 raw/*.json -> ingest queue), enrich (ingest queue ->
# ground-station queue) and writer (ground-station queue -> processed/ CSV). Each is one
# modules/lambda_function (its role, log group and policies), with its data-access grants (iam.tf)
# and, for the SQS consumers, an event source mapping.

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
        PROCESSED_PREFIX  = var.layout.processed # supersession cleanup of older versions' objects
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
      description = "Writes enriched rides as CSV objects under processed/ride_month=YYYY-MM/"
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

# Function, role, log group and the own-logs policy in the repository's one Lambda shape
# (modules/lambda_function); the data-access policy document is written here (iam.tf).
module "function" {
  source = "../lambda_function"
  # The static key set: the roles and log groups inside must not wait for the queues.
  for_each = local.function_keys

  name_prefix = var.name_prefix
  name        = each.key
  function = {
    description          = local.functions[each.key].description
    zip_path             = var.functions[each.key].zip_path
    handler              = local.handler
    runtime              = var.runtime
    architectures        = var.architectures
    memory_mb            = var.functions[each.key].memory_mb
    timeout_seconds      = var.functions[each.key].timeout_seconds
    reserved_concurrency = var.functions[each.key].reserved_concurrency
    environment = merge(
      local.common_environment,
      local.functions[each.key].environment,
      var.functions[each.key].environment,
    )
    tracing_mode           = var.tracing_mode
    dead_letter_target_arn = local.functions[each.key].dlq_arn
  }
  data_access_policy_json = data.aws_iam_policy_document.function[each.key].json
  log_retention_days      = var.log_retention_days
  log_kms_key_arn         = var.log_kms_key_arn
  tags                    = var.tags
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.sqs_consumers

  event_source_arn                   = each.value
  function_name                      = module.function[each.key].function_arn
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
