# API Gateway's own errors in the function's shape, {"error": "<code>", "message": "..."} as application/json
# (the Error schema of openapi.yaml), instead of {"message": "Forbidden"} and friends; Retry-After on 429 and
# on the 5xx default. The gateway reports an unknown method or path as a missing authentication token: it is
# answered as 404 not_found.

locals {
  retry_after_seconds = {
    throttled = 1    # the usage plan's rate refills every second
    quota     = 3600 # the quota resets per period; an hour is a polite first retry
    gateway   = 1
  }
  # type => status (null: the type's default), error code, message (a JSON string literal or a quoted
  # $context variable), extra headers.
  gateway_responses = {
    INVALID_API_KEY = {
      status  = "403"
      error   = "forbidden"
      message = jsonencode("send a valid API key in the x-api-key header")
      headers = {}
    }
    MISSING_AUTHENTICATION_TOKEN = {
      status  = "404"
      error   = "not_found"
      message = jsonencode("no such method or path; the API has POST / only (see openapi.yaml)")
      headers = {}
    }
    ACCESS_DENIED = {
      status  = "403"
      error   = "forbidden"
      message = "$context.error.messageString"
      headers = {}
    }
    REQUEST_TOO_LARGE = {
      status  = "413"
      error   = "body_too_large"
      message = jsonencode("the request body is too large for API Gateway")
      headers = {}
    }
    BAD_REQUEST_BODY = {
      status  = "400"
      error   = "invalid_body"
      message = jsonencode("an application/json body must be one JSON object (see openapi.yaml)")
      headers = {}
    }
    THROTTLED = {
      status  = "429"
      error   = "throttled"
      message = jsonencode("too many requests; slow down and retry")
      headers = { "Retry-After" = tostring(local.retry_after_seconds.throttled) }
    }
    QUOTA_EXCEEDED = {
      status  = "429"
      error   = "quota_exceeded"
      message = jsonencode("the API key's request quota is used up for this period")
      headers = { "Retry-After" = tostring(local.retry_after_seconds.quota) }
    }
    DEFAULT_4XX = {
      status  = null
      error   = "client_error"
      message = "$context.error.messageString"
      headers = {}
    }
    DEFAULT_5XX = {
      status  = null
      error   = "gateway_error"
      message = jsonencode("the service could not answer; retry later")
      headers = { "Retry-After" = tostring(local.retry_after_seconds.gateway) }
    }
  }
}

resource "aws_api_gateway_gateway_response" "json" {
  for_each = local.gateway_responses

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key
  status_code   = each.value.status

  response_templates = {
    (local.json_media_type) = "{\"error\": \"${each.value.error}\", \"message\": ${each.value.message}}"
  }

  # Static header values are single-quoted literals in API Gateway's mapping syntax.
  response_parameters = { for name, value in each.value.headers : "gatewayresponse.header.${name}" => "'${value}'" }
}
