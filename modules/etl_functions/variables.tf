# ---------------------------------------------------------------------------- naming and code
variable "name_prefix" {
  description = "Prefix of function, role, log group, alarm and dashboard names (<name_prefix>-ingest, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

# ---------------------------------------------------------------------------- what the functions touch
variable "data_bucket_name" {
  description = "Name of the data bucket (DATA_BUCKET)."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket; IAM grants are scoped to prefixes under it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.data_bucket_arn))
    error_message = "data_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::name)."
  }
}

variable "data_bucket_kms_key_arn" {
  description = "KMS key ARN of the data bucket's SSE-KMS encryption (the roles get encrypt/decrypt on it); null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.data_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.data_bucket_kms_key_arn))
    error_message = "data_bucket_kms_key_arn must be null or a KMS key ARN."
  }
}


variable "functions" {
  description = "Per-function package and knobs, keys ingest, enrich, writer: zip_path (built by `make package`), memory_mb (128-10240), timeout_seconds (1-900; keep each queue's visibility timeout >= 6x its consumer's), reserved_concurrency (null = unreserved, else >= 0) and extra environment variables (override the module's own)."
  type = object({
    ingest = object({
      zip_path             = string
      memory_mb            = optional(number, 256)
      timeout_seconds      = optional(number, 300)
      reserved_concurrency = optional(number)
      environment          = optional(map(string), {})
    })
    enrich = object({
      zip_path             = string
      memory_mb            = optional(number, 256)
      timeout_seconds      = optional(number, 30)
      reserved_concurrency = optional(number)
      environment          = optional(map(string), {})
    })
    writer = object({
      zip_path             = string
      memory_mb            = optional(number, 256)
      timeout_seconds      = optional(number, 30)
      reserved_concurrency = optional(number)
      environment          = optional(map(string), {})
    })
  })

  validation {
    condition     = alltrue([for f in values(var.functions) : endswith(f.zip_path, ".zip")])
    error_message = "Every functions.<name>.zip_path must name a .zip file."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.memory_mb >= 128 && f.memory_mb <= 10240])
    error_message = "Every functions.<name>.memory_mb must be from 128 to 10240."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.timeout_seconds >= 1 && f.timeout_seconds <= 900])
    error_message = "Every functions.<name>.timeout_seconds must be from 1 to 900."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.reserved_concurrency == null ? true : f.reserved_concurrency >= 0])
    error_message = "Reserved concurrency values must be >= 0 (or null)."
  }
}

variable "queues" {
  description = "The queues module's `queues` output, taken whole: ingest and groundstation (arn, url, name, dlq_arn, dlq_name, dlq_retention_seconds) and ingest_events (the S3-events DLQ: arn, url, name, retention_seconds). Retentions bound dlq_max_message_age_seconds (null: 14 days)."
  type = object({
    ingest = object({
      arn                   = string
      url                   = string
      name                  = string
      dlq_arn               = string
      dlq_name              = string
      dlq_retention_seconds = optional(number)
    })
    groundstation = object({
      arn                   = string
      url                   = string
      name                  = string
      dlq_arn               = string
      dlq_name              = string
      dlq_retention_seconds = optional(number)
    })
    ingest_events = object({
      arn               = string
      url               = string
      name              = string
      retention_seconds = optional(number)
    })
  })
}

variable "layout" {
  description = "The storage module's `layout` output (bucket key prefixes); IAM is scoped to exactly the prefixes the functions use."
  type = object({
    raw        = string
    quarantine = string
    manifests  = string
    processed  = string
  })
}

# ---------------------------------------------------------------------------- behaviour
variable "rides_per_message" {
  description = "RIDES_PER_MESSAGE of ingest: rides packed into one SQS message (1 = one ride per message, the workshop baseline)."
  type        = number
  default     = 2500

  validation {
    condition     = var.rides_per_message >= 1 && var.rides_per_message <= 10000 && floor(var.rides_per_message) == var.rides_per_message
    error_message = "rides_per_message must be a whole number from 1 to 10000."
  }
}

variable "max_station_distance_miles" {
  description = "MAX_STATION_DISTANCE_MILES of enrich: rides farther than this from every ground station are quarantined as NO_STATION_IN_RANGE; null = no limit (the workshop's semantics: every ride gets its nearest station)."
  type        = number
  default     = null

  validation {
    condition     = var.max_station_distance_miles == null ? true : var.max_station_distance_miles > 0
    error_message = "max_station_distance_miles must be null (no limit) or a positive number of miles."
  }
}

variable "writer_mode" {
  description = "WRITER_MODE of writer: batched (one CSV per message and ride date) or per_ride (one object per ride, benchmark baseline)."
  type        = string
  default     = "batched"

  validation {
    condition     = contains(["batched", "per_ride"], var.writer_mode)
    error_message = "writer_mode must be batched or per_ride."
  }
}

