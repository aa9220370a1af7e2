# The two hand-off queues of the ETL pipeline, each with a dead-letter queue, plus one queue that
# collects the S3 events the (asynchronously invoked) ingest function failed on.
# The chain is kept short on purpose: a queue is created only after the queue its redrive policy
# names, and each queue takes ~25 s to create on LocalStack.

locals {
  # SSE-SQS unless a KMS key is given (exactly one of the two may be set on a queue).
  sse_managed = var.kms_master_key_id == null

  work_queues = {
    ingest = {
      name               = "${var.name_prefix}-ingest"
      visibility_timeout = var.ingest_consumer_timeout_seconds * var.visibility_timeout_multiplier
    }
    groundstation = {
      name               = "${var.name_prefix}-groundstation"
      visibility_timeout = var.groundstation_consumer_timeout_seconds * var.visibility_timeout_multiplier
    }
  }

  # SQS's upper bound for VisibilityTimeout (12 hours).
  max_visibility_timeout_seconds = 43200

  # With a KMS key: how long SQS reuses a data key before calling KMS again (the SQS default, 5 min).
  kms_data_key_reuse_seconds = local.sse_managed ? null : 300

  # Long polling on the work queues (the SQS maximum): fewer empty receives, lower cost.
  receive_wait_seconds = 20
}

resource "aws_sqs_queue" "dlq" {
  for_each = local.work_queues

  name                              = "${each.value.name}-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled           = local.sse_managed ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_seconds
  tags                              = var.tags
}

resource "aws_sqs_queue" "work" {
  for_each = local.work_queues

  name                              = each.value.name
  visibility_timeout_seconds        = each.value.visibility_timeout
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = local.receive_wait_seconds
  sqs_managed_sse_enabled           = local.sse_managed ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_seconds
  tags                              = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = each.value.visibility_timeout <= local.max_visibility_timeout_seconds
      error_message = "Visibility timeout of ${each.value.name} (consumer timeout x multiplier) exceeds the SQS maximum of 43200 s."
    }
  }
}

# S3 -> ingest is an asynchronous invocation: after Lambda's own retries, the event lands here
# (the ingest function's dead_letter_config) instead of being lost.
resource "aws_sqs_queue" "ingest_events_dlq" {
  name                              = "${var.name_prefix}-ingest-events-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled           = local.sse_managed ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_seconds
  tags                              = var.tags
}
