output "function_name" {
  description = "Name of the function (<name_prefix>-<name>)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function (unqualified: $LATEST)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "API Gateway invoke ARN of the function ($LATEST)."
  value       = aws_lambda_function.this.invoke_arn
}

output "version" {
  description = "Latest published version with snap_start; $LATEST otherwise."
  value       = aws_lambda_function.this.version
}

output "role_arn" {
  description = "ARN of the execution role (<name_prefix>-<name>-lambda)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "The function's log group (/aws/lambda/<name_prefix>-<name>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "lambda_function" {
  description = "Every attribute of the aws_lambda_function (the calling modules' native tests assert on it)."
  value       = aws_lambda_function.this
}

output "role" {
  description = "Every attribute of the execution role."
  value       = aws_iam_role.this
}

output "log_group" {
  description = "Every attribute of the log group."
  value       = aws_cloudwatch_log_group.this
}

output "role_policies" {
  description = "The role's two inline policies (keys data_access, own_logs), every attribute."
  value = {
    data_access = aws_iam_role_policy.data_access
    own_logs    = aws_iam_role_policy.own_logs
  }
}
