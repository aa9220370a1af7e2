variable "name_prefix" {
  description = "Prefix for every named resource (roles, notebook). Lower-case letters, digits and hyphens."
  type        = string
  default     = "wildrydes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "data_bucket_name" {
  description = "Name of the project's data bucket (training channels, model output, published models)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be a valid S3 bucket name."
  }
}

variable "bucket_kms_key_arn" {
  description = "KMS key ARN the data bucket encrypts with (SSE-KMS). When set, the roles may use it for these objects; null for SSE-S3 buckets."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.bucket_kms_key_arn))
    error_message = "bucket_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "linear_learner_image_accounts" {
  description = "Region -> AWS account that hosts the SageMaker built-in Linear Learner image (<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1). Extend for other regions from the SageMaker SDK's image_uri_config/linear-learner.json."
  type        = map(string)
  default = {
    "us-east-1"      = "382416733822"
    "us-east-2"      = "404615174143"
    "us-west-1"      = "632365934929"
    "us-west-2"      = "174872318107"
    "eu-west-1"      = "438346466558"
    "eu-central-1"   = "664544806723"
    "ap-northeast-1" = "351501993468"
    "ap-southeast-2" = "712309505854"
  }

  validation {
    condition     = alltrue([for r, a in var.linear_learner_image_accounts : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r)) && can(regex("^[0-9]{12}$", a))])
    error_message = "linear_learner_image_accounts must map region names (e.g. us-east-1) to 12-digit account ids."
  }
}

variable "linear_learner_image_tag" {
  description = "Tag of the Linear Learner image."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.linear_learner_image_tag))
    error_message = "linear_learner_image_tag must be a valid image tag."
  }
}

variable "enable_notebook" {
  description = "Create a SageMaker notebook instance (with its own role and a lifecycle config that copies notebooks/linear_learner.ipynb onto it). Off by default: it costs money while running."
  type        = bool
  default     = false
}

variable "notebook_instance_type" {
  description = "Instance type of the optional notebook instance."
  type        = string
  default     = "ml.t3.medium"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.notebook_instance_type))
    error_message = "notebook_instance_type must be a SageMaker instance type such as ml.t3.medium."
  }
}

variable "notebook_source_path" {
  description = "Local path of the notebook to upload and place on the instance; defaults to the repository's notebooks/linear_learner.ipynb."
  type        = string
  default     = null
}

variable "notebook_s3_key" {
  description = "Key in the data bucket where the notebook is uploaded and where the lifecycle config fetches it from."
  type        = string
  default     = "notebooks/linear_learner.ipynb"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./-]+\\.ipynb$", var.notebook_s3_key))
    error_message = "notebook_s3_key must be a relative key ending in .ipynb."
  }
}

variable "notebook_subnet_id" {
  description = "Subnet for the notebook instance (required unless notebook_direct_internet_access is true); reach S3/SageMaker/Athena through VPC endpoints or a NAT."
  type        = string
  default     = null

  validation {
    condition     = var.notebook_subnet_id == null || can(regex("^subnet-[0-9a-f]+$", var.notebook_subnet_id))
    error_message = "notebook_subnet_id must be null or a subnet id (subnet-...)."
  }
}

variable "notebook_security_group_ids" {
  description = "Security groups for the notebook instance (required with notebook_subnet_id)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for g in var.notebook_security_group_ids : can(regex("^sg-[0-9a-f]+$", g))])
    error_message = "notebook_security_group_ids must be security group ids (sg-...)."
  }
}

variable "notebook_kms_key_arn" {
  description = "KMS key that encrypts the notebook's storage volume; null uses the SageMaker-managed key."
  type        = string
  default     = null

  validation {
    condition     = var.notebook_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.notebook_kms_key_arn))
    error_message = "notebook_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "athena_workgroup_name" {
  description = "Athena workgroup the notebook may run queries in (from modules/athena); null grants no Athena access."
  type        = string
  default     = null
}

variable "glue_database_name" {
  description = "Glue database the notebook may read table definitions from (from modules/athena); null grants no Glue access."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

variable "ghcn_source_bucket" {
  description = "Bucket Athena reads GHCN-D from on the notebook's behalf (Athena uses the caller's S3 permissions)."
  type        = string
  default     = "noaa-ghcn-pds"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.ghcn_source_bucket))
    error_message = "ghcn_source_bucket must be a valid S3 bucket name."
  }
}

variable "account_id" {
  description = "AWS account id used in the IAM policy ARNs. Optional: null takes it from resources this module creates (known after apply), so plans never need an STS call; set it to see the full policies at plan time."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", coalesce(var.account_id, "000000000000")))
    error_message = "account_id must be null or a 12-digit AWS account id."
  }
}

variable "layout" {
  description = "The storage module's `layout` output (bucket key prefixes and model keys). Training jobs read the training prefix, read models and write only new model versions and job artifacts (model_versions, model_jobs), never the serving pointer (model_pointer_key); the notebook also reads processed and weather and uses athena_results and tmp."
  type = object({
    processed         = string
    weather           = string
    training          = string
    models            = string
    model_versions    = string
    model_jobs        = string
    model_pointer_key = string
    athena_results    = string
    tmp               = string
  })
}

variable "notebook_direct_internet_access" {
  description = "Give the notebook instance direct internet access (SageMaker-managed network). Off by default: the notebook then needs notebook_subnet_id (and security groups) and reaches S3/SageMaker/Athena through VPC endpoints or a NAT."
  type        = bool
  default     = false
}

variable "model_package_group_enabled" {
  description = "Create a SageMaker Model Package Group that `wildrydes models promote|rollback` (and `train --publish`) mirror the serving model version in, when given its name (--model-package-group or WILDRYDES_MODEL_PACKAGE_GROUP). Off by default: the S3 serving pointer is what the API serves from; the group is an optional record for SageMaker's Model Registry."
  type        = bool
  default     = false
}
