# The function, its role, policy and log group moved into modules/lambda_function: these blocks move
# existing state to the new addresses, so the change replaces nothing.
moved {
  from = aws_lambda_function.inference
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_iam_role.function
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function
  to   = module.function.aws_iam_role_policy.data_access
}

moved {
  from = aws_cloudwatch_log_group.function
  to   = module.function.aws_cloudwatch_log_group.this
}
