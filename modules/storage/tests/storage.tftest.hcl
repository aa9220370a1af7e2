# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  # The real policy is checked by tests/terraform/test_storage_plan.py; mocks need valid JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
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
