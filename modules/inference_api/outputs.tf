output "invoke_url" {
  description = "AWS-style invoke URL of the prod stage's POST / (https://<api>.execute-api.<region>.amazonaws.com/prod/)."
  value       = local.aws_invoke_url
}

output "local_invoke_url" {
  description = "LocalStack URL that needs no DNS (http://localhost:<port>/_aws/execute-api/<api>/prod/); null when local_endpoint is null."
  value       = local.local_invoke_url
}

output "effective_invoke_url" {
  description = "local_invoke_url when local_endpoint is set, otherwise invoke_url: the URL clients should call."
  value       = local.effective_invoke_url
}

output "api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.this.id
}

output "api_key_value" {
  description = "API key value to send as the x-api-key header."
  value       = aws_api_gateway_api_key.client.value
  sensitive   = true
}

output "api_key_id" {
  description = "API key id (not secret)."
  value       = aws_api_gateway_api_key.client.id
}

output "function_name" {
  description = "Name of the inference Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the inference Lambda function."
  value       = module.function.function_arn
}

output "function_role_arn" {
  description = "ARN of the inference function's execution role."
  value       = module.function.role_arn
}

output "layer_version_arn" {
  description = "ARN of the MXNet layer version; null with the numpy engine."
  value       = try(aws_lambda_layer_version.mxnet[0].arn, null)
}

output "model_s3_uri" {
  description = "S3 URI of the serving pointer (a JSON object naming the model version the function serves; `wildrydes models promote|rollback` switch it)."
  value       = "s3://${var.data_bucket_name}/${var.layout.model_pointer_key}"
}

output "model_versions_s3_uri" {
  description = "S3 URI prefix of the immutable model versions (<version>/model.tar.gz + metadata.json) the pointer names."
  value       = "s3://${var.data_bucket_name}/${var.layout.model_versions}"
}

output "access_log_group_name" {
  description = "CloudWatch log group receiving API Gateway access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "curl_example" {
  description = "Ready-to-paste curl command scoring the workshop payload; reads the key from `terraform output` so no secret is printed."
  value       = "curl -sS -X POST '${local.effective_invoke_url}' -H 'Content-Type: application/json' -H \"x-api-key: $(terraform output -raw inference_api_key)\" -d '${local.example_payload}'"
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the inference API (requests, errors, latency, model loads/rejects, predictions by label and score bucket)."
  value       = aws_cloudwatch_dashboard.inference.dashboard_name
}

output "alarm_names" {
  description = "Names of the inference alarms (keys api-5xx-rate, api-4xx-rate, api-p99-latency, function-errors, function-throttles, model-rejected)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.inference : k => a.alarm_name }
}
