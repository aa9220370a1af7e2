# The REST API: POST / (API key required) proxied to the function, redeployed when the method changes.

resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-inference"
  description = "POST / with the workshop JSON or SageMaker-style instances; API key required."

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_method" "post_root" {
  #checkov:skip=CKV2_AWS_53:The function validates every field and answers clear 400 JSON; an API Gateway model would duplicate (and drift from) that schema.
  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = aws_api_gateway_rest_api.this.root_resource_id
  http_method      = "POST"
  authorization    = "NONE"
  api_key_required = true # callers are identified, throttled and metered by API key (usage plan)
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

  # Redeploy whenever the method or integration changes.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_method.post_root.id,
      aws_api_gateway_method.post_root.api_key_required,
      aws_api_gateway_integration.post_root.id,
      aws_api_gateway_integration.post_root.uri,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}
