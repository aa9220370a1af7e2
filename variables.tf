# ---------------------------------------------------------------------------- general
variable "name_prefix" {
  description = "Prefix of every resource name (bucket, queues, functions, roles): 3-24 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-' (validated by the modules, one rule)."
  type        = string
  default     = "wildrydes"
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "tags" {
  description = "Extra tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------- storage
variable "data_bucket_name" {
  description = "Explicit name of the data bucket; null derives <name_prefix>-data-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.data_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be null or a valid S3 bucket name."
  }
}

variable "data_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the data bucket even when it holds objects (demos and tests only)."
  type        = bool
  default     = false
}

variable "data_bucket_kms_key_arn" {
  description = "KMS key ARN for the data bucket's default encryption; null uses SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.data_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.data_bucket_kms_key_arn))
    error_message = "data_bucket_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "quarantine_expiration_days" {
  description = "Days after which quarantined records expire from the data bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.quarantine_expiration_days >= 1 && floor(var.quarantine_expiration_days) == var.quarantine_expiration_days
    error_message = "quarantine_expiration_days must be a whole number >= 1."
  }
}

variable "tmp_expiration_days" {
  description = "Days after which scratch objects under tmp/ expire."
  type        = number
  default     = 7

  validation {
    condition     = var.tmp_expiration_days >= 1 && floor(var.tmp_expiration_days) == var.tmp_expiration_days
    error_message = "tmp_expiration_days must be a whole number >= 1."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results under athena-results/ expire."
  type        = number
  default     = 30

  validation {
    condition     = var.athena_results_expiration_days >= 1 && floor(var.athena_results_expiration_days) == var.athena_results_expiration_days
    error_message = "athena_results_expiration_days must be a whole number >= 1."
  }
}

# ---------------------------------------------------------------------------- queues
variable "queue_max_receive_count" {
  description = "Receives of a message before SQS moves it to the queue's dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.queue_max_receive_count >= 1 && var.queue_max_receive_count <= 1000 && floor(var.queue_max_receive_count) == var.queue_max_receive_count
    error_message = "queue_max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "queue_visibility_timeout_multiplier" {
  description = "Queue visibility timeout as a multiple of its consumer function's timeout (AWS recommends at least 6)."
  type        = number
  default     = 6

  validation {
    condition     = var.queue_visibility_timeout_multiplier >= 6
    error_message = "queue_visibility_timeout_multiplier must be >= 6."
  }
}

# ---------------------------------------------------------------------------- ETL functions
variable "lambda_build_dir" {
  description = "Folder holding ingest.zip, enrich.zip and writer.zip built by `make package`; null means <root>/build."
  type        = string
  default     = null
}

variable "ingest_memory_mb" {
  description = "Memory of the ingest function (MB). Lambda gives CPU in proportion (MB/1769 of a vCPU) and ingest is CPU-bound (~35 s of CPU per 1M rides), so this sets the largest file it ingests within its timeout: 1024 MB handles 1M rides in about a quarter of the 300 s default (docs/design.md \"Large files\"). GB-seconds per ride barely change with it (CPU-bound work finishes proportionally sooner); memory use itself stays far below."
  type        = number
  default     = 1024

  validation {
    condition     = var.ingest_memory_mb >= 128 && var.ingest_memory_mb <= 10240
    error_message = "ingest_memory_mb must be from 128 to 10240."
  }
}

variable "ingest_timeout_seconds" {
  description = "Timeout of the ingest function (seconds)."
  type        = number
  default     = 300

  validation {
    condition     = var.ingest_timeout_seconds >= 1 && var.ingest_timeout_seconds <= 900
    error_message = "ingest_timeout_seconds must be from 1 to 900 (the Lambda maximum)."
  }
}

variable "enrich_memory_mb" {
  description = "Memory of the enrich function (MB)."
  type        = number
  default     = 256

  validation {
    condition     = var.enrich_memory_mb >= 128 && var.enrich_memory_mb <= 10240
    error_message = "enrich_memory_mb must be from 128 to 10240."
  }
}

variable "enrich_timeout_seconds" {
  description = "Timeout of the enrich function (seconds); the ingest queue's visibility timeout follows it."
  type        = number
  default     = 30

  validation {
    condition     = var.enrich_timeout_seconds >= 1 && var.enrich_timeout_seconds <= 900
    error_message = "enrich_timeout_seconds must be from 1 to 900 (the Lambda maximum)."
  }
}

variable "writer_memory_mb" {
  description = "Memory of the writer function (MB)."
  type        = number
  default     = 256

  validation {
    condition     = var.writer_memory_mb >= 128 && var.writer_memory_mb <= 10240
    error_message = "writer_memory_mb must be from 128 to 10240."
  }
}

variable "writer_timeout_seconds" {
  description = "Timeout of the writer function (seconds); the ground-station queue's visibility timeout follows it."
  type        = number
  default     = 30

  validation {
    condition     = var.writer_timeout_seconds >= 1 && var.writer_timeout_seconds <= 900
    error_message = "writer_timeout_seconds must be from 1 to 900 (the Lambda maximum)."
  }
}

variable "rides_per_message" {
  description = "Rides the ingest function packs into one SQS message (1 = the workshop's one-ride-per-message baseline)."
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

variable "sqs_batch_size" {
  description = "Messages per invocation for the enrich and writer event source mappings."
  type        = number
  default     = 10

  validation {
    condition     = var.sqs_batch_size >= 1 && var.sqs_batch_size <= 10000 && floor(var.sqs_batch_size) == var.sqs_batch_size
    error_message = "sqs_batch_size must be a whole number from 1 to 10000."
  }
}

variable "sqs_batching_window_seconds" {
  description = "Seconds the enrich and writer event source mappings wait to fill a batch."
  type        = number
  default     = 1

  validation {
    condition     = var.sqs_batching_window_seconds >= 0 && var.sqs_batching_window_seconds <= 300
    error_message = "sqs_batching_window_seconds must be from 0 to 300."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups (days)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL for the functions (Powertools logger)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "alarm_topic_enabled" {
  description = "Create the SNS topic every alarm (ETL and inference) notifies, KMS-encrypted with a key made for it. false: no topic, alarms without actions."
  type        = bool
  default     = true
}

variable "alarm_topic_kms_key_arn" {
  description = "Customer-managed KMS key for the alarm topic (its policy must let cloudwatch.amazonaws.com use it); null creates one."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.alarm_topic_kms_key_arn))
    error_message = "alarm_topic_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each gets a confirmation mail first). Needs alarm_topic_enabled."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses (name@domain.tld)."
  }
}

variable "dlq_max_message_age_seconds" {
  description = "Alarm when the oldest message of a dead-letter queue is older than this (seconds): one day by default, well before the DLQs' 14-day retention, after which SQS deletes it."
  type        = number
  default     = 86400

  validation {
    condition     = var.dlq_max_message_age_seconds >= 60 && var.dlq_max_message_age_seconds < 1209600 && floor(var.dlq_max_message_age_seconds) == var.dlq_max_message_age_seconds
    error_message = "dlq_max_message_age_seconds must be a whole number from 60 to below 1209600 (the DLQs' 14-day retention)."
  }
}

variable "ingest_duration_alarm_fraction" {
  description = "Alarm when an ingest run takes more than this fraction of ingest_timeout_seconds (a larger file would time out)."
  type        = number
  default     = 0.8

  validation {
    condition     = var.ingest_duration_alarm_fraction > 0 && var.ingest_duration_alarm_fraction < 1
    error_message = "ingest_duration_alarm_fraction must be between 0 and 1 (exclusive)."
  }
}

# ---------------------------------------------------------------------------- weather (Athena)
variable "ghcn_source_bucket" {
  description = "Bucket holding NOAA GHCN-D (parquet/by_year/, csv/by_year/); a mirror or test bucket can stand in."
  type        = string
  default     = "noaa-ghcn-pds"
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Athena cancels queries in the project workgroup that scan more bytes than this (minimum 10 MB)."
  type        = number
  default     = 10737418240
}

variable "athena_create_named_queries" {
  description = "Create the Athena named queries from sql/. Set false on moto (no DeleteNamedQuery, so destroy would fail)."
  type        = bool
  default     = true
}

variable "weather_years" {
  description = "Years the reduction named query covers (the years the rides span)."
  type        = list(number)
  default     = [2017]
}

# ---------------------------------------------------------------------------- training (SageMaker)
variable "enable_sagemaker_notebook" {
  description = "Create the SageMaker notebook instance with notebooks/linear_learner.ipynb on it (costs money while running)."
  type        = bool
  default     = false
}

variable "sagemaker_model_package_group_enabled" {
  description = "Create a SageMaker Model Package Group that `wildrydes models promote|rollback` mirror the serving model version in (given its name, output model_package_group_name). Off by default: the API serves from the S3 pointer; the group is an optional record."
  type        = bool
  default     = false
}

variable "sagemaker_notebook_direct_internet_access" {
  description = "Give the notebook instance direct internet access. Off by default; the notebook then needs a subnet (modules/sagemaker notebook_subnet_id), so enabling the notebook from this root module requires setting this to true."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------- inference API
variable "inference_engine" {
  description = "Scoring engine of the inference function: mxnet (with the MXNet layer) or numpy (no layer)."
  type        = string
  default     = "mxnet"
}

variable "inference_memory_mb" {
  description = "Memory of the inference function (MXNet needs ~140 MB RSS; 512 default)."
  type        = number
  default     = 512
}

variable "inference_timeout_seconds" {
  description = "Timeout of the inference function (seconds)."
  type        = number
  default     = 30
}

variable "inference_reserved_concurrency" {
  description = "Reserved concurrent executions of the inference function; null = unreserved (reserving fails on accounts with the default 10-execution quota)."
  type        = number
  default     = null

  validation {
    condition     = var.inference_reserved_concurrency == null || try(var.inference_reserved_concurrency >= 1 && floor(var.inference_reserved_concurrency) == var.inference_reserved_concurrency, false)
    error_message = "inference_reserved_concurrency must be null or a whole number >= 1."
  }
}

variable "inference_model_recheck_seconds" {
  description = "How often (at most) the function re-reads the serving pointer (a promote or rollback is live within this time; also the retry interval while no good model is loaded)."
  type        = number
  default     = 60
}

variable "inference_throttle_rate_limit" {
  description = "API usage plan rate limit (requests per second per key)."
  type        = number
  default     = 20
}

variable "inference_throttle_burst_limit" {
  description = "API usage plan burst limit (requests per key)."
  type        = number
  default     = 40
}

variable "inference_quota_limit" {
  description = "API usage plan quota (requests per key per inference_quota_period)."
  type        = number
  default     = 100000
}

variable "inference_quota_period" {
  description = "API usage plan quota period: DAY, WEEK or MONTH."
  type        = string
  default     = "DAY"
}

variable "inference_cors_allowed_origins" {
  description = "Browser origins allowed to call the inference API (CORS), e.g. [\"https://app.example.com\"]; [\"*\"] allows any. Empty (default) = CORS off."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for origin in var.inference_cors_allowed_origins : origin == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin))
    ])
    error_message = "inference_cors_allowed_origins entries must be \"*\" or scheme://host[:port] with no path or trailing slash."
  }

  validation {
    condition     = !contains(var.inference_cors_allowed_origins, "*") || length(var.inference_cors_allowed_origins) == 1
    error_message = "inference_cors_allowed_origins: \"*\" already allows every origin; give it alone."
  }
}

