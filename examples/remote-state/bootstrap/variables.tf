variable "state_bucket_name" {
  description = "Name of the S3 bucket that will hold Terraform state (globally unique, 3-63 characters of a-z, 0-9, '.' and '-')."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "aws_region" {
  description = "Region of the state bucket (the backend's `region`)."
  type        = string
  default     = "us-east-1"
}

variable "kms_key_arn" {
  description = "KMS key ARN for the state bucket's default encryption; null uses SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days a superseded state version is kept (the history you can roll back to)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its state inside (tests only; keep false)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags on the state bucket."
  type        = map(string)
  default     = {}
}
