# Native `terraform test`, offline. Run from the module folder: terraform test
# `mock_provider "aws"` for the apply runs and `aws.offline`, the real provider with fake credentials
# and no API call, for the plan runs that read the rendered IAM policies.
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

  assert {
    condition     = output.linear_learner_image_uri == "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1"
    error_message = "eu-west-1 uses account 438346466558's linear-learner image"
  }
  assert {
    condition     = output.notebook_instance_name == null && length(aws_sagemaker_notebook_instance.notebook) == 0
    error_message = "no notebook unless enable_notebook"
  }
}

run "model_package_group_is_off_by_default" {
  command = apply

  assert {
    condition     = length(aws_sagemaker_model_package_group.models) == 0 && output.model_package_group_name == null
    error_message = "no model package group unless model_package_group_enabled"
  }
}

run "model_package_group_when_enabled" {
  command = apply
  variables {
    model_package_group_enabled = true
  }

  assert {
    condition     = output.model_package_group_name == "${var.name_prefix}-linear-learner"
    error_message = "the group is named after name_prefix and the algorithm"
  }
  assert {
    condition     = output.model_package_group_name == aws_sagemaker_model_package_group.models[0].model_package_group_name
    error_message = "the output names the group the module created"
  }
}

run "notebook_when_enabled" {
  command = apply
  variables {
    enable_notebook                 = true
    notebook_direct_internet_access = true # without a subnet, the only way to reach S3 (off by default)
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

# ---------------------------------------------------------------------------- plan rules, real provider offline
run "training_role_is_least_privilege" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    account_id = "000000000000"
  }

  assert {
    condition     = [for st in jsondecode(aws_iam_role.training.assume_role_policy).Statement : st.Principal] == [{ Service = "sagemaker.amazonaws.com" }]
    error_message = "only SageMaker may assume the training role"
  }
  assert {
    condition     = alltrue(flatten([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : [for a in flatten([st.Action]) : !strcontains(a, "*")]]))
    error_message = "no wildcard actions"
  }
  assert {
    condition = alltrue([for st in jsondecode(aws_iam_role_policy.training.policy).Statement :
    length(setsubtract(flatten([st.Action]), ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"])) == 0 if contains(flatten([st.Resource]), "*")])
    error_message = "only actions without a resource type (ECR login, PutMetricData) are granted on *"
  }
  assert {
    condition = (
      length(setsubtract(flatten([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : [for a in flatten([st.Action]) : a if startswith(a, "s3:")] if st.Effect == "Allow"]), ["s3:GetObject", "s3:PutObject", "s3:ListBucket"])) == 0
      && toset(flatten([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : flatten([st.Resource]) if st.Effect == "Allow" && anytrue([for a in flatten([st.Action]) : startswith(a, "s3:")])])) == toset([
        "arn:aws:s3:::wr-test-data/training/*", "arn:aws:s3:::wr-test-data/models/*", "arn:aws:s3:::wr-test-data",
        "arn:aws:s3:::wr-test-data/models/linear-learner/versions/*", "arn:aws:s3:::wr-test-data/models/linear-learner/jobs/*",
      ])
    )
    error_message = "S3: get/put/list only, on training/*, models/* (read), new model versions and job artifacts (write) and the bucket (for listing)"
  }
  assert {
    condition     = one([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : st.Resource if st.Sid == "NeverTheServingPointer" && st.Effect == "Deny"]) == "arn:aws:s3:::wr-test-data/models/linear-learner/serving.json"
    error_message = "training may never write the serving pointer (an explicit Deny; promote/rollback switch it)"
  }
  assert {
    condition     = one([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : st.Condition.StringLike["s3:prefix"] if st.Sid == "ListOnlyOurPrefixes"]) == ["training/*", "models/*"]
    error_message = "listing is limited to our prefixes"
  }
  assert {
    condition     = one([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : flatten([st.Action]) if st.Sid == "ReadTrainingChannels"]) == ["s3:GetObject"]
    error_message = "training never writes its input"
  }
  assert {
    condition     = one([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : st.Resource if st.Sid == "PullLinearLearnerImage"]) == "arn:aws:ecr:us-east-1:382416733822:repository/linear-learner"
    error_message = "the image pull is scoped to the region's linear-learner repository"
  }
  assert {
    condition     = contains(flatten([for st in jsondecode(aws_iam_role_policy.training.policy).Statement : flatten([st.Resource]) if st.Sid == "TrainingJobLogs"]), "arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/TrainingJobs")
    error_message = "training logs go to /aws/sagemaker/TrainingJobs"
  }
  assert {
    condition     = output.linear_learner_image_uri == "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
    error_message = "us-east-1 uses account 382416733822's linear-learner image"
  }
}

run "enabled_notebook_gets_our_notebook_and_no_root" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    account_id                      = "000000000000"
    enable_notebook                 = true
    notebook_direct_internet_access = true
  }

  assert {
    condition     = aws_sagemaker_notebook_instance.notebook[0].root_access == "Disabled" && aws_sagemaker_notebook_instance.notebook[0].direct_internet_access == "Enabled"
    error_message = "no root; without a subnet direct internet is the only way to reach S3"
  }
  assert {
    condition = (
      strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.notebook[0].on_start), "s3://wr-test-data/notebooks/linear_learner.ipynb")
      && strcontains(base64decode(aws_sagemaker_notebook_instance_lifecycle_configuration.notebook[0].on_start), "/home/ec2-user/SageMaker/linear_learner.ipynb")
    )
    error_message = "the lifecycle script copies our notebook into the instance's SageMaker folder"
  }
  assert {
    condition     = aws_s3_object.notebook[0].key == "notebooks/linear_learner.ipynb" && aws_s3_object.notebook[0].server_side_encryption == "AES256"
    error_message = "the notebook is uploaded encrypted under notebooks/"
  }
  assert {
    condition = one([for st in jsondecode(aws_iam_role_policy.notebook[0].policy).Statement : st if st.Sid == "HandTrainingRoleToSageMaker"]).Resource == "arn:aws:iam::000000000000:role/wildrydes-sagemaker-training" && one([
    for st in jsondecode(aws_iam_role_policy.notebook[0].policy).Statement : st if st.Sid == "HandTrainingRoleToSageMaker"]).Condition.StringEquals["iam:PassedToService"] == "sagemaker.amazonaws.com"
    error_message = "the notebook may pass only the training role, and only to SageMaker"
  }
}

run "notebook_in_a_subnet_has_no_direct_internet" {
  command   = plan
  providers = { aws = aws.offline }
  state_key = "offline"
  variables {
    account_id                  = "000000000000"
    enable_notebook             = true
    notebook_subnet_id          = "subnet-0abc123"
    notebook_security_group_ids = ["sg-0abc123"]
  }

  assert {
    condition     = aws_sagemaker_notebook_instance.notebook[0].direct_internet_access == "Disabled"
    error_message = "in a subnet the notebook reaches S3 through the VPC"
  }
}

run "vpc_id_as_subnet_is_rejected" {
  command = plan
  variables {
    notebook_subnet_id = "vpc-123"
  }
  expect_failures = [var.notebook_subnet_id]
}

run "short_account_id_is_rejected" {
  command = plan
  variables {
    account_id = "12345"
  }
  expect_failures = [var.account_id]
}

# ---------------------------------------------------------------------------- notebook network (lifecycle issue)
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
