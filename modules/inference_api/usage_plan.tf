# The client API key and the usage plan that throttles and meters it.

locals {
  aws_invoke_url = "${aws_api_gateway_stage.prod.invoke_url}/"
  # LocalStack serves every API under /_aws/execute-api/<id>/<stage>/ on its gateway port: no DNS needed.
  local_invoke_url     = var.local_endpoint == null ? null : "${var.local_endpoint}/_aws/execute-api/${aws_api_gateway_rest_api.this.id}/${local.stage_name}/"
  effective_invoke_url = coalesce(local.local_invoke_url, local.aws_invoke_url)
}

resource "aws_api_gateway_api_key" "client" {
  name        = "${var.name_prefix}-inference-client"
  description = "Key for callers of the inference API (send as x-api-key)."
  enabled     = true
  tags        = var.tags
}

resource "aws_api_gateway_usage_plan" "this" {
  name        = "${var.name_prefix}-inference"
  description = "Throttling and quota per API key."

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.prod.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  quota_settings {
    limit  = var.quota_limit
    period = var.quota_period
  }

  tags = var.tags
}

resource "aws_api_gateway_usage_plan_key" "client" {
  key_id        = aws_api_gateway_api_key.client.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this.id
}
