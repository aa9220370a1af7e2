# The S3 bucket a team's Terraform state lives in: versioned (every state write is a version you can roll back
# to), encrypted, private, TLS only. Apply once per account with local state (see ../README.md); the backends of
# the environments then point at it with use_lockfile = true (S3-native lock files, no DynamoDB table).

locals {
  bucket_arn = "arn:aws:s3:::${var.state_bucket_name}"
  # Lock files (<key>.tflock) of an interrupted run and abandoned multipart uploads are cleaned up after this.
  abort_incomplete_uploads_after_days = 7
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access logging needs a second (log) bucket; CloudTrail data events are the account-level choice for state access audit.
  #checkov:skip=CKV_AWS_144:Cross-region replication of state is a disaster-recovery choice per team; versioning covers overwrites and deletes.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default; SSE-KMS is one variable away (kms_key_arn) for accounts that need key control.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the state bucket.
  bucket        = var.state_bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

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
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.tls_only.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "noncurrent-state-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = local.abort_incomplete_uploads_after_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}
