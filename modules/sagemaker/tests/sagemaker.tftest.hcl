# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::000000000000:role/wildrydes-sagemaker-training"
    }
  }
}

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
  notebook_source_path = "tests/fixtures/notebook.ipynb"
}

run "image_uri_follows_the_region" {
  command = apply

  # The lifecycle: the training role writes new versions and job artifacts, never the serving pointer.
  assert {
    condition = alltrue([for st in data.aws_iam_policy_document.training.statement :
      !contains(coalesce(st.actions, []), "s3:PutObject") || st.effect == "Deny" ||
    !contains(st.resources, "arn:aws:s3:::wr-test-data/models/*")])
    error_message = "the training role must not be allowed to write all of models/ (that includes serving.json)"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.training.statement :
      st.effect == "Deny" && contains(st.actions, "s3:PutObject") &&
    contains(st.resources, "arn:aws:s3:::wr-test-data/models/linear-learner/serving.json")])
    error_message = "the training role must be denied writing the serving pointer"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.training.statement :
      coalesce(st.effect, "Allow") == "Allow" && contains(st.actions, "s3:PutObject") &&
    contains(st.resources, "arn:aws:s3:::wr-test-data/models/linear-learner/versions/*")])
    error_message = "the training role writes new model versions"
  }

  assert {
    condition     = output.linear_learner_image_uri == "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1"
    error_message = "eu-west-1 uses account 438346466558's linear-learner image"
  }
  assert {
    condition     = output.notebook_instance_name == null && length(aws_sagemaker_notebook_instance.notebook) == 0
    error_message = "no notebook unless enable_notebook"
  }
}

run "notebook_when_enabled" {
  command = apply
  variables {
    enable_notebook                 = true
    notebook_direct_internet_access = true
  }

  assert {
    condition     = aws_sagemaker_notebook_instance.notebook[0].root_access == "Disabled"
    error_message = "root access must be off"
  }
  assert {
    condition     = strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.notebook[0].on_start), "s3://wr-test-data/notebooks/linear_learner.ipynb")
    error_message = "the lifecycle script must fetch our notebook"
  }
  assert {
    condition     = aws_sagemaker_notebook_instance.notebook[0].lifecycle_config_name == aws_sagemaker_notebook_instance_lifecycle_configuration.notebook[0].name
    error_message = "the notebook must use the lifecycle config"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.notebook.statement :
      st.effect == "Deny" && contains(st.actions, "s3:PutObject") &&
    contains(st.resources, "arn:aws:s3:::wr-test-data/models/linear-learner/serving.json")])
    error_message = "the notebook role must be denied writing the serving pointer"
  }
  assert {
    condition = alltrue([for st in data.aws_iam_policy_document.notebook.statement :
    !contains(coalesce(st.actions, []), "s3:ListBucket") || length(st.condition) > 0])
    error_message = "the notebook may list only the prefixes it needs"
  }
}

run "subnet_without_security_group_is_rejected" {
  command = plan
  variables {
    enable_notebook    = true
    notebook_subnet_id = "subnet-0abc"
  }
  expect_failures = [aws_sagemaker_notebook_instance.notebook]
}

run "bad_image_account_map_is_rejected" {
  command = plan
  variables {
    linear_learner_image_accounts = { "us-east-1" = "not-an-account" }
  }
  expect_failures = [var.linear_learner_image_accounts]
}

run "notebook_has_no_direct_internet_by_default" {
  command = plan
  variables {
    enable_notebook = true
  }
  expect_failures = [aws_sagemaker_notebook_instance.notebook]
}

run "notebook_in_a_subnet_without_internet" {
  command = apply
  variables {
    enable_notebook             = true
    notebook_subnet_id          = "subnet-0abc"
    notebook_security_group_ids = ["sg-0abc"]
  }

  assert {
    condition     = aws_sagemaker_notebook_instance.notebook[0].direct_internet_access == "Disabled"
    error_message = "direct internet access is off unless asked for"
  }
}
