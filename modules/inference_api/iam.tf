# The function's role: assumed by Lambda only; reads the models prefix, writes its own logs and traces.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${local.function_name}-lambda" # <name_prefix>-<function>-lambda, as the ETL roles
  description        = "Inference function: reads the published model, writes its own logs and traces."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadPublishedModel"
    actions   = ["s3:GetObject"] # also covers HeadObject, used for the ETag re-check
    resources = ["${local.bucket_arn}/${var.layout.models}*"]
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.function_log_group_arn}:*"]
  }

  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray trace APIs have no resource type
  }

  dynamic "statement" {
    for_each = var.data_bucket_kms_key_arn == null ? [] : [var.data_bucket_kms_key_arn]
    content {
      sid       = "DecryptModelObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "${local.function_name}-data-access" # as the ETL functions' policies
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
