# The functions, roles, policies and log groups moved into modules/lambda_function: these blocks move
# existing state to the new addresses, so the change replaces nothing. Moved blocks take no for_each.

moved {
  from = aws_lambda_function.function["ingest"]
  to   = module.function["ingest"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["ingest"]
  to   = module.function["ingest"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["ingest"]
  to   = module.function["ingest"].aws_iam_role_policy.data_access
}

moved {
  from = aws_iam_role_policy.logs["ingest"]
  to   = module.function["ingest"].aws_iam_role_policy.own_logs
}

moved {
  from = aws_cloudwatch_log_group.function["ingest"]
  to   = module.function["ingest"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_lambda_function.function["enrich"]
  to   = module.function["enrich"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["enrich"]
  to   = module.function["enrich"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["enrich"]
  to   = module.function["enrich"].aws_iam_role_policy.data_access
}

moved {
  from = aws_iam_role_policy.logs["enrich"]
  to   = module.function["enrich"].aws_iam_role_policy.own_logs
}

moved {
  from = aws_cloudwatch_log_group.function["enrich"]
  to   = module.function["enrich"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_lambda_function.function["writer"]
  to   = module.function["writer"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["writer"]
  to   = module.function["writer"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["writer"]
  to   = module.function["writer"].aws_iam_role_policy.data_access
}

moved {
  from = aws_iam_role_policy.logs["writer"]
  to   = module.function["writer"].aws_iam_role_policy.own_logs
}

moved {
  from = aws_cloudwatch_log_group.function["writer"]
  to   = module.function["writer"].aws_cloudwatch_log_group.this
}
