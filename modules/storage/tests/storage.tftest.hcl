# Native `terraform test`, offline. Run from the module folder: terraform test
# `mock_provider "aws"` for the guard-rail runs and `aws.offline`, the real provider with fake
# credentials and no API call, for the plan runs that read the rendered bucket policy.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  # The real policy is checked by the aws.offline runs below; mocks need valid JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

provider "aws" {
  alias                       = "offline"
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
}

variables {
  name_prefix          = "wr-test"
  bucket_name          = "wr-test-data"
  ingest_function_arn  = "arn:aws:lambda:us-east-1:000000000000:function:wr-test-ingest"
  ingest_function_name = "wr-test-ingest"
}

run "defaults_are_encrypted_versioned_and_private" {
  command = plan

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "SSE-S3 must be the default encryption"
  }
  assert {
    condition     = aws_s3_bucket_versioning.data.versioning_configuration[0].status == "Enabled"
    error_message = "versioning must be on"
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.data.restrict_public_buckets && aws_s3_bucket_public_access_block.data.block_public_policy
    error_message = "public access must be blocked"
  }
  assert {
    condition     = output.bucket_arn == "arn:aws:s3:::wr-test-data"
    error_message = "bucket ARN must be known at plan time"
  }
}

run "bad_name_prefix_is_rejected" {
  command = plan
  variables {
    name_prefix = "Wild_Rydes"
  }
  expect_failures = [var.name_prefix]
}

run "bad_bucket_name_is_rejected" {
  command = plan
  variables {
    bucket_name = "UPPER_case"
  }
  expect_failures = [var.bucket_name]
}

run "kms_alias_instead_of_arn_is_rejected" {
  command = plan
  variables {
    kms_key_arn = "alias/data"
  }
  expect_failures = [var.kms_key_arn]
}

run "zero_day_expiration_is_rejected" {
  command = plan
  variables {
    tmp_expiration_days = 0
  }
  expect_failures = [var.tmp_expiration_days]
}

run "raw_prefix_without_slash_is_rejected" {
  command = plan
  variables {
    raw_prefix = "raw"
  }
  expect_failures = [var.raw_prefix]
}

run "notification_without_function_is_rejected" {
  command = plan
  variables {
    ingest_function_arn  = null
    ingest_function_name = null
  }
  expect_failures = [aws_lambda_permission.s3_invokes_ingest]
}

# ---------------------------------------------------------------------------- plan rules, real provider offline
run "bucket_is_named_private_and_kept_by_default" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition     = aws_s3_bucket.data.bucket == "wr-test-data" && aws_s3_bucket.data.force_destroy == false
    error_message = "the bucket takes bucket_name and is not emptied on destroy by default"
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.data.block_public_acls && aws_s3_bucket_public_access_block.data.block_public_policy
      && aws_s3_bucket_public_access_block.data.ignore_public_acls && aws_s3_bucket_public_access_block.data.restrict_public_buckets
    )
    error_message = "all four public-access flags are on"
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.data.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are disabled (bucket owner enforced)"
  }
  assert {
    condition     = try(length(one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).kms_master_key_id), 0) == 0
    error_message = "SSE-S3 names no KMS key"
  }
}

run "force_destroy_follows_the_variable" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    force_destroy = true
  }

  assert {
    condition     = aws_s3_bucket.data.force_destroy
    error_message = "force_destroy = true reaches the bucket"
  }
}

run "sse_kms_when_a_key_is_given" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
      && one(aws_s3_bucket_server_side_encryption_configuration.data.rule).bucket_key_enabled
    )
    error_message = "a key switches to SSE-KMS with that key and a bucket key"
  }
}

run "bucket_policy_denies_every_non_tls_request" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition     = length(jsondecode(aws_s3_bucket_policy.tls_only.policy).Statement) == 1
    error_message = "one statement"
  }
  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.tls_only.policy).Statement[0].Effect == "Deny"
      && contains([jsonencode("*"), jsonencode({ AWS = "*" })], jsonencode(jsondecode(aws_s3_bucket_policy.tls_only.policy).Statement[0].Principal))
    )
    error_message = "it denies everybody"
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.tls_only.policy).Statement[0].Condition == { Bool = { "aws:SecureTransport" = "false" } }
    error_message = "it applies to requests without TLS"
  }
  assert {
    condition     = toset(jsondecode(aws_s3_bucket_policy.tls_only.policy).Statement[0].Resource) == toset(["arn:aws:s3:::wr-test-data", "arn:aws:s3:::wr-test-data/*"])
    error_message = "it covers the bucket and every object"
  }
}

run "lifecycle_expires_the_disposable_prefixes" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    quarantine_expiration_days     = 45
    tmp_expiration_days            = 2
    athena_results_expiration_days = 9
  }

  assert {
    condition = { for r in aws_s3_bucket_lifecycle_configuration.data.rule : r.filter[0].prefix => r.expiration[0].days if length(r.expiration) > 0 } == {
      "quarantine/" = 45, "tmp/" = 2, "athena-results/" = 9
    }
    error_message = "quarantine/, tmp/ and athena-results/ expire after their variables; raw/ and processed/ are kept"
  }
  assert {
    condition     = alltrue([for r in aws_s3_bucket_lifecycle_configuration.data.rule : r.status == "Enabled"])
    error_message = "every rule is enabled"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.data.rule : r.noncurrent_version_expiration[0].noncurrent_days if length(r.noncurrent_version_expiration) > 0] == [30]
    error_message = "one rule expires non-current versions after 30 days"
  }
}

run "raw_json_uploads_notify_ingest" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"

  assert {
    condition = (
      length(aws_s3_bucket_notification.raw_to_ingest[0].lambda_function) == 1
      && aws_s3_bucket_notification.raw_to_ingest[0].lambda_function[0].lambda_function_arn == "arn:aws:lambda:us-east-1:000000000000:function:wr-test-ingest"
      && aws_s3_bucket_notification.raw_to_ingest[0].lambda_function[0].filter_prefix == "raw/"
      && (aws_s3_bucket_notification.raw_to_ingest[0].lambda_function[0].filter_suffix == null || aws_s3_bucket_notification.raw_to_ingest[0].lambda_function[0].filter_suffix == "")
      && aws_s3_bucket_notification.raw_to_ingest[0].lambda_function[0].events == toset(["s3:ObjectCreated:*"])
    )
    error_message = "every object created under raw/ invokes ingest, whatever its suffix (.JSON, .json.gz, .ndjson; ingest decides)"
  }
  assert {
    condition = (
      aws_lambda_permission.s3_invokes_ingest[0].principal == "s3.amazonaws.com" && aws_lambda_permission.s3_invokes_ingest[0].action == "lambda:InvokeFunction"
      && aws_lambda_permission.s3_invokes_ingest[0].function_name == "wr-test-ingest" && aws_lambda_permission.s3_invokes_ingest[0].source_arn == "arn:aws:s3:::wr-test-data"
    )
    error_message = "only S3, from this bucket, may invoke ingest"
  }
}

run "notification_can_be_disabled" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    ingest_notification_enabled = false
    ingest_function_arn         = null
    ingest_function_name        = null
  }

  assert {
    condition     = length(aws_s3_bucket_notification.raw_to_ingest) == 0 && length(aws_lambda_permission.s3_invokes_ingest) == 0 && aws_s3_bucket.data.bucket == "wr-test-data"
    error_message = "without the notification there is no permission either, and the bucket stays"
  }
}
