# Native `terraform test`, offline. Run from the module folder: terraform test
# Two providers: `mock_provider "aws"` for the runs that apply (computed ARNs flow into alarms and
# outputs) and `aws.offline`, the real provider with fake credentials and no API call, for the plan
# runs that read rendered IAM policies and the dashboard (a mock cannot render them).
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
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::000000000000:role/mocked-lambda"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:000000000000:log-group:mocked"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:000000000000:function:mocked"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:000000000000:wr-test-etl-alarms"
    }
  }
}

provider "aws" {
  alias                       = "offline"
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
}

variables {
  name_prefix      = "wr-test"
  data_bucket_name = "wr-test-data"
  data_bucket_arn  = "arn:aws:s3:::wr-test-data"
  functions = {
    ingest = { zip_path = "tests/fixtures/ingest.zip" }
    enrich = { zip_path = "tests/fixtures/enrich.zip", timeout_seconds = 20 }
    writer = { zip_path = "tests/fixtures/writer.zip", memory_mb = 512 }
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
    raw               = "raw/"
    quarantine        = "quarantine/"
    manifests         = "manifests/"
    processed         = "processed/"
    weather           = "nygroundstationdata/"
    training          = "training/"
    models            = "models/"
    artifacts         = "artifacts/"
    athena_results    = "athena-results/"
    tmp               = "tmp/"
    model_versions    = "models/linear-learner/versions/"
    model_pointer_key = "models/linear-learner/serving.json"
    model_jobs        = "models/linear-learner/jobs/"
  }
}

run "functions_are_wired_as_documented" {
  command = plan

  assert {
    condition     = alltrue([for f in module.function : f.lambda_function.runtime == "python3.13" && f.lambda_function.handler == "handler.lambda_handler"])
    error_message = "every function runs python3.13 with handler.lambda_handler"
  }
  assert {
    condition     = module.function["ingest"].lambda_function.environment[0].variables["INGEST_QUEUE_URL"] == var.queues.ingest.url
    error_message = "ingest must send to the ingest queue"
  }
  assert {
    condition     = module.function["enrich"].lambda_function.environment[0].variables["OUTPUT_QUEUE_URL"] == var.queues.groundstation.url
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
      ingest = { zip_path = "tests/fixtures/ingest.zip" }
      enrich = { zip_path = "tests/fixtures/enrich.zip" }
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
    condition     = alltrue([for f in module.function : f.lambda_function.architectures == tolist(["arm64"]) && f.lambda_function.runtime == "python3.12"])
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

# ---------------------------------------------------------------------------- plan rules, real provider offline
# What each function's code calls (lambda_src/README.md), written out independently of the module.
run "each_function_runs_its_own_zip_with_its_knobs" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition = alltrue([for f in ["ingest", "enrich", "writer"] : (
      module.function[f].lambda_function.function_name == "wr-test-${f}"
      && module.function[f].lambda_function.runtime == "python3.13"
      && module.function[f].lambda_function.architectures == tolist(["x86_64"])
      && module.function[f].lambda_function.handler == "handler.lambda_handler"
      && module.function[f].lambda_function.filename == "tests/fixtures/${f}.zip"
      && module.function[f].lambda_function.source_code_hash == filebase64sha256("tests/fixtures/${f}.zip")
    )])
    error_message = "each function is <prefix>-<name>, python3.13 on x86_64, handler.lambda_handler, deployed from its own zip and hash"
  }
  assert {
    condition     = length(distinct([for f in module.function : f.lambda_function.source_code_hash])) == 3
    error_message = "the three fixture zips differ, so a mix-up of paths would show in source_code_hash"
  }
  assert {
    condition = (
      module.function["ingest"].lambda_function.memory_size == 256 && module.function["ingest"].lambda_function.timeout == 300
      && module.function["enrich"].lambda_function.timeout == 20 && module.function["writer"].lambda_function.memory_size == 512
    )
    error_message = "memory and timeouts follow var.functions (defaults: 256 MB, ingest 300 s)"
  }
  assert {
    condition     = alltrue([for f in module.function : f.lambda_function.reserved_concurrent_executions == -1 && f.lambda_function.tracing_config[0].mode == "PassThrough"])
    error_message = "unreserved and PassThrough tracing by default"
  }
}

