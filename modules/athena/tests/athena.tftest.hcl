# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
mock_provider "aws" {}

variables {
  layout = {
    raw               = "raw/"
    quarantine        = "quarantine/"
    manifests         = "manifests/"
    processed         = "processed/"
    weather           = "nygroundstationdata/"
    training          = "training/"
    models            = "models/"
    artifacts         = "artifacts/"
    athena_results    = "athena-results/"
    tmp               = "tmp/"
    model_versions    = "models/linear-learner/versions/"
    model_pointer_key = "models/linear-learner/serving.json"
    model_jobs        = "models/linear-learner/jobs/"
  }
  data_bucket_name     = "wr-test-data"
  create_named_queries = false # the SQL lives outside the module folder; tests/terraform covers rendering
}

run "workgroup_guard_rails" {
  command = plan

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration
    error_message = "clients must not be able to override the workgroup settings"
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://wr-test-data/athena-results/"
    error_message = "results go to athena-results/ in our bucket"
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3"
    error_message = "results are encrypted by default"
  }
  assert {
    condition     = length(aws_athena_named_query.this) == 0
    error_message = "create_named_queries = false creates none"
  }
}

run "scan_cutoff_below_athena_minimum_is_rejected" {
  command = plan
  variables {
    bytes_scanned_cutoff_per_query = 1048576
  }
  expect_failures = [var.bytes_scanned_cutoff_per_query]
}

run "kms_encryption_needs_a_key" {
  command = plan
  variables {
    results_encryption = "SSE_KMS"
  }
  expect_failures = [aws_athena_workgroup.this]
}

run "elements_must_include_the_reduced_ones" {
  command = plan
  variables {
    ghcn_elements = ["SNOW"]
  }
  expect_failures = [var.ghcn_elements]
}

run "year_range_must_be_ordered" {
  command = plan
  variables {
    ghcn_year_range = [2030, 1750]
  }
  expect_failures = [var.ghcn_year_range]
}
