# Native `terraform test`, offline. Run from the module folder: terraform test
# Two providers: `mock_provider "aws"` for the runs that apply (computed ids flow into the outputs,
# which a plan cannot show) and `aws.offline`, the real provider with fake credentials and no API
# call, for the plan runs that read the rendered IAM policies.
mock_provider "aws" {
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
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_resource "aws_api_gateway_rest_api" {
    defaults = {
      id               = "abc123"
      root_resource_id = "root0"
      execution_arn    = "arn:aws:execute-api:us-east-1:000000000000:abc123"
    }
  }
  mock_resource "aws_api_gateway_stage" {
    defaults = {
      invoke_url = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    }
  }
  mock_resource "aws_lambda_layer_version" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:000000000000:layer:wildrydes-mxnet:1"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:us-east-1:000000000000:function:wildrydes-inference"
      invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:wildrydes-inference/invocations"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::000000000000:role/wildrydes-inference-role"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:000000000000:log-group:mocked"
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
  data_bucket_name  = "wr-test-data"
  function_zip_path = "tests/fixtures/inference.zip"
  layer_zip_path    = "tests/fixtures/layer.zip"
}

run "aws_urls" {
  command = apply

  assert {
    condition     = output.invoke_url == "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"
    error_message = "invoke_url is the stage URL with the trailing slash"
  }
  assert {
    condition     = output.local_invoke_url == null && output.effective_invoke_url == output.invoke_url
    error_message = "without local_endpoint the AWS URL is the one to call"
  }
  assert {
    condition     = output.model_s3_uri == "s3://wr-test-data/models/linear-learner/serving.json"
    error_message = "model_s3_uri names the serving pointer"
  }
  assert {
    condition     = length(module.function.lambda_function.layers) == 1 && module.function.lambda_function.layers[0] == aws_lambda_layer_version.mxnet[0].arn
    error_message = "the mxnet engine runs with the layer"
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.source_arn == "arn:aws:execute-api:us-east-1:000000000000:abc123/*/POST/"
    error_message = "only POST / of this API may invoke the function"
  }
}

run "localstack_urls_need_no_dns" {
  command = apply
  variables {
    local_endpoint = "http://localhost:4574"
  }

  assert {
    condition     = output.local_invoke_url == "http://localhost:4574/_aws/execute-api/abc123/prod/"
    error_message = "LocalStack URL format"
  }
  assert {
    condition     = output.effective_invoke_url == output.local_invoke_url
    error_message = "with local_endpoint the local URL is the one to call"
  }
  assert {
    condition     = strcontains(output.curl_example, "'http://localhost:4574/_aws/execute-api/abc123/prod/'") && strcontains(output.curl_example, "x-api-key: $(terraform output -raw inference_api_key)")
    error_message = "the curl example targets the local URL and reads the key from terraform output"
  }
}

run "tiny_memory_is_rejected" {
  command = plan
  variables {
    memory_mb = 128
  }
  expect_failures = [var.memory_mb]
}

run "unknown_engine_is_rejected" {
  command = plan
  variables {
    inference_engine = "onnx"
  }
  expect_failures = [var.inference_engine]
}

run "mxnet_without_a_layer_zip_is_rejected" {
  command = plan
  variables {
    layer_zip_path = "tests/fixtures/missing.zip"
  }
  expect_failures = [aws_s3_object.layer]
}

run "python313_x86_64_by_default" {
  command = plan

  assert {
    condition     = module.function.lambda_function.runtime == "python3.13" && module.function.lambda_function.architectures == tolist(["x86_64"])
    error_message = "the function runs python3.13 on x86_64 by default"
  }
  assert {
    condition     = aws_lambda_layer_version.mxnet[0].compatible_runtimes == toset(["python3.13"]) && aws_lambda_layer_version.mxnet[0].compatible_architectures == toset(["x86_64"])
    error_message = "the layer is compatible with exactly the deployed runtime and architecture"
  }
  assert {
    condition     = length(aws_lambda_alias.live) == 0 && module.function.lambda_function.publish == false
    error_message = "SnapStart (and its alias) is off by default"
  }
  assert {
    condition     = module.function.role.name == "${var.name_prefix}-inference-lambda" && module.function.role_policies.data_access.name == "${var.name_prefix}-inference-data-access" && module.function.role_policies.own_logs.name == "${var.name_prefix}-inference-own-logs" && module.function.lambda_function.environment[0].variables["POWERTOOLS_SERVICE_NAME"] == "${var.name_prefix}-inference"
    error_message = "role, policy and service name follow the ETL functions' <name_prefix>-<function> convention"
  }
}

