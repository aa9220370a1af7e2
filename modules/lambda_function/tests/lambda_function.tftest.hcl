# Native `terraform test`, offline: the real provider with fake credentials and no API call renders
# the IAM documents at plan time; override_resource stands in for the values only AWS knows.
provider "aws" {
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
  name_prefix = "wr-test"
  name        = "fn"
  function = {
    description = "A test function"
    zip_path    = "tests/fixtures/fn.zip"
  }
  data_access_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"ReadRaw\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::wr-test-data/raw/*\"}]}"
  log_retention_days      = 30
  account_id              = "000000000000"
}

run "one_naming_rule" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.this.function_name == "wr-test-fn" && aws_iam_role.this.name == "wr-test-fn-lambda"
      && aws_iam_role_policy.data_access.name == "wr-test-fn-data-access" && aws_iam_role_policy.own_logs.name == "wr-test-fn-own-logs"
      && aws_cloudwatch_log_group.this.name == "/aws/lambda/wr-test-fn"
      && aws_lambda_function.this.environment[0].variables["POWERTOOLS_SERVICE_NAME"] == "wr-test-fn"
    )
    error_message = "function <prefix>-<name>, role -lambda, policies -data-access / -own-logs, log group /aws/lambda/<function>, service name <prefix>-<name>"
  }
  assert {
    condition     = output.function_name == "wr-test-fn" && output.role_name == "wr-test-fn-lambda" && output.log_group_name == "/aws/lambda/wr-test-fn"
    error_message = "the outputs name what was created"
  }
}

run "role_is_for_lambda_only_and_logs_go_to_the_own_group" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }]
    error_message = "only lambda.amazonaws.com may assume the role"
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.own_logs.policy).Statement == [{
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:PutLogEvents", "logs:CreateLogStream"]
      Resource = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/wr-test-fn:*"
    }]
    error_message = "the own-logs policy writes streams and events into the function's own group only (no CreateLogGroup), known at plan time with account_id"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.data_access.policy) == jsondecode(var.data_access_policy_json)
    error_message = "the data-access policy is the caller's document, unchanged"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_cloudwatch_log_group.this.kms_key_id == null
    error_message = "retention follows log_retention_days; CloudWatch's default encryption without a key"
  }
}

run "own_logs_without_account_id_take_the_group_arn" {
  command = plan
  variables {
    account_id = null
  }
  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values = {
      arn = "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/wr-test-fn"
    }
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.own_logs.policy).Statement[0].Resource == "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/wr-test-fn:*"
    error_message = "without account_id the own-logs policy names the created group's ARN"
  }
}

run "defaults" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.this.runtime == "python3.13" && aws_lambda_function.this.architectures == tolist(["x86_64"])
      && aws_lambda_function.this.handler == "handler.lambda_handler" && aws_lambda_function.this.memory_size == 256
      && aws_lambda_function.this.timeout == 30 && aws_lambda_function.this.reserved_concurrent_executions == -1
      && aws_lambda_function.this.tracing_config[0].mode == "PassThrough"
    )
    error_message = "python3.13 on x86_64, handler.lambda_handler, 256 MB, 30 s, unreserved, PassThrough"
  }
  assert {
    condition     = aws_lambda_function.this.filename == "tests/fixtures/fn.zip" && aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/fn.zip")
    error_message = "deployed from the zip, redeployed when its hash changes"
  }
  assert {
    condition = (
      !aws_lambda_function.this.publish && length(aws_lambda_function.this.snap_start) == 0
      && length(aws_lambda_function.this.dead_letter_config) == 0 && length(aws_lambda_function.this.layers) == 0
    )
    error_message = "no published versions, SnapStart, dead-letter target or layers unless asked"
  }
  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_group == "/aws/lambda/wr-test-fn" && aws_lambda_function.this.logging_config[0].log_format == "Text"
    error_message = "the function logs (as text) into the group created here"
  }
}

run "every_knob_reaches_the_function" {
  command = plan
  variables {
    function = {
      description            = "A test function"
      zip_path               = "tests/fixtures/fn.zip"
      handler                = "app.handler"
      runtime                = "python3.12"
      architectures          = ["arm64"]
      memory_mb              = 1024
      timeout_seconds        = 120
      reserved_concurrency   = 5
      environment            = { FOO = "bar", POWERTOOLS_SERVICE_NAME = "custom" }
      layers                 = ["arn:aws:lambda:us-east-1:000000000000:layer:mxnet:1"]
      tracing_mode           = "Active"
      dead_letter_target_arn = "arn:aws:sqs:us-east-1:000000000000:dlq"
      snap_start             = true
    }
    log_kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/abc"
  }

  assert {
    condition = (
      aws_lambda_function.this.handler == "app.handler" && aws_lambda_function.this.runtime == "python3.12"
      && aws_lambda_function.this.architectures == tolist(["arm64"]) && aws_lambda_function.this.memory_size == 1024
      && aws_lambda_function.this.timeout == 120 && aws_lambda_function.this.reserved_concurrent_executions == 5
      && aws_lambda_function.this.tracing_config[0].mode == "Active"
      && aws_lambda_function.this.layers == tolist(["arn:aws:lambda:us-east-1:000000000000:layer:mxnet:1"])
      && aws_lambda_function.this.dead_letter_config[0].target_arn == "arn:aws:sqs:us-east-1:000000000000:dlq"
    )
    error_message = "handler, runtime, architectures, memory, timeout, reserved concurrency, tracing, layers and DLQ follow the inputs"
  }
  assert {
    condition     = aws_lambda_function.this.publish && aws_lambda_function.this.snap_start[0].apply_on == "PublishedVersions"
    error_message = "snap_start publishes versions and snapshots them"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables == tomap({ FOO = "bar", POWERTOOLS_SERVICE_NAME = "custom" })
    error_message = "the caller's environment is merged over POWERTOOLS_SERVICE_NAME"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:us-east-1:000000000000:key/abc"
    error_message = "log_kms_key_arn encrypts the log group"
  }
}

run "bad_names_are_rejected" {
  command = plan
  variables {
    name_prefix = "Wild_Rydes"
    name        = "Ingest-"
    account_id  = "12345"
  }
  expect_failures = [var.name_prefix, var.name, var.account_id]
}

run "unknown_tracing_mode_is_rejected" {
  command = plan
  variables {
    function = {
      description  = "A test function"
      zip_path     = "tests/fixtures/fn.zip"
      tracing_mode = "On"
    }
  }
  expect_failures = [var.function]
}
