variable "name_prefix" {
  description = "Prefix of every name: function `<name_prefix>-<name>`, role `...-lambda`, policies `...-data-access` / `...-own-logs`, log group `/aws/lambda/<function>`, POWERTOOLS_SERVICE_NAME `<name_prefix>-<name>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "name" {
  description = "Short name of the function (ingest, inference, ...): the <function> in every name. A variable of its own so the role and log group depend on nothing the function's environment waits for (they are created in parallel with the queues)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "function" {
  description = "The function: description, zip_path (built by `make package`; source_code_hash follows the file) and optional knobs. The calling module validates the ranges it allows (memory, timeout, runtime, architectures); reserved_concurrency null = unreserved; environment is merged over POWERTOOLS_SERVICE_NAME; dead_letter_target_arn only for asynchronously invoked functions; snap_start publishes a version on each change (SnapStart restores published versions only)."
  type = object({
    description            = string
    zip_path               = string
    handler                = optional(string, "handler.lambda_handler")
    runtime                = optional(string, "python3.13")
    architectures          = optional(list(string), ["x86_64"])
    memory_mb              = optional(number, 256)
    timeout_seconds        = optional(number, 30)
    reserved_concurrency   = optional(number)
    environment            = optional(map(string), {})
    layers                 = optional(list(string), [])
    tracing_mode           = optional(string, "PassThrough")
    dead_letter_target_arn = optional(string)
    snap_start             = optional(bool, false)
  })

  validation {
    condition     = contains(["PassThrough", "Active"], var.function.tracing_mode)
    error_message = "function.tracing_mode must be PassThrough or Active."
  }
}

variable "data_access_policy_json" {
  description = "The function's data-access policy (an aws_iam_policy_document's json, written by the calling module: what this function's code calls). Attached to the role as `<name_prefix>-<function>-data-access` before the function is created."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (the calling module validates the values CloudWatch Logs accepts)."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group; null uses CloudWatch Logs' default encryption."
  type        = string
  default     = null
}

variable "account_id" {
  description = "AWS account id: when set, the own-logs policy names the log group by an ARN built at plan time; null takes the log group's ARN (known after apply), so plans never need an STS call."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", coalesce(var.account_id, "000000000000")))
    error_message = "account_id must be null or a 12-digit AWS account id."
  }
}

variable "tags" {
  description = "Tags for the function, role and log group (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
