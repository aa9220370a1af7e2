# One role per function with exactly the calls its code makes (lambda_src/README.md):
# no action wildcards, resources scoped to our queues and to bucket prefixes.

locals {
  bucket_objects = { for name, prefix in var.layout : name => "${var.data_bucket_arn}/${prefix}*" }

  # function => list of {sid, actions, resources}
  function_statements = {
    ingest = [
      { sid = "ReadRawRides", actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = [local.bucket_objects.raw] },
      { sid = "WriteQuarantineAndManifests", actions = ["s3:PutObject"], resources = [local.bucket_objects.quarantine, local.bucket_objects.manifests] },
      { sid = "SendToIngestQueue", actions = ["sqs:SendMessage"], resources = [var.queues.ingest.arn] },
      { sid = "SendFailedEventsToDlq", actions = ["sqs:SendMessage"], resources = [var.queues.ingest_events.arn] },
    ]
    enrich = [
      { sid = "ConsumeIngestQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], resources = [var.queues.ingest.arn] },
      { sid = "SendToGroundStationQueue", actions = ["sqs:SendMessage"], resources = [var.queues.groundstation.arn] },
      { sid = "WriteQuarantine", actions = ["s3:PutObject"], resources = [local.bucket_objects.quarantine] },
    ]
    writer = [
      { sid = "ConsumeGroundStationQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], resources = [var.queues.groundstation.arn] },
      { sid = "WriteProcessed", actions = ["s3:PutObject"], resources = [local.bucket_objects.processed] },
    ]
  }

  # With SSE-KMS on the bucket every reader/writer also needs the key (S3 calls KMS on its behalf).
  kms_statements = var.data_bucket_kms_key_arn == null ? [] : [
    { sid = "UseDataBucketKey", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = [var.data_bucket_kms_key_arn] },
  ]
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.function_keys

  name               = "${var.name_prefix}-${each.key}-lambda"
  description        = "Execution role of the ${var.name_prefix}-${each.key} function (least privilege)"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  dynamic "statement" {
    for_each = concat(local.function_statements[each.key], local.kms_statements)
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  # X-Ray accepts no resource-level scoping; only needed when tracing is Active.
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid       = "PutTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${var.name_prefix}-${each.key}-data-access"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

# Logs only into the function's own group (the group exists, so no CreateLogGroup). A separate
# policy because the group's ARN is known only after apply, while the data-access policy above
# is fully known at plan time (and checked there by tests/terraform).
data "aws_iam_policy_document" "logs" {
  for_each = local.function_keys

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  for_each = local.function_keys

  name   = "${var.name_prefix}-${each.key}-own-logs"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.logs[each.key].json
}
