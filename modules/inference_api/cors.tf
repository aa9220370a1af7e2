# CORS, opt in: with cors_allowed_origins set, OPTIONS / is answered by API Gateway itself (a MOCK
# integration, no API key, the function never runs) and the function adds Access-Control-Allow-Origin to its
# answers for an allowed Origin (CORS_ALLOWED_ORIGINS). A preflight from another origin gets no
# Access-Control-Allow-Origin, so the browser refuses. Off by default: no OPTIONS method at all.

locals {
  cors_enabled          = length(var.cors_allowed_origins) > 0
  cors_any_origin       = contains(var.cors_allowed_origins, "*")
  cors_allowed_methods  = "OPTIONS,POST"
  cors_allowed_headers  = "Content-Type,Accept,X-Api-Key"
  cors_max_age_seconds  = 600
  cors_preflight_status = "204"
  # The function's environment gains CORS_ALLOWED_ORIGINS only when CORS is on.
  cors_function_environment = local.cors_enabled ? { CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins) } : {}
  # Echo the request's Origin when it is allowed (VTL in the MOCK integration response).
  cors_origin_template = <<-EOT
    #set($origin = $input.params("Origin"))
    #if("$!origin" == "")#set($origin = $input.params("origin"))#end
    #set($allowed = [${join(", ", [for origin in var.cors_allowed_origins : jsonencode(origin)])}])
    #if(${local.cors_any_origin ? "true" : "false"})
    #set($context.responseOverride.header.Access-Control-Allow-Origin = "*")
    #elseif($allowed.contains("$!origin"))
    #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)
    #end
  EOT
  cors_static_headers = {
    "Access-Control-Allow-Methods" = local.cors_allowed_methods
    "Access-Control-Allow-Headers" = local.cors_allowed_headers
    "Access-Control-Max-Age"       = tostring(local.cors_max_age_seconds)
    "Vary"                         = "Origin"
  }
}

resource "aws_api_gateway_method" "options_root" {
  #checkov:skip=CKV2_AWS_53:A CORS preflight has no body to validate; the MOCK integration answers it without reaching the function.
  count = local.cors_enabled ? 1 : 0

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = aws_api_gateway_rest_api.this.root_resource_id
  http_method      = "OPTIONS"
  authorization    = "NONE"
  api_key_required = false # browsers send preflights without custom headers
}

resource "aws_api_gateway_integration" "options_root" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_rest_api.this.root_resource_id
  http_method = aws_api_gateway_method.options_root[0].http_method
  type        = "MOCK"
  request_templates = {
    (local.json_media_type) = jsonencode({ statusCode = tonumber(local.cors_preflight_status) })
  }
}

resource "aws_api_gateway_method_response" "options_root" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_rest_api.this.root_resource_id
  http_method = aws_api_gateway_method.options_root[0].http_method
  status_code = local.cors_preflight_status
  response_parameters = merge(
    { for name in keys(local.cors_static_headers) : "method.response.header.${name}" => true },
    { "method.response.header.Access-Control-Allow-Origin" = false },
  )
}

resource "aws_api_gateway_integration_response" "options_root" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id         = aws_api_gateway_rest_api.this.id
  resource_id         = aws_api_gateway_rest_api.this.root_resource_id
  http_method         = aws_api_gateway_method.options_root[0].http_method
  status_code         = aws_api_gateway_method_response.options_root[0].status_code
  response_parameters = { for name, value in local.cors_static_headers : "method.response.header.${name}" => "'${value}'" }
  response_templates  = { (local.json_media_type) = local.cors_origin_template }

  depends_on = [aws_api_gateway_integration.options_root]
}
