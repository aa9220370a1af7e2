# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
mock_provider "aws" {
  # Defaults fill only what the configuration leaves unset: an empty redrive policy and SSE-SQS off
  # therefore mean "not configured".
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn                     = "arn:aws:sqs:us-east-1:000000000000:mocked"
      redrive_policy          = ""
      sqs_managed_sse_enabled = false
    }
  }
}

variables {
  name_prefix                            = "wr-test"
  ingest_consumer_timeout_seconds        = 30
  groundstation_consumer_timeout_seconds = 20
}

run "redrive_policy_names_the_dlq_and_receive_count" {
  command = apply

  variables {
    max_receive_count = 4
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.work["ingest"].redrive_policy).maxReceiveCount == 4
    error_message = "ingest queue redrive must use max_receive_count"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.work["groundstation"].redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq["groundstation"].arn
    error_message = "ground-station queue must redrive into its own DLQ"
  }
  assert {
    condition     = aws_sqs_queue.work["groundstation"].visibility_timeout_seconds == 120
    error_message = "visibility timeout must be 6 x the consumer timeout"
  }
}

run "multiplier_below_six_is_rejected" {
  command = plan
  variables {
    visibility_timeout_multiplier = 5
  }
  expect_failures = [var.visibility_timeout_multiplier]
}

run "consumer_timeout_above_lambda_maximum_is_rejected" {
  command = plan
  variables {
    ingest_consumer_timeout_seconds = 901
  }
  expect_failures = [var.ingest_consumer_timeout_seconds]
}

run "zero_receive_count_is_rejected" {
  command = plan
  variables {
    max_receive_count = 0
  }
  expect_failures = [var.max_receive_count]
}

run "visibility_over_sqs_maximum_is_rejected" {
  command = plan
  variables {
    ingest_consumer_timeout_seconds = 900
    visibility_timeout_multiplier   = 60
  }
  expect_failures = [aws_sqs_queue.work]
}

run "two_work_queues_each_with_a_dlq_and_an_ingest_events_dlq" {
  command = plan
  variables {
    groundstation_consumer_timeout_seconds = 45
  }

  assert {
    condition = toset(concat([for q in aws_sqs_queue.work : q.name], [for q in aws_sqs_queue.dlq : q.name], [aws_sqs_queue.ingest_events_dlq.name])) == toset([
      "wr-test-ingest", "wr-test-ingest-dlq", "wr-test-groundstation", "wr-test-groundstation-dlq", "wr-test-ingest-events-dlq",
    ])
    error_message = "two work queues, a DLQ each, and the DLQ of ingest's failed S3 events"
  }
  assert {
    condition     = aws_sqs_queue.work["ingest"].visibility_timeout_seconds == 6 * 30 && aws_sqs_queue.work["groundstation"].visibility_timeout_seconds == 6 * 45
    error_message = "each work queue's visibility timeout is 6 x its consumer's timeout"
  }
  assert {
    condition = alltrue(concat(
      [for q in aws_sqs_queue.work : q.message_retention_seconds == 4 * 24 * 3600],
      [for q in aws_sqs_queue.dlq : q.message_retention_seconds == 14 * 24 * 3600],
      [aws_sqs_queue.ingest_events_dlq.message_retention_seconds == 14 * 24 * 3600],
    ))
    error_message = "work queues keep messages 4 days, dead-letter queues 14 (the SQS maximum)"
  }
  assert {
    condition     = alltrue([for q in concat(values(aws_sqs_queue.work), values(aws_sqs_queue.dlq), [aws_sqs_queue.ingest_events_dlq]) : q.sqs_managed_sse_enabled == true && q.kms_master_key_id == null])
    error_message = "every queue is encrypted with SSE-SQS by default"
  }
  assert {
    condition     = alltrue([for q in aws_sqs_queue.dlq : q.redrive_policy == ""]) && aws_sqs_queue.ingest_events_dlq.redrive_policy == ""
    error_message = "a dead-letter queue has no redrive policy of its own"
  }
}

run "a_larger_multiplier_is_honoured" {
  command = plan
  variables {
    visibility_timeout_multiplier = 10
  }

  assert {
    condition     = aws_sqs_queue.work["ingest"].visibility_timeout_seconds == 300
    error_message = "visibility = consumer timeout x visibility_timeout_multiplier"
  }
}

run "kms_key_replaces_sse_sqs" {
  command   = apply
  state_key = "kms" # fresh state: an unset SSE-SQS flag would otherwise keep the earlier run's value
  variables {
    kms_master_key_id = "alias/wr-test"
  }

  assert {
    condition     = alltrue([for q in concat(values(aws_sqs_queue.work), values(aws_sqs_queue.dlq), [aws_sqs_queue.ingest_events_dlq]) : q.kms_master_key_id == "alias/wr-test" && !q.sqs_managed_sse_enabled])
    error_message = "a KMS key replaces SSE-SQS on every queue"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.work["ingest"].redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq["ingest"].arn
    error_message = "the ingest queue redrives into its own DLQ"
  }
}
