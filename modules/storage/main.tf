# The data bucket: every stage of the pipeline reads and writes here, under fixed prefixes
# (docs/design.md "Outputs in the bucket").

data "aws_partition" "current" {}

# Only needed to derive the bucket name; an explicit bucket_name keeps plans free of API calls.
data "aws_caller_identity" "current" {
  count = var.bucket_name == null ? 1 : 0
}

locals {
  # The account id makes the name globally unique without a random provider.
  account_id  = try(data.aws_caller_identity.current[0].account_id, null)
  bucket_name = var.bucket_name != null ? var.bucket_name : "${var.name_prefix}-data-${data.aws_caller_identity.current[0].account_id}"
  # Known at plan time (unlike aws_s3_bucket.arn), so policies can be checked before apply.
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${local.bucket_name}"

  # Parts of an upload that never completed cost storage and are never read: drop them after a day.
  abort_incomplete_uploads_after_days = 1

  # The bucket layout: every prefix a stage reads or writes, defined here once and passed to every other
  # module as the `layout` output (Python side: wildrydes_lambda.contracts.layout; tests/terraform/test_contracts.py).
  layout = {
    raw            = var.raw_prefix
    quarantine     = "quarantine/"
    manifests      = "manifests/"
    processed      = "processed/"
    weather        = "nygroundstationdata/"
    training       = "training/"
    models         = "models/"
    artifacts      = "artifacts/"
    athena_results = "athena-results/"
    tmp            = "tmp/"
    # Models: immutable versions (<model_versions><version>/model.tar.gz + metadata.json), and the pointer
    # object naming the version the inference function serves (written only by promote/rollback).
    model_versions    = "models/linear-learner/versions/"
    model_pointer_key = "models/linear-learner/serving.json"
    model_jobs        = "models/linear-learner/jobs/" # SageMaker training jobs' S3OutputPath
  }

  # Prefixes whose objects are disposable after a while: prefix => days to keep.
  expiring_prefixes = {
    quarantine     = { prefix = local.layout.quarantine, days = var.quarantine_expiration_days }
    tmp            = { prefix = local.layout.tmp, days = var.tmp_expiration_days }
    athena-results = { prefix = local.layout.athena_results, days = var.athena_results_expiration_days }
  }
}

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_18:Access logging needs a second (log) bucket per deployment; CloudTrail data events are the account-level choice.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles cost; the raw data can be regenerated/re-uploaded and versioning covers overwrites.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default; SSE-KMS is one variable away (kms_key_arn) for accounts that need key control.
  #checkov:skip=CKV2_AWS_62:Event notifications are configured (raw/* -> ingest) in aws_s3_bucket_notification; the check cannot see a conditional one.
  bucket        = local.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id

  # ACLs off: the bucket owner owns every object, access is by policy only.
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket = aws_s3_bucket.data.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # A bucket key cuts KMS request costs; it has no effect with SSE-S3.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.bucket_arn,
      "${local.bucket_arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.tls_only.json

  # S3 rejects a policy while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.data]
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  dynamic "rule" {
    for_each = local.expiring_prefixes
    content {
      id     = "expire-${rule.key}"
      status = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      expiration {
        days = rule.value.days
      }
    }
  }

  rule {
    id     = "noncurrent-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = local.abort_incomplete_uploads_after_days
    }
  }

  # Versioning must exist before rules about non-current versions.
  depends_on = [aws_s3_bucket_versioning.data]
}

# ---------------------------------------------------------------------------- raw/*.json -> ingest

resource "aws_lambda_permission" "s3_invokes_ingest" {
  count = var.ingest_notification_enabled ? 1 : 0

  statement_id   = "AllowS3InvokeFromDataBucket"
  action         = "lambda:InvokeFunction"
  function_name  = var.ingest_function_name
  principal      = "s3.amazonaws.com"
  source_arn     = local.bucket_arn
  source_account = local.account_id

  lifecycle {
    precondition {
      condition     = var.ingest_function_arn != null && var.ingest_function_name != null
      error_message = "ingest_notification_enabled = true needs ingest_function_arn and ingest_function_name."
    }
  }
}

resource "aws_s3_bucket_notification" "raw_to_ingest" {
  count = var.ingest_notification_enabled ? 1 : 0

  bucket = aws_s3_bucket.data.id

  lambda_function {
    id                  = "raw-json-to-ingest"
    lambda_function_arn = var.ingest_function_arn
    events              = ["s3:ObjectCreated:*"]
    # No suffix filter: S3 filters are case-sensitive and one suffix per rule, but ride files arrive as
    # .json, .jsonl, .ndjson and their .gz forms in any case. Ingest decides, and gives every other object
    # under the prefix a manifest with file_reason UNSUPPORTED_OBJECT instead of silence.
    filter_prefix = var.raw_prefix
  }

  # S3 test-invokes the target when the notification is saved: the permission must exist first.
  depends_on = [aws_lambda_permission.s3_invokes_ingest]
}