run "environment_matches_the_lambda_src_contract" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    rides_per_message = 50
  }

  assert {
    condition = alltrue([for f in ["ingest", "enrich", "writer"] : (
      module.function[f].lambda_function.environment[0].variables["DATA_BUCKET"] == "wr-test-data"
      && module.function[f].lambda_function.environment[0].variables["POWERTOOLS_SERVICE_NAME"] == "wr-test-${f}"
      && module.function[f].lambda_function.environment[0].variables["LOG_LEVEL"] == "INFO"
    )])
    error_message = "every function gets DATA_BUCKET, LOG_LEVEL and POWERTOOLS_SERVICE_NAME <prefix>-<name>"
  }
  assert {
    condition = (
      module.function["ingest"].lambda_function.environment[0].variables["INGEST_QUEUE_URL"] == "https://sqs.us-east-1.amazonaws.com/000000000000/wr-test-ingest"
      && module.function["ingest"].lambda_function.environment[0].variables["RIDES_PER_MESSAGE"] == "50"
      && module.function["ingest"].lambda_function.environment[0].variables["RAW_PREFIX"] == "raw/"
      && module.function["ingest"].lambda_function.environment[0].variables["MANIFEST_PREFIX"] == "manifests/"
      && module.function["ingest"].lambda_function.environment[0].variables["QUARANTINE_PREFIX"] == "quarantine/"
      && module.function["enrich"].lambda_function.environment[0].variables["QUARANTINE_PREFIX"] == "quarantine/"
      && module.function["enrich"].lambda_function.environment[0].variables["OUTPUT_QUEUE_URL"] == "https://sqs.us-east-1.amazonaws.com/000000000000/wr-test-groundstation"
      && module.function["enrich"].lambda_function.environment[0].variables["MAX_STATION_DISTANCE_MILES"] == ""
      && module.function["writer"].lambda_function.environment[0].variables["PROCESSED_PREFIX"] == "processed/"
      && module.function["writer"].lambda_function.environment[0].variables["WRITER_MODE"] == "batched"
    )
    error_message = "the environment each function reads (lambda_src/README.md)"
  }
  assert {
    condition = (
      !contains(keys(module.function["ingest"].lambda_function.environment[0].variables), "OUTPUT_QUEUE_URL")
      && !contains(keys(module.function["writer"].lambda_function.environment[0].variables), "INGEST_QUEUE_URL")
      && !contains(keys(module.function["writer"].lambda_function.environment[0].variables), "QUARANTINE_PREFIX")
    )
    error_message = "a function only learns about the queues it uses; the writer never quarantines"
  }
}

run "only_the_async_ingest_function_has_a_dead_letter_target" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition     = module.function["ingest"].lambda_function.dead_letter_config[0].target_arn == "arn:aws:sqs:us-east-1:000000000000:wr-test-ingest-events-dlq"
    error_message = "S3 invokes ingest asynchronously: failed events go to the ingest-events DLQ"
  }
  assert {
    condition     = length(module.function["enrich"].lambda_function.dead_letter_config) == 0 && length(module.function["writer"].lambda_function.dead_letter_config) == 0
    error_message = "SQS consumers use the queue's redrive policy, not a function DLQ"
  }
}