run "arm64_follows_into_function_and_layer" {
  command = plan
  variables {
    architectures = ["arm64"]
  }

  assert {
    condition     = module.function.lambda_function.architectures == tolist(["arm64"]) && aws_lambda_layer_version.mxnet[0].compatible_architectures == toset(["arm64"])
    error_message = "arm64 reaches the function and the layer"
  }
}

run "unsupported_runtime_and_architecture_are_rejected" {
  command = plan
  variables {
    runtime       = "python3.11"
    architectures = ["x86_64", "arm64"]
  }
  expect_failures = [var.runtime, var.architectures]
}

run "snapstart_publishes_and_the_api_invokes_the_alias" {
  command = apply
  variables {
    snapstart_enabled = true
  }

  assert {
    condition     = module.function.lambda_function.publish && module.function.lambda_function.snap_start[0].apply_on == "PublishedVersions"
    error_message = "SnapStart applies to published versions"
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.qualifier == "live" && aws_api_gateway_integration.post_root.uri == aws_lambda_alias.live[0].invoke_arn
    error_message = "the API invokes (and may invoke only) the live alias"
  }
}

# ---------------------------------------------------------------------------- plan rules, real provider offline
run "function_configuration" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    data_bucket_name = "wildrydes-data-test"
  }

  assert {
    condition = (
      module.function.lambda_function.function_name == "wildrydes-inference" && module.function.lambda_function.handler == "handler.lambda_handler"
      && module.function.lambda_function.memory_size == 512 && module.function.lambda_function.tracing_config[0].mode == "Active"
      && module.function.lambda_function.source_code_hash == filebase64sha256("tests/fixtures/inference.zip")
    )
    error_message = "handler.lambda_handler, 512 MB (MXNet alone needs ~140 MB RSS), X-Ray Active, deployed from the zip's hash"
  }
  assert {
    condition = keys(module.function.lambda_function.environment[0].variables) == sort([
      "MODEL_S3_BUCKET", "MODEL_POINTER_KEY", "MODEL_VERSIONS_PREFIX", "INFERENCE_ENGINE", "MODEL_RECHECK_SECONDS", "MAX_BATCH",
      "MAX_BODY_BYTES", "POWERTOOLS_SERVICE_NAME", "LOG_LEVEL",
    ])
    error_message = "exactly the environment lambda_src/README.md documents"
  }
  assert {
    condition = (
      module.function.lambda_function.environment[0].variables["MODEL_S3_BUCKET"] == "wildrydes-data-test"
      && module.function.lambda_function.environment[0].variables["MODEL_POINTER_KEY"] == "models/linear-learner/serving.json"
      && module.function.lambda_function.environment[0].variables["MODEL_VERSIONS_PREFIX"] == "models/linear-learner/versions/"
      && module.function.lambda_function.environment[0].variables["INFERENCE_ENGINE"] == "mxnet"
    )
    error_message = "the function reads the layout's serving pointer and model versions, with the mxnet engine by default"
  }
  assert {
    condition     = module.function.lambda_function.reserved_concurrent_executions == -1
    error_message = "unreserved by default: reserving fails on accounts with the default 10-execution quota"
  }
}

