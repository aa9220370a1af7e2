# One data-access policy per function with exactly the calls its code makes (lambda_src/README.md):
# no action wildcards, resources scoped to our queues and to bucket prefixes. The role, this policy's
# attachment (<name_prefix>-<function>-data-access) and the own-logs policy live in modules/lambda_function.

locals {
  bucket_objects = { for name, prefix in var.layout : name => "${var.data_bucket_arn}/${prefix}*" }

  # function => list of {sid, actions, resources}
  function_statements = {
    ingest = [
      { sid = "ReadRawRides", actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = [local.bucket_objects.raw] },
      { sid = "WriteQuarantineAndManifests", actions = ["s3:PutObject"], resources = [local.bucket_objects.quarantine, local.bucket_objects.manifests] },
      # Supersession (docs/design.md "Exactly once per file version"): read the key's earlier manifests,
      # list one source's objects per month and delete an older version's processed objects.
      { sid = "ReadManifests", actions = ["s3:GetObject"], resources = [local.bucket_objects.manifests] },
      { sid = "ListManifestsAndProcessed", actions = ["s3:ListBucket"], resources = [var.data_bucket_arn], list_prefixes = ["${var.layout.manifests}*", "${var.layout.processed}*"] },
      { sid = "DeleteSupersededProcessed", actions = ["s3:DeleteObject"], resources = [local.bucket_objects.processed] },
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

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  dynamic "statement" {
    for_each = concat(local.function_statements[each.key], local.kms_statements)
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      # ListBucket only below the given prefixes.
      dynamic "condition" {
        for_each = try(statement.value.list_prefixes, null) == null ? [] : [statement.value.list_prefixes]
        content {
          test     = "StringLike"
          variable = "s3:prefix"
          values   = condition.value
        }
      }
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
