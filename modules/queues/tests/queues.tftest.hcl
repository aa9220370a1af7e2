# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
mock_provider "aws" {
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:000000000000:mocked"
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
