# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
# `apply` with mocks lets computed ids flow into the outputs, which a plan cannot show.
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
    condition     = length(aws_lambda_function.inference.layers) == 1 && aws_lambda_function.inference.layers[0] == aws_lambda_layer_version.mxnet[0].arn
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
    condition     = aws_lambda_function.inference.runtime == "python3.13" && aws_lambda_function.inference.architectures == tolist(["x86_64"])
    error_message = "the function runs python3.13 on x86_64 by default"
  }
  assert {
    condition     = aws_lambda_layer_version.mxnet[0].compatible_runtimes == toset(["python3.13"]) && aws_lambda_layer_version.mxnet[0].compatible_architectures == toset(["x86_64"])
    error_message = "the layer is compatible with exactly the deployed runtime and architecture"
  }
  assert {
    condition     = length(aws_lambda_alias.live) == 0 && aws_lambda_function.inference.publish == false
    error_message = "SnapStart (and its alias) is off by default"
  }
  assert {
    condition     = aws_iam_role.function.name == "${var.name_prefix}-inference-lambda" && aws_iam_role_policy.function.name == "${var.name_prefix}-inference-data-access" && aws_lambda_function.inference.environment[0].variables["POWERTOOLS_SERVICE_NAME"] == "${var.name_prefix}-inference"
    error_message = "role, policy and service name follow the ETL functions' <name_prefix>-<function> convention"
  }
}

run "arm64_follows_into_function_and_layer" {
  command = plan
  variables {
    architectures = ["arm64"]
  }

  assert {
    condition     = aws_lambda_function.inference.architectures == tolist(["arm64"]) && aws_lambda_layer_version.mxnet[0].compatible_architectures == toset(["arm64"])
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
    condition     = aws_lambda_function.inference.publish && aws_lambda_function.inference.snap_start[0].apply_on == "PublishedVersions"
    error_message = "SnapStart applies to published versions"
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.qualifier == "live" && aws_api_gateway_integration.post_root.uri == aws_lambda_alias.live[0].invoke_arn
    error_message = "the API invokes (and may invoke only) the live alias"
  }
}
