variable "name_prefix" {
  description = "Prefix of the bucket name; the bucket is <name_prefix>-data-<account id>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "bucket_name" {
  description = "Explicit bucket name; null derives <name_prefix>-data-<account id> (one STS call at plan time)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be null or a valid S3 bucket name (3-63 chars of a-z, 0-9, '.', '-')."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket with its objects (demos and tests only)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key ARN for default encryption (SSE-KMS with a bucket key); null means SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "quarantine_expiration_days" {
  description = "Days after which objects under quarantine/ expire."
  type        = number
  default     = 90

  validation {
    condition     = var.quarantine_expiration_days >= 1 && floor(var.quarantine_expiration_days) == var.quarantine_expiration_days
    error_message = "quarantine_expiration_days must be a whole number >= 1."
  }
}

variable "tmp_expiration_days" {
  description = "Days after which objects under tmp/ expire."
  type        = number
  default     = 7

  validation {
    condition     = var.tmp_expiration_days >= 1 && floor(var.tmp_expiration_days) == var.tmp_expiration_days
    error_message = "tmp_expiration_days must be a whole number >= 1."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which objects under athena-results/ expire."
  type        = number
  default     = 30

  validation {
    condition     = var.athena_results_expiration_days >= 1 && floor(var.athena_results_expiration_days) == var.athena_results_expiration_days
    error_message = "athena_results_expiration_days must be a whole number >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which non-current object versions (overwritten or deleted) expire."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number >= 1."
  }
}

variable "ingest_notification_enabled" {
  description = "Send ObjectCreated events for every object under <raw_prefix> to the ingest function (it reads .json, .jsonl, .ndjson, optionally .gz, any case, and writes an UNSUPPORTED_OBJECT manifest for anything else). Needs ingest_function_arn and ingest_function_name."
  type        = bool
  default     = true
}

variable "ingest_function_arn" {
  description = "ARN of the ingest Lambda function the raw/ notification invokes (null when the notification is disabled)."
  type        = string
  default     = null

  validation {
    condition     = var.ingest_function_arn == null || can(regex("^arn:aws[a-z-]*:lambda:", var.ingest_function_arn))
    error_message = "ingest_function_arn must be null or a Lambda function ARN."
  }
}

variable "ingest_function_name" {
  description = "Name of the ingest Lambda function (for the permission that lets S3 invoke it)."
  type        = string
  default     = null
}

variable "raw_prefix" {
  description = "Key prefix whose .json uploads trigger ingest."
  type        = string
  default     = "raw/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.=-]+/$", var.raw_prefix))
    error_message = "raw_prefix must be one path segment ending in '/', e.g. raw/."
  }
}

variable "tags" {
  description = "Tags for the bucket (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
