variable "name_prefix" {
  description = "Prefix of the queue names (<name_prefix>-ingest, <name_prefix>-groundstation, and their -dlq)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "ingest_consumer_timeout_seconds" {
  description = "Timeout of the function consuming the ingest queue (enrich); the visibility timeout is this times visibility_timeout_multiplier."
  type        = number

  validation {
    condition     = var.ingest_consumer_timeout_seconds >= 1 && var.ingest_consumer_timeout_seconds <= 900 && floor(var.ingest_consumer_timeout_seconds) == var.ingest_consumer_timeout_seconds
    error_message = "ingest_consumer_timeout_seconds must be a whole number from 1 to 900 (the Lambda maximum)."
  }
}

variable "groundstation_consumer_timeout_seconds" {
  description = "Timeout of the function consuming the ground-station queue (writer); the visibility timeout is this times visibility_timeout_multiplier."
  type        = number

  validation {
    condition     = var.groundstation_consumer_timeout_seconds >= 1 && var.groundstation_consumer_timeout_seconds <= 900 && floor(var.groundstation_consumer_timeout_seconds) == var.groundstation_consumer_timeout_seconds
    error_message = "groundstation_consumer_timeout_seconds must be a whole number from 1 to 900 (the Lambda maximum)."
  }
}

variable "visibility_timeout_multiplier" {
  description = "Visibility timeout as a multiple of the consumer's timeout. AWS advises >= 6 so that retries of a throttled or slow batch do not make messages visible again while still in flight."
  type        = number
  default     = 6

  validation {
    condition     = var.visibility_timeout_multiplier >= 6 && floor(var.visibility_timeout_multiplier) == var.visibility_timeout_multiplier
    error_message = "visibility_timeout_multiplier must be a whole number >= 6."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the work queues keep a message (seconds)."
  type        = number
  default     = 345600 # 4 days

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queues keep a message (seconds); longer than the work queues so failures can be inspected and redriven."
  type        = number
  default     = 1209600 # 14 days, the SQS maximum

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "kms_master_key_id" {
  description = "KMS key (id, ARN or alias) for SQS encryption; null uses SQS-managed SSE (SSE-SQS)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the queues (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
