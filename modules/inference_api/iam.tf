# What the inference code calls: reads the models prefix and writes traces. modules/lambda_function
# attaches it as <name_prefix>-inference-data-access to the role <name_prefix>-inference-lambda, next
# to the own-logs policy (as for the ETL functions).

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadPublishedModel"
    actions   = ["s3:GetObject"] # also covers HeadObject, used for the ETag re-check
    resources = ["${local.bucket_arn}/${var.layout.models}*"]
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
