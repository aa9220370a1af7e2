# Native `terraform test` (offline: mock provider) of the API contract at the gateway: JSON error responses,
# request validation from openapi.yaml, opt-in CORS. Plan-level: every value asserted is known at plan time.
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

variables {
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
  data_bucket_name  = "wr-test-data"
  function_zip_path = "tests/fixtures/inference.zip"
  layer_zip_path    = "tests/fixtures/layer.zip"
}

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
    condition     = !contains(keys(aws_lambda_function.inference.environment[0].variables), "CORS_ALLOWED_ORIGINS")
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
    condition     = aws_lambda_function.inference.environment[0].variables["CORS_ALLOWED_ORIGINS"] == "https://app.example.com,http://localhost:3000"
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
