# API Gateway validates application/json bodies before the function runs: the model is generated from the
# contract's JsonRequest schema (openapi.yaml -> models/json_request.schema.json by `make docs`, drift fails
# `make lint`). It refuses what is not a JSON object (malformed JSON, arrays, numbers, empty bodies) with the
# BAD_REQUEST_BODY gateway response; field-level checks stay in the function so its 400s name the field in
# every request format alike. text/csv and application/jsonlines bodies have no model and go to the function.

resource "aws_api_gateway_request_validator" "body" {
  name                        = "${var.name_prefix}-inference-body"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_body       = true
  validate_request_parameters = false
}

resource "aws_api_gateway_model" "json_request" {
  rest_api_id  = aws_api_gateway_rest_api.this.id
  name         = "JsonRequest" # the contract's schema name (alphanumeric, as API Gateway requires)
  description  = "application/json request body (generated from openapi.yaml components.schemas.JsonRequest)."
  content_type = local.json_media_type
  schema       = local.json_request_schema
}

locals {
  json_media_type = "application/json"
  # Compact, as API Gateway (and LocalStack) store it: the file's indentation would be a diff on every plan.
  json_request_schema = jsonencode(jsondecode(file("${path.module}/models/json_request.schema.json")))
}
