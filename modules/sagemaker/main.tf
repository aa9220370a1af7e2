# SageMaker for the training stage: a least-privilege execution role for Linear Learner training jobs and an
# optional notebook instance that arrives with our notebook on it.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  region = data.aws_region.current.name
  # Taken from our own role's ARN (known after apply) so that plans need no STS GetCallerIdentity call.
  account_id = var.account_id != null ? var.account_id : element(split(":", aws_iam_role.training.arn), 4)
  partition  = data.aws_partition.current.partition
  bucket_arn = "arn:${local.partition}:s3:::${var.data_bucket_name}"
  # Known at plan time when account_id is given, so the notebook policy can be reviewed in the plan.
  training_role_arn = (var.account_id == null ? aws_iam_role.training.arn :
  "arn:${local.partition}:iam::${var.account_id}:role/${aws_iam_role.training.name}")

  linear_learner_account = lookup(var.linear_learner_image_accounts, local.region, null)
  linear_learner_image = (local.linear_learner_account == null ? null :
  "${local.linear_learner_account}.dkr.ecr.${local.region}.${data.aws_partition.current.dns_suffix}/linear-learner:${var.linear_learner_image_tag}")
  linear_learner_repository_arn = (local.linear_learner_account == null ? null :
  "arn:${local.partition}:ecr:${local.region}:${local.linear_learner_account}:repository/linear-learner")

  training_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/TrainingJobs"
  notebook_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/NotebookInstances"

  # Who may write models: new versions and training-job artifacts, never the pointer that names what serves.
  model_write_resources = [
    "${local.bucket_arn}/${var.layout.model_versions}*",
    "${local.bucket_arn}/${var.layout.model_jobs}*",
  ]
  pointer_arn           = "${local.bucket_arn}/${var.layout.model_pointer_key}"
  pointer_write_actions = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
  # The notebook lists only what it reads or writes.
  notebook_list_prefixes = [for p in [var.layout.processed, var.layout.weather, var.layout.training, var.layout.models,
  var.layout.athena_results, var.layout.tmp] : "${p}*"]

  notebook_source_path = coalesce(var.notebook_source_path, "${path.module}/../../notebooks/linear_learner.ipynb")
  notebook_home        = "/home/ec2-user/SageMaker"
}

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    sid     = "SageMakerAssumesRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