run "each_role_grants_exactly_what_its_function_uses" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition = toset(flatten([for s in jsondecode(data.aws_iam_policy_document.function["ingest"].json).Statement : [for a in flatten([s.Action]) : [for r in flatten([s.Resource]) : "${s.Effect} ${a} ${r}"]]])) == toset([
      "Allow s3:GetObject arn:aws:s3:::wr-test-data/raw/*",
      "Allow s3:GetObjectVersion arn:aws:s3:::wr-test-data/raw/*",
      "Allow s3:PutObject arn:aws:s3:::wr-test-data/quarantine/*",
      "Allow s3:PutObject arn:aws:s3:::wr-test-data/manifests/*",
      "Allow s3:GetObject arn:aws:s3:::wr-test-data/manifests/*",
      "Allow s3:ListBucket arn:aws:s3:::wr-test-data",
      "Allow s3:DeleteObject arn:aws:s3:::wr-test-data/processed/*",
      "Allow sqs:SendMessage arn:aws:sqs:us-east-1:000000000000:wr-test-ingest",
      "Allow sqs:SendMessage arn:aws:sqs:us-east-1:000000000000:wr-test-ingest-events-dlq",
    ])
    error_message = "ingest reads raw/ (the version its S3 event names), writes quarantine/ and manifests/, reads manifests/ and deletes processed/ objects of superseded versions, sends to the ingest queue and its events DLQ: nothing else"
  }
  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.function["ingest"].json).Statement : s.Condition if s.Sid == "ListManifestsAndProcessed"] == [
      { StringLike = { "s3:prefix" = ["manifests/*", "processed/*"] } }
    ]
    error_message = "ingest lists only below manifests/ and processed/"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(data.aws_iam_policy_document.function["enrich"].json).Statement : [for a in flatten([s.Action]) : [for r in flatten([s.Resource]) : "${s.Effect} ${a} ${r}"]]])) == toset([
      "Allow sqs:ReceiveMessage arn:aws:sqs:us-east-1:000000000000:wr-test-ingest",
      "Allow sqs:DeleteMessage arn:aws:sqs:us-east-1:000000000000:wr-test-ingest",
      "Allow sqs:GetQueueAttributes arn:aws:sqs:us-east-1:000000000000:wr-test-ingest",
      "Allow sqs:SendMessage arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation",
      "Allow s3:PutObject arn:aws:s3:::wr-test-data/quarantine/*",
    ])
    error_message = "enrich consumes the ingest queue, sends to the ground-station queue, writes quarantine/: nothing else"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(data.aws_iam_policy_document.function["writer"].json).Statement : [for a in flatten([s.Action]) : [for r in flatten([s.Resource]) : "${s.Effect} ${a} ${r}"]]])) == toset([
      "Allow sqs:ReceiveMessage arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation",
      "Allow sqs:DeleteMessage arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation",
      "Allow sqs:GetQueueAttributes arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation",
      "Allow s3:PutObject arn:aws:s3:::wr-test-data/processed/*",
    ])
    error_message = "writer consumes the ground-station queue and writes processed/: nothing else"
  }
  assert {
    condition = alltrue(flatten([for f in ["ingest", "enrich", "writer"] : [for s in jsondecode(data.aws_iam_policy_document.function[f].json).Statement : [
      for r in flatten([s.Resource]) : r != "*" && !endswith(r, ":*") && length(regexall("[*]", r)) <= 1 && alltrue([for a in flatten([s.Action]) : !strcontains(a, "*")])
    ]]]))
    error_message = "no wildcard actions, no wildcard or log-group-wide resources, at most one * (a prefix) per resource"
  }
  assert {
    condition     = alltrue([for f in ["ingest", "enrich", "writer"] : jsondecode(module.function[f].role_policies.data_access.policy) == jsondecode(data.aws_iam_policy_document.function[f].json)])
    error_message = "the role's data-access policy is exactly the function's document"
  }
}

run "one_role_and_one_logs_policy_per_function" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    log_retention_days = 14
  }

  assert {
    condition     = toset([for f in module.function : f.role.name]) == toset(["wr-test-ingest-lambda", "wr-test-enrich-lambda", "wr-test-writer-lambda"])
    error_message = "one role per function, <prefix>-<name>-lambda"
  }
  assert {
    condition     = alltrue([for f in module.function : jsondecode(f.role.assume_role_policy).Statement[0].Principal == { Service = "lambda.amazonaws.com" }])
    error_message = "only Lambda may assume the roles"
  }
  assert {
    condition     = alltrue([for k, f in module.function : f.role_policies.own_logs.name == "wr-test-${k}-own-logs" && f.role_policies.data_access.name == "wr-test-${k}-data-access"])
    error_message = "each role has a data-access and an own-logs policy"
  }
  assert {
    condition     = alltrue([for k, f in module.function : f.log_group.name == "/aws/lambda/wr-test-${k}" && f.log_group.retention_in_days == 14])
    error_message = "each function's log group is /aws/lambda/<function> with log_retention_days"
  }
}