variable "inference_json_body_validation" {
  description = "Validate application/json bodies at API Gateway (model generated from openapi.yaml) before the function runs. The local test stack and the demo turn it off: LocalStack 4.x applies the JSON model to text/csv and JSON Lines bodies too."
  type        = bool
  default     = true
}

variable "inference_log_retention_days" {
  description = "Retention (days) of the inference function's and the API's access log groups (a year by default: API access is audit data)."
  type        = number
  default     = 365
}

variable "inference_alarm_period_seconds" {
  description = "Period of the inference alarms and dashboard widgets, in seconds (10 or 30 are high-resolution periods; the LocalStack integration tests use 10 to see an alarm fire in seconds)."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 30, 60, 300, 900, 3600], var.inference_alarm_period_seconds)
    error_message = "inference_alarm_period_seconds must be 10, 30, 60, 300, 900 or 3600."
  }
}

variable "inference_alarm_evaluation_periods" {
  description = "Consecutive periods over the threshold before an inference alarm fires (3 by default: one bad minute is not a page)."
  type        = number
  default     = 3

  validation {
    condition     = var.inference_alarm_evaluation_periods >= 1 && var.inference_alarm_evaluation_periods <= 100 && floor(var.inference_alarm_evaluation_periods) == var.inference_alarm_evaluation_periods
    error_message = "inference_alarm_evaluation_periods must be a whole number between 1 and 100."
  }
}

variable "manage_api_gateway_account" {
  description = "Manage the region-wide API Gateway CloudWatch role (needed for access logging); false if another stack owns it."
  type        = bool
  default     = true
}

variable "local_endpoint" {
  description = "LocalStack gateway base URL (e.g. http://localhost:4566) to make inference_invoke_url a DNS-free local URL; null on AWS."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------- runtime (all functions)
variable "lambda_runtime" {
  description = "Lambda runtime of every function and of the MXNet layer (python3.13 is supported until 2029-06-30; see docs/runtime.md)."
  type        = string
  default     = "python3.13"
}

variable "lambda_architectures" {
  description = "Instruction set of every function and the layer: [\"x86_64\"] (default) or [\"arm64\"]. Plan-level only here: the local executor runs x86_64."
  type        = list(string)
  default     = ["x86_64"]
}

variable "inference_snapstart_enabled" {
  description = "Lambda SnapStart for the inference function (publishes a version per change; API Gateway invokes the `live` alias)."
  type        = bool
  default     = false
}
