# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
}

variables {
  name_prefix      = "wr-test"
  data_bucket_name = "wr-test-data"
  data_bucket_arn  = "arn:aws:s3:::wr-test-data"
  functions = {
    ingest = { zip_path = "tests/fixtures/handler.zip" }
    enrich = { zip_path = "tests/fixtures/handler.zip" }
    writer = { zip_path = "tests/fixtures/handler.zip" }
  }
  queues = {
    ingest = {
      arn      = "arn:aws:sqs:us-east-1:000000000000:wr-test-ingest"
      url      = "https://sqs.us-east-1.amazonaws.com/000000000000/wr-test-ingest"
      name     = "wr-test-ingest"
      dlq_arn  = "arn:aws:sqs:us-east-1:000000000000:wr-test-ingest-dlq"
      dlq_name = "wr-test-ingest-dlq"
    }
    groundstation = {
      arn      = "arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation"
      url      = "https://sqs.us-east-1.amazonaws.com/000000000000/wr-test-groundstation"
      name     = "wr-test-groundstation"
      dlq_arn  = "arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation-dlq"
      dlq_name = "wr-test-groundstation-dlq"
    }
    ingest_events = {
      arn  = "arn:aws:sqs:us-east-1:000000000000:wr-test-ingest-events-dlq"
      url  = "https://sqs.us-east-1.amazonaws.com/000000000000/wr-test-ingest-events-dlq"
      name = "wr-test-ingest-events-dlq"
    }
  }
  layout = {
    raw            = "raw/"
    quarantine     = "quarantine/"
    manifests      = "manifests/"
    processed      = "processed/"
    weather        = "nygroundstationdata/"
    training       = "training/"
    models         = "models/"
    artifacts      = "artifacts/"
    athena_results = "athena-results/"
    tmp            = "tmp/"
    model_key      = "models/linear-learner/latest/model.tar.gz"
    metadata_key   = "models/linear-learner/latest/metadata.json"
  }
}

run "functions_are_wired_as_documented" {
  command = plan

  assert {
    condition     = alltrue([for f in aws_lambda_function.function : f.runtime == "python3.13" && f.handler == "handler.lambda_handler"])
    error_message = "every function runs python3.13 with handler.lambda_handler"
  }
  assert {
    condition     = aws_lambda_function.function["ingest"].environment[0].variables["INGEST_QUEUE_URL"] == var.queues.ingest.url
    error_message = "ingest must send to the ingest queue"
  }
  assert {
    condition     = aws_lambda_function.function["enrich"].environment[0].variables["OUTPUT_QUEUE_URL"] == var.queues.groundstation.url
    error_message = "enrich must send to the ground-station queue"
  }
  assert {
    condition     = alltrue([for m in aws_lambda_event_source_mapping.sqs : m.function_response_types == toset(["ReportBatchItemFailures"])])
    error_message = "SQS consumers must report partial batch failures"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.dlq_not_empty) == 3
    error_message = "one alarm per dead-letter queue"
  }
}

run "unsupported_retention_is_rejected" {
  command = plan
  variables {
    log_retention_days = 13
  }
  expect_failures = [var.log_retention_days]
}

run "unknown_writer_mode_is_rejected" {
  command = plan
  variables {
    writer_mode = "fast"
  }
  expect_failures = [var.writer_mode]
}

run "non_zip_package_is_rejected" {
  command = plan
  variables {
    functions = {
      ingest = { zip_path = "tests/fixtures/handler.zip" }
      enrich = { zip_path = "tests/fixtures/handler.zip" }
      writer = { zip_path = "tests/fixtures/handler.py" }
    }
  }
  expect_failures = [var.functions]
}

run "maximum_concurrency_of_one_is_rejected" {
  command = plan
  variables {
    sqs_maximum_concurrency = 1
  }
  expect_failures = [var.sqs_maximum_concurrency]
}

run "big_batches_without_a_window_are_rejected" {
  command = plan
  variables {
    sqs_batch_size              = 100
    sqs_batching_window_seconds = 0
  }
  expect_failures = [aws_lambda_event_source_mapping.sqs]
}

run "arm64_reaches_every_function" {
  command = plan
  variables {
    architectures = ["arm64"]
    runtime       = "python3.12"
  }

  assert {
    condition     = alltrue([for f in aws_lambda_function.function : f.architectures == tolist(["arm64"]) && f.runtime == "python3.12"])
    error_message = "runtime and architectures apply to all three functions"
  }
}

run "unsupported_runtime_is_rejected" {
  command = plan
  variables {
    runtime       = "python3.11"
    architectures = ["sparc"]
  }
  expect_failures = [var.runtime, var.architectures]
}