run "layer_is_staged_in_s3_under_artifacts" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    data_bucket_name = "wildrydes-data-test"
  }

  assert {
    condition     = aws_s3_object.layer[0].bucket == "wildrydes-data-test" && startswith(aws_s3_object.layer[0].key, "artifacts/mxnet-layer-")
    error_message = "the layer zip is staged in the data bucket under artifacts/"
  }
  assert {
    condition = (
      aws_lambda_layer_version.mxnet[0].source_code_hash == filebase64sha256("tests/fixtures/layer.zip")
      && aws_lambda_layer_version.mxnet[0].filename == null && aws_lambda_layer_version.mxnet[0].s3_key == aws_s3_object.layer[0].key
    )
    error_message = "the layer is published from S3 (not a direct upload) and follows the zip's hash"
  }
}

run "role_reads_models_only_and_writes_its_own_logs" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    data_bucket_name = "wildrydes-data-test"
    account_id       = "000000000000"
  }

  assert {
    condition     = [for s in jsondecode(module.function.role_policies.data_access.policy).Statement : s if s.Sid == "ReadPublishedModel"] == [{ Sid = "ReadPublishedModel", Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::wildrydes-data-test/models/*" }]
    error_message = "the function reads the models/ prefix only (GetObject also covers the ETag HeadObject)"
  }
  assert {
    condition     = alltrue([for a in flatten([for s in jsondecode(module.function.role_policies.data_access.policy).Statement : flatten([s.Action])]) : !strcontains(a, "*") && (!startswith(a, "s3:") || a == "s3:GetObject")])
    error_message = "no wildcard actions and no S3 action but GetObject"
  }
  assert {
    condition     = jsondecode(module.function.role_policies.own_logs.policy).Statement[0].Resource == "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/wildrydes-inference:*"
    error_message = "logs go to the function's own group only (ARN known at plan time with account_id)"
  }
}

run "stage_usage_plan_and_logs" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition     = aws_api_gateway_stage.prod.stage_name == "prod" && length(aws_api_gateway_stage.prod.access_log_settings[0].format) > 0
    error_message = "stage prod with an access-log format"
  }
  assert {
    condition = (
      aws_api_gateway_usage_plan.this.throttle_settings[0].rate_limit == 20 && aws_api_gateway_usage_plan.this.throttle_settings[0].burst_limit == 40
      && aws_api_gateway_usage_plan.this.quota_settings[0].limit == 100000 && aws_api_gateway_usage_plan.this.quota_settings[0].period == "DAY"
    )
    error_message = "default throttle 20 rps / burst 40 and quota 100000 a day"
  }
  assert {
    condition     = module.function.log_group.retention_in_days == 365 && aws_cloudwatch_log_group.access.retention_in_days == 365
    error_message = "function and access log groups keep 365 days by default"
  }
  assert {
    condition     = aws_api_gateway_method.post_root.http_method == "POST" && aws_api_gateway_method.post_root.api_key_required
    error_message = "POST / requires an API key"
  }
  assert {
    condition     = aws_api_gateway_integration.post_root.type == "AWS_PROXY" && aws_api_gateway_integration.post_root.integration_http_method == "POST"
    error_message = "POST / proxies to Lambda"
  }
}

run "post_is_on_the_root_resource" {
  command = apply

  assert {
    condition     = aws_api_gateway_method.post_root.resource_id == "root0" && aws_api_gateway_integration.post_root.resource_id == "root0"
    error_message = "the API serves POST / on the root resource (no sub-resources)"
  }
}

run "numpy_engine_needs_no_layer_and_variables_flow_through" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    inference_engine     = "numpy"
    memory_mb            = 256
    throttle_rate_limit  = 5
    throttle_burst_limit = 10
    quota_limit          = 1000
    quota_period         = "WEEK"
    log_retention_days   = 30
    local_endpoint       = "http://localhost:4574"
    reserved_concurrency = 5
  }

  assert {
    condition     = length(aws_lambda_layer_version.mxnet) == 0 && length(aws_s3_object.layer) == 0 && length(module.function.lambda_function.layers) == 0
    error_message = "the numpy engine needs no layer"
  }
  assert {
    condition = (
      module.function.lambda_function.memory_size == 256 && module.function.lambda_function.environment[0].variables["INFERENCE_ENGINE"] == "numpy"
      && module.function.lambda_function.reserved_concurrent_executions == 5 && module.function.log_group.retention_in_days == 30
    )
    error_message = "memory, engine, reserved concurrency and retention follow the variables"
  }
  assert {
    condition = (
      aws_api_gateway_usage_plan.this.throttle_settings[0].rate_limit == 5 && aws_api_gateway_usage_plan.this.throttle_settings[0].burst_limit == 10
      && aws_api_gateway_usage_plan.this.quota_settings[0].limit == 1000 && aws_api_gateway_usage_plan.this.quota_settings[0].period == "WEEK"
    )
    error_message = "throttle and quota follow the variables"
  }
}

run "hourly_quota_is_rejected" {
  command = plan
  variables {
    quota_period = "HOUR"
  }
  expect_failures = [var.quota_period]
}

run "unsupported_retention_is_rejected" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "local_endpoint_with_a_path_is_rejected" {
  command = plan
  variables {
    local_endpoint = "http://localhost:4566/path"
  }
  expect_failures = [var.local_endpoint]
}

run "zero_reserved_concurrency_is_rejected" {
  command = plan
  variables {
    reserved_concurrency = 0
  }
  expect_failures = [var.reserved_concurrency]
}

# ----------------------------------------------------------------------------- the API contract at the gateway
# JSON error responses, request validation from openapi.yaml, opt-in CORS (plan-level: every value asserted is
# known at plan time).
run "gateway_errors_are_json_in_the_functions_shape" {
  command = plan

  assert {
    condition = toset(keys(aws_api_gateway_gateway_response.json)) == toset([
      "INVALID_API_KEY", "MISSING_AUTHENTICATION_TOKEN", "ACCESS_DENIED", "REQUEST_TOO_LARGE", "BAD_REQUEST_BODY",
      "THROTTLED", "QUOTA_EXCEEDED", "DEFAULT_4XX", "DEFAULT_5XX",
    ])
    error_message = "missing key, unknown path, 413, validation, 429 and both defaults all get a JSON gateway response"
  }

  assert {
    condition = alltrue([
      for type, response in aws_api_gateway_gateway_response.json :
      length(response.response_templates) == 1 &&
      startswith(response.response_templates["application/json"], "{\"error\": \"") &&
      strcontains(response.response_templates["application/json"], "\"message\": ")
    ])
    error_message = "every gateway response is an application/json {\"error\", \"message\"} body"
  }

  assert {
    condition = alltrue([
      for type, response in aws_api_gateway_gateway_response.json :
      can(jsondecode(replace(response.response_templates["application/json"], "$context.error.messageString", "\"m\"")))
    ])
    error_message = "every template is valid JSON once API Gateway fills in $context.error.messageString (a quoted string)"
  }

  assert {
    condition = jsondecode(aws_api_gateway_gateway_response.json["INVALID_API_KEY"].response_templates["application/json"]) == {
      error = "forbidden", message = "send a valid API key in the x-api-key header"
    }
    error_message = "a missing or wrong key is 403 forbidden with a message that says what to send"
  }

  assert {
    condition = (aws_api_gateway_gateway_response.json["INVALID_API_KEY"].status_code == "403" &&
      aws_api_gateway_gateway_response.json["MISSING_AUTHENTICATION_TOKEN"].status_code == "404" &&
      aws_api_gateway_gateway_response.json["REQUEST_TOO_LARGE"].status_code == "413" &&
      aws_api_gateway_gateway_response.json["BAD_REQUEST_BODY"].status_code == "400" &&
    aws_api_gateway_gateway_response.json["THROTTLED"].status_code == "429")
    error_message = "status codes: 403 key, 404 unknown method/path, 413, 400 invalid body, 429 throttled"
  }

  assert {
    condition = (aws_api_gateway_gateway_response.json["THROTTLED"].response_parameters["gatewayresponse.header.Retry-After"] == "'1'" &&
      can(aws_api_gateway_gateway_response.json["QUOTA_EXCEEDED"].response_parameters["gatewayresponse.header.Retry-After"]) &&
    can(aws_api_gateway_gateway_response.json["DEFAULT_5XX"].response_parameters["gatewayresponse.header.Retry-After"]))
    error_message = "429 (throttled, quota) and the 5xx default say when to retry"
  }
}

run "json_bodies_are_validated_by_the_model_generated_from_openapi" {
  command = plan

  assert {
    condition     = aws_api_gateway_request_validator.body.validate_request_body && !aws_api_gateway_request_validator.body.validate_request_parameters
    error_message = "the validator checks bodies"
  }

  assert {
    condition     = length(aws_api_gateway_method.post_root.request_models) == 1 && aws_api_gateway_method.post_root.request_models["application/json"] == "JsonRequest"
    error_message = "POST / validates application/json bodies against the JsonRequest model (CSV and JSON Lines go to the function)"
  }

  assert {
    condition = (aws_api_gateway_model.json_request.content_type == "application/json" &&
      jsondecode(aws_api_gateway_model.json_request.schema)["$schema"] == "http://json-schema.org/draft-04/schema#" &&
    jsondecode(aws_api_gateway_model.json_request.schema)["type"] == "object")
    error_message = "the model is the draft-4 JSON object envelope generated from openapi.yaml"
  }
}

run "cors_is_off_by_default" {
  command = plan

  assert {
    condition     = length(aws_api_gateway_method.options_root) == 0 && length(aws_api_gateway_integration.options_root) == 0
    error_message = "no OPTIONS method unless cors_allowed_origins is set"
  }

  assert {
    condition     = !contains(keys(module.function.lambda_function.environment[0].variables), "CORS_ALLOWED_ORIGINS")
    error_message = "the function's environment is unchanged without CORS"
  }
}

run "cors_on_answers_preflights_with_a_mock" {
  command = plan

  variables {
    cors_allowed_origins = ["https://app.example.com", "http://localhost:3000"]
  }

  assert {
    condition = (aws_api_gateway_method.options_root[0].http_method == "OPTIONS" &&
      !aws_api_gateway_method.options_root[0].api_key_required &&
    aws_api_gateway_integration.options_root[0].type == "MOCK")
    error_message = "OPTIONS / is answered by a MOCK integration without an API key"
  }

  assert {
    condition = (aws_api_gateway_integration_response.options_root[0].response_parameters["method.response.header.Access-Control-Allow-Methods"] == "'OPTIONS,POST'" &&
    strcontains(aws_api_gateway_integration_response.options_root[0].response_parameters["method.response.header.Access-Control-Allow-Headers"], "X-Api-Key"))
    error_message = "the preflight allows POST with the key and content headers"
  }

  assert {
    condition = (strcontains(aws_api_gateway_integration_response.options_root[0].response_templates["application/json"], "\"https://app.example.com\", \"http://localhost:3000\"") &&
    strcontains(aws_api_gateway_integration_response.options_root[0].response_templates["application/json"], "Access-Control-Allow-Origin = $origin"))
    error_message = "the preflight echoes only an allowed Origin"
  }

  assert {
    condition     = module.function.lambda_function.environment[0].variables["CORS_ALLOWED_ORIGINS"] == "https://app.example.com,http://localhost:3000"
    error_message = "the function learns the allowed origins for its own answers"
  }
}

run "bad_cors_origins_are_rejected" {
  command = plan

  variables {
    cors_allowed_origins = ["https://app.example.com/", "*", "https://app.example.com/"]
  }

  expect_failures = [var.cors_allowed_origins]
}

run "json_body_validation_can_be_turned_off_for_emulators" {
  command = plan

  variables {
    json_body_validation = false
  }

  assert {
    condition     = aws_api_gateway_method.post_root.request_validator_id == null
    error_message = "no validator on the method when json_body_validation is false"
  }

  assert {
    condition     = aws_api_gateway_method.post_root.request_models["application/json"] == "JsonRequest"
    error_message = "the model stays declared (and exported) without validation"
  }
}