# ------------------------------------------------------------------------------------------ training role
resource "aws_iam_role" "training" {
  name               = "${var.name_prefix}-sagemaker-training"
  description        = "Execution role of Linear Learner training jobs: reads training channels, writes model artifacts."
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "training" {
  statement {
    sid       = "ReadTrainingChannels"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.layout.training}*"]
  }

  statement {
    sid       = "ReadModels"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.layout.models}*"]
  }

  # New versions and job artifacts only: what serves is switched by promote/rollback (the CLI's caller).
  statement {
    sid       = "WriteModelVersionsAndJobArtifacts"
    actions   = ["s3:PutObject"]
    resources = local.model_write_resources
  }

  statement {
    sid       = "NeverTheServingPointer"
    effect    = "Deny"
    actions   = local.pointer_write_actions
    resources = [local.pointer_arn]
  }

  statement {
    sid       = "ListOnlyOurPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.layout.training}*", "${var.layout.models}*"]
    }
  }

  statement {
    sid       = "TrainingJobLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.training_log_group_arn, "${local.training_log_group_arn}:log-stream:*"]
  }

  statement {
    sid       = "TrainingJobMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it
    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*"]
    }
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource type
  }

  dynamic "statement" {
    for_each = local.linear_learner_repository_arn == null ? [] : [local.linear_learner_repository_arn]
    content {
      sid       = "PullLinearLearnerImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.bucket_kms_key_arn == null ? [] : [var.bucket_kms_key_arn]
    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "training" {
  name   = "linear-learner-training"
  role   = aws_iam_role.training.id
  policy = data.aws_iam_policy_document.training.json
}

# ------------------------------------------------------------------------------------------ notebook (optional)
resource "aws_s3_object" "notebook" {
  count = var.enable_notebook ? 1 : 0

  bucket                 = var.data_bucket_name
  key                    = var.notebook_s3_key
  source                 = local.notebook_source_path
  source_hash            = filemd5(local.notebook_source_path)
  content_type           = "application/x-ipynb+json"
  server_side_encryption = var.bucket_kms_key_arn == null ? "AES256" : "aws:kms"
  kms_key_id             = var.bucket_kms_key_arn
  tags                   = var.tags
}

resource "aws_iam_role" "notebook" {
  count = var.enable_notebook ? 1 : 0

  name               = "${var.name_prefix}-sagemaker-notebook"
  description        = "Role of the wildrydes notebook instance: query weather with Athena, start Linear Learner training jobs, publish models."
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "notebook" {
  statement {
    sid     = "ReadPipelineDataAndModels"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${var.layout.processed}*",
      "${local.bucket_arn}/${var.layout.weather}*",
      "${local.bucket_arn}/${var.layout.models}*",
      "${local.bucket_arn}/${var.notebook_s3_key}",
    ]
  }

  statement {
    sid     = "ReadWriteTrainingAndResults"
    actions = ["s3:GetObject", "s3:PutObject"]
    resources = [
      "${local.bucket_arn}/${var.layout.training}*",
      "${local.bucket_arn}/${var.layout.athena_results}*",
      "${local.bucket_arn}/${var.layout.tmp}*",
    ]
  }

  statement {
    sid       = "WriteModelVersionsAndJobArtifacts"
    actions   = ["s3:PutObject"]
    resources = local.model_write_resources
  }

  statement {
    sid       = "NeverTheServingPointer"
    effect    = "Deny"
    actions   = local.pointer_write_actions
    resources = [local.pointer_arn]
  }

  statement {
    sid       = "ListOnlyNeededPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.notebook_list_prefixes
    }
  }

  statement {
    sid       = "BucketRegion"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "StartAndWatchTrainingJobs"
    actions   = ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"]
    resources = ["arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:training-job/${var.name_prefix}-*"]
  }

  statement {
    sid       = "HandTrainingRoleToSageMaker"
    actions   = ["iam:PassRole"]
    resources = [local.training_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid       = "NotebookAndTrainingLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"]
    resources = [local.notebook_log_group_arn, "${local.notebook_log_group_arn}:log-stream:*", local.training_log_group_arn, "${local.training_log_group_arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = var.athena_workgroup_name == null ? [] : [var.athena_workgroup_name]
    content {
      sid       = "RunAthenaQueriesInOurWorkgroup"
      actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
      resources = ["arn:${local.partition}:athena:${local.region}:${local.account_id}:workgroup/${statement.value}"]
    }
  }

  dynamic "statement" {
    for_each = var.athena_workgroup_name == null ? [] : [var.ghcn_source_bucket]
    content {
      sid       = "ReadGhcnForAthena"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.value}", "arn:${local.partition}:s3:::${statement.value}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.glue_database_name == null ? [] : [var.glue_database_name]
    content {
      sid     = "ReadOurCatalog"
      actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
      resources = [
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${statement.value}",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${statement.value}/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = var.bucket_kms_key_arn == null ? [] : [var.bucket_kms_key_arn]
    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "notebook" {
  count = var.enable_notebook ? 1 : 0

  name   = "wildrydes-notebook"
  role   = aws_iam_role.notebook[0].id
  policy = data.aws_iam_policy_document.notebook.json
}

resource "aws_sagemaker_notebook_instance_lifecycle_configuration" "notebook" {
  count = var.enable_notebook ? 1 : 0

  name = "${var.name_prefix}-place-notebook"
  # On every start: fetch the current notebook from our bucket (copy, do not overwrite local edits).
  on_start = base64encode(templatefile("${path.module}/on_start.sh.tftpl", {
    notebook_uri  = "s3://${var.data_bucket_name}/${var.notebook_s3_key}"
    notebook_path = "${local.notebook_home}/${basename(var.notebook_s3_key)}"
    notebook_home = local.notebook_home
  }))
}

resource "aws_sagemaker_notebook_instance" "notebook" {
  count = var.enable_notebook ? 1 : 0

  name                   = "${var.name_prefix}-linear-learner"
  role_arn               = aws_iam_role.notebook[0].arn
  instance_type          = var.notebook_instance_type
  lifecycle_config_name  = aws_sagemaker_notebook_instance_lifecycle_configuration.notebook[0].name
  root_access            = "Disabled"
  subnet_id              = var.notebook_subnet_id
  security_groups        = var.notebook_subnet_id == null ? null : var.notebook_security_group_ids
  direct_internet_access = var.notebook_direct_internet_access ? "Enabled" : "Disabled"
  kms_key_id             = var.notebook_kms_key_arn
  tags                   = var.tags

  # IMDSv2 only: instance credentials cannot be read by a forged metadata request.
  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }

  depends_on = [aws_s3_object.notebook, aws_iam_role_policy.notebook]

  lifecycle {
    precondition {
      condition     = var.notebook_subnet_id == null || length(var.notebook_security_group_ids) > 0
      error_message = "notebook_security_group_ids must name at least one security group when notebook_subnet_id is set."
    }
    precondition {
      condition     = var.notebook_direct_internet_access || var.notebook_subnet_id != null
      error_message = "Without direct internet access (notebook_direct_internet_access = false, the default) the notebook needs notebook_subnet_id."
    }
  }
}

# Optional record of what serves in SageMaker's Model Registry (src/wildrydes/training/model_package.py): the
# newest Approved package in it is the version the S3 pointer names. Written by the promote path (the CLI's
# caller), never by the training or notebook roles.
resource "aws_sagemaker_model_package_group" "models" {
  count = var.model_package_group_enabled ? 1 : 0

  model_package_group_name        = "${var.name_prefix}-linear-learner"
  model_package_group_description = "WildRydes linear-learner versions promoted to serve; the newest Approved package is the one the API serves."
  tags                            = var.tags
}