variable "sqs_batch_size" {
  description = "Maximum messages per invocation of enrich and writer (event source mappings)."
  type        = number
  default     = 10

  validation {
    condition     = var.sqs_batch_size >= 1 && var.sqs_batch_size <= 10000 && floor(var.sqs_batch_size) == var.sqs_batch_size
    error_message = "sqs_batch_size must be a whole number from 1 to 10000."
  }
}

variable "sqs_batching_window_seconds" {
  description = "Seconds the event source mappings wait to fill a batch (must be >= 1 when sqs_batch_size > 10)."
  type        = number
  default     = 1

  validation {
    condition     = var.sqs_batching_window_seconds >= 0 && var.sqs_batching_window_seconds <= 300
    error_message = "sqs_batching_window_seconds must be from 0 to 300."
  }
}

variable "sqs_maximum_concurrency" {
  description = "Maximum concurrent invocations each SQS event source mapping drives (2-1000); null = no limit."
  type        = number
  default     = null

  validation {
    condition     = var.sqs_maximum_concurrency == null ? true : (var.sqs_maximum_concurrency >= 2 && var.sqs_maximum_concurrency <= 1000)
    error_message = "sqs_maximum_concurrency must be null or from 2 to 1000."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the functions: PassThrough (trace only when the caller does) or Active."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the functions' Powertools logger."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

# ---------------------------------------------------------------------------- observability
variable "log_retention_days" {
  description = "Retention of the functions' log groups (days; one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key ARN for the log groups; null uses CloudWatch Logs' default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "dlq_alarm_threshold" {
  description = "An alarm fires when a dead-letter queue holds more than this many messages."
  type        = number
  default     = 0

  validation {
    condition     = var.dlq_alarm_threshold >= 0
    error_message = "dlq_alarm_threshold must be >= 0."
  }
}

variable "alarm_topic_enabled" {
  description = "Create the SNS topic every alarm notifies (<name_prefix>-etl-alarms, KMS-encrypted). false: no topic, alarms without actions."
  type        = bool
  default     = true
}

variable "alarm_topic_kms_key_arn" {
  description = "Customer-managed KMS key for the alarm topic; null creates one whose policy lets CloudWatch alarms publish (the AWS-managed aws/sns key cannot be used: its policy does not)."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.alarm_topic_kms_key_arn))
    error_message = "alarm_topic_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each confirms by mail first). Needs alarm_topic_enabled."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses (name@domain.tld)."
  }
  validation {
    condition     = length(distinct(var.alarm_emails)) == length(var.alarm_emails)
    error_message = "alarm_emails must not repeat an address."
  }
}

variable "dlq_max_message_age_seconds" {
  description = "An alarm fires when the oldest message of a dead-letter queue is older than this (seconds); default one day, well before the DLQs' 14-day retention. Must be below the DLQs' retention."
  type        = number
  default     = 86400

  validation {
    condition     = var.dlq_max_message_age_seconds >= 60 && var.dlq_max_message_age_seconds < 1209600 && floor(var.dlq_max_message_age_seconds) == var.dlq_max_message_age_seconds
    error_message = "dlq_max_message_age_seconds must be a whole number of seconds from 60 to below 1209600 (SQS's maximum retention, 14 days)."
  }
}

variable "function_errors_alarm_threshold" {
  description = "An alarm fires when a function has more than this many failed invocations in 5 minutes."
  type        = number
  default     = 0

  validation {
    condition     = var.function_errors_alarm_threshold >= 0
    error_message = "function_errors_alarm_threshold must be >= 0."
  }
}

variable "function_throttles_alarm_threshold" {
  description = "An alarm fires when a function is throttled more than this many times in 5 minutes."
  type        = number
  default     = 0

  validation {
    condition     = var.function_throttles_alarm_threshold >= 0
    error_message = "function_throttles_alarm_threshold must be >= 0."
  }
}

variable "ingest_duration_alarm_fraction" {
  description = "An alarm fires when an ingest run (5-minute Maximum of Duration) takes more than this fraction of ingest's timeout."
  type        = number
  default     = 0.8

  validation {
    condition     = var.ingest_duration_alarm_fraction > 0 && var.ingest_duration_alarm_fraction < 1
    error_message = "ingest_duration_alarm_fraction must be between 0 and 1 (exclusive)."
  }
}

variable "tags" {
  description = "Tags for the module's resources (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "runtime" {
  description = "Lambda runtime of the functions. python3.13 is supported until 2029-06-30 (docs/runtime.md); python3.12 also works."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13 (the packages are built for python3.13 by default)."
  }
}

variable "architectures" {
  description = "Instruction set of the functions: [\"x86_64\"] (default) or [\"arm64\"] (every pinned wheel exists for both)."
  type        = list(string)
  default     = ["x86_64"]

  validation {
    condition     = length(var.architectures) == 1 && contains(["x86_64", "arm64"], var.architectures[0])
    error_message = "architectures must be exactly one of [\"x86_64\"] or [\"arm64\"]."
  }
}