run "kms_key_grant_appears_only_with_sse_kms" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    data_bucket_kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/abc"
  }

  assert {
    condition = alltrue([for f in ["ingest", "enrich", "writer"] : [
      for s in jsondecode(data.aws_iam_policy_document.function[f].json).Statement : toset(s.Action) if s.Resource == "arn:aws:kms:us-east-1:000000000000:key/abc"
    ] == [toset(["kms:Decrypt", "kms:GenerateDataKey"])]])
    error_message = "with SSE-KMS each function gets exactly kms:Decrypt and kms:GenerateDataKey on the bucket key"
  }
}

run "sqs_consumers_report_partial_batch_failures" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    sqs_batch_size              = 5
    sqs_batching_window_seconds = 2
  }

  assert {
    condition = { for k, m in aws_lambda_event_source_mapping.sqs : k => m.event_source_arn } == {
      enrich = "arn:aws:sqs:us-east-1:000000000000:wr-test-ingest"
      writer = "arn:aws:sqs:us-east-1:000000000000:wr-test-groundstation"
    }
    error_message = "enrich reads the ingest queue, writer the ground-station queue; ingest has no mapping"
  }
  assert {
    condition     = alltrue([for m in aws_lambda_event_source_mapping.sqs : m.function_response_types == toset(["ReportBatchItemFailures"]) && m.batch_size == 5 && m.maximum_batching_window_in_seconds == 2])
    error_message = "batch size and window follow the variables; only failed messages are retried"
  }
}

run "dashboard_shows_invocations_errors_depth_and_age" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition = length(setsubtract(toset(concat(
      flatten([for f in ["ingest", "enrich", "writer"] : ["AWS/Lambda Invocations FunctionName wr-test-${f}", "AWS/Lambda Errors FunctionName wr-test-${f}"]]),
      flatten([for q in ["wr-test-ingest", "wr-test-groundstation"] : ["AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${q}", "AWS/SQS ApproximateAgeOfOldestMessage QueueName ${q}"]]),
    )), toset(flatten([for w in jsondecode(aws_cloudwatch_dashboard.etl.dashboard_body).widgets : [for m in w.properties.metrics : join(" ", m)]])))) == 0
    error_message = "the dashboard shows invocations and errors per function, depth and age per work queue"
  }
}

run "every_dlq_has_an_alarm_and_no_topic_by_default" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition     = toset([for a in aws_cloudwatch_metric_alarm.dlq_not_empty : a.dimensions.QueueName]) == toset(["wr-test-ingest-dlq", "wr-test-groundstation-dlq", "wr-test-ingest-events-dlq"])
    error_message = "one alarm per dead-letter queue"
  }
  assert {
    condition = alltrue([for a in aws_cloudwatch_metric_alarm.dlq_not_empty : (
      a.metric_name == "ApproximateNumberOfMessagesVisible" && a.comparison_operator == "GreaterThanThreshold"
      && a.threshold == 0 && try(length(a.alarm_actions), 0) == 0
    )])
    error_message = "an alarm fires on the first message in a DLQ and notifies nobody without a topic"
  }
  assert {
    condition     = length(aws_sns_topic.alarms) == 0
    error_message = "no SNS topic unless alarm_topic_enabled"
  }
}

run "alarm_topic_is_optional" {
  command = apply
  variables {
    alarm_topic_enabled = true
  }

  assert {
    condition     = aws_sns_topic.alarms[0].name == "wr-test-etl-alarms" && length(aws_cloudwatch_metric_alarm.dlq_not_empty) == 3
    error_message = "alarm_topic_enabled creates <prefix>-etl-alarms"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.dlq_not_empty : a.alarm_actions == toset([aws_sns_topic.alarms[0].arn]) && a.ok_actions == toset([aws_sns_topic.alarms[0].arn])])
    error_message = "every DLQ alarm notifies the topic"
  }
}
