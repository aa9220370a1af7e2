# The REST API: POST / (API key required) proxied to the function, redeployed when the method changes.

resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-inference"
  description = "POST / with JSON (workshop or SageMaker instances), CSV or JSON Lines; API key required. Contract: openapi.yaml."

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_method" "post_root" {
  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = aws_api_gateway_rest_api.this.root_resource_id
  http_method      = "POST"
  authorization    = "NONE"
  api_key_required = local.post_root_settings.api_key_required # callers are identified, throttled and metered by API key
  # JSON bodies are checked against the contract's model first (request_validation.tf); the model stays
  # declared (and in the export) when var.json_body_validation is off.
  request_validator_id = local.post_root_settings.request_validator_id
  request_models       = local.post_root_settings.request_models
}

locals {
  post_root_settings = {
    api_key_required     = true
    request_validator_id = var.json_body_validation ? aws_api_gateway_request_validator.body.id : null
    request_models       = { (local.json_media_type) = aws_api_gateway_model.json_request.name }
  }
}

resource "aws_api_gateway_integration" "post_root" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_rest_api.this.root_resource_id
  http_method             = aws_api_gateway_method.post_root.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = local.invoke_arn
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowApiGatewayPostRoot"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  qualifier     = local.invoke_qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/POST/"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  # Redeploy whenever a method, integration, validation model, gateway response or the CORS setup changes.
  # Configured values, not what the API reads back: an emulator (or AWS) that echoes an unset validator as ""
  # or re-serialises the schema would otherwise change the hash on the second apply and redeploy for nothing.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_method.post_root.id,
      local.post_root_settings,
      aws_api_gateway_integration.post_root.id,
      local.invoke_arn,
      local.json_request_schema,
      [for response in aws_api_gateway_gateway_response.json : response.id],
      local.gateway_responses,
      var.cors_allowed_origins,
      aws_api_gateway_integration_response.options_root[*].id,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}
