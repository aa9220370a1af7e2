variable "name_prefix" {
  description = "Prefix for every named resource (function, layer, role, API, log groups). Lower-case letters, digits and hyphens."
  type        = string
  default     = "wildrydes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "data_bucket_name" {
  description = "The data bucket: the layer zip is staged under artifacts/ and the model is read from models/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be a valid S3 bucket name."
  }
}

variable "data_bucket_kms_key_arn" {
  description = "KMS key of the data bucket when it uses SSE-KMS (the function may then decrypt model objects); null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.data_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.data_bucket_kms_key_arn))
    error_message = "data_bucket_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "function_zip_path" {
  description = "Path of the inference function zip built by `make package` (build/inference.zip)."
  type        = string

  validation {
    condition     = endswith(var.function_zip_path, ".zip")
    error_message = "function_zip_path must point at a .zip file."
  }
}

variable "layer_zip_path" {
  description = "Path of the MXNet layer zip built by `make package` (build/mxnet-layer.zip). Used only when inference_engine is mxnet; it is staged in S3 because it exceeds Lambda's direct-upload limit."
  type        = string
  default     = null

  validation {
    condition     = var.layer_zip_path == null || endswith(coalesce(var.layer_zip_path, ".zip"), ".zip")
    error_message = "layer_zip_path must be null or point at a .zip file."
  }
}

variable "inference_engine" {
  description = "Scoring engine: mxnet (loads the artifact with MXNet from the layer) or numpy (reads the .params directly; no layer is created)."
  type        = string
  default     = "mxnet"

  validation {
    condition     = contains(["mxnet", "numpy"], var.inference_engine)
    error_message = "inference_engine must be mxnet or numpy."
  }
}

variable "memory_mb" {
  description = "Function memory. MXNet alone needs ~140 MB RSS (measured); 512 MB leaves room for the model and gives more CPU for the cold start."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_mb >= 256 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb must be a whole number between 256 (MXNet does not fit in less) and 10240."
  }
}

variable "timeout_seconds" {
  description = "Function timeout. A cold start downloads and binds the model; API Gateway gives up after 29 s anyway."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout_seconds >= 3 && var.timeout_seconds <= 60 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number between 3 and 60."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (caps cost and burst load; the usage plan throttles first). null = unreserved: reserving fails on accounts with the default 10-execution quota."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null or a whole number >= 1."
  }
}

variable "model_recheck_seconds" {
  description = "The function re-reads the serving pointer at most this often, so a promote or rollback is served without redeploying (also the retry interval while no good model is loaded)."
  type        = number
  default     = 60

  validation {
    condition     = var.model_recheck_seconds >= 0 && floor(var.model_recheck_seconds) == var.model_recheck_seconds
    error_message = "model_recheck_seconds must be a whole number >= 0."
  }
}

variable "max_batch" {
  description = "Most instances accepted in one SageMaker-style batch request."
  type        = number
  default     = 100

  validation {
    condition     = var.max_batch >= 1 && var.max_batch <= 10000 && floor(var.max_batch) == var.max_batch
    error_message = "max_batch must be a whole number between 1 and 10000."
  }
}

variable "max_body_bytes" {
  description = "Largest request body accepted, in bytes (larger bodies get 413 JSON)."
  type        = number
  default     = 65536

  validation {
    condition     = var.max_body_bytes >= 256 && var.max_body_bytes <= 6291456 && floor(var.max_body_bytes) == var.max_body_bytes
    error_message = "max_body_bytes must be a whole number between 256 and 6291456 (Lambda's payload limit)."
  }
}

variable "log_level" {
  description = "Powertools logger level of the function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of the function and API access log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log groups; null uses CloudWatch Logs' default encryption. The key policy must allow logs.<region>.amazonaws.com."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "throttle_rate_limit" {
  description = "Usage plan steady-state request rate (requests per second) per API key."
  type        = number
  default     = 20

  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be > 0."
  }
}

variable "throttle_burst_limit" {
  description = "Usage plan burst (bucket size, requests) per API key."
  type        = number
  default     = 40

  validation {
    condition     = var.throttle_burst_limit >= 1 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number >= 1."
  }
}

variable "quota_limit" {
  description = "Most requests per API key in each quota_period."
  type        = number
  default     = 100000

  validation {
    condition     = var.quota_limit >= 1 && floor(var.quota_limit) == var.quota_limit
    error_message = "quota_limit must be a whole number >= 1."
  }
}

variable "quota_period" {
  description = "Period of the usage plan quota: DAY, WEEK or MONTH."
  type        = string
  default     = "DAY"

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.quota_period)
    error_message = "quota_period must be DAY, WEEK or MONTH."
  }
}

variable "manage_api_gateway_account" {
  description = "Set the region-wide API Gateway CloudWatch role (needed once per account and region for access logging). Turn off if another stack manages aws_api_gateway_account."
  type        = bool
  default     = true
}

variable "local_endpoint" {
  description = "Base URL of a LocalStack gateway (e.g. http://localhost:4566). When set, local_invoke_url is a URL that needs no DNS; null on AWS."
  type        = string
  default     = null

  validation {
    condition     = var.local_endpoint == null || can(regex("^https?://[^/]+$", var.local_endpoint))
    error_message = "local_endpoint must be null or a base URL without a path, such as http://localhost:4566."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
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

variable "snapstart_enabled" {
  description = "Lambda SnapStart for the inference function (python3.12+): publishes a version on each change and points the API at it; the model cache loads before the snapshot and re-checks S3 after restore."
  type        = bool
  default     = false
}

variable "layout" {
  description = "The storage module's `layout` output (bucket key prefixes and model keys); the layer is staged under artifacts, the function reads only under models: the pointer model_pointer_key, then the version it names under model_versions."
  type = object({
    artifacts         = string
    models            = string
    model_versions    = string
    model_pointer_key = string
  })
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API (CORS), e.g. [\"https://app.example.com\"]; [\"*\"] allows any. Empty (default) = CORS off, no OPTIONS method."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for origin in var.cors_allowed_origins : origin == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin))
    ])
    error_message = "cors_allowed_origins entries must be \"*\" or scheme://host[:port] with no path or trailing slash."
  }

  validation {
    condition     = !contains(var.cors_allowed_origins, "*") || length(var.cors_allowed_origins) == 1
    error_message = "cors_allowed_origins: \"*\" already allows every origin; give it alone."
  }

  validation {
    condition     = length(distinct(var.cors_allowed_origins)) == length(var.cors_allowed_origins)
    error_message = "cors_allowed_origins has duplicates."
  }
}

variable "json_body_validation" {
  description = "Validate application/json bodies at API Gateway against the model generated from openapi.yaml. Set false only on an emulator that applies the JSON model to every content type (LocalStack 4.x community rejects text/csv and JSON Lines bodies then); AWS validates only the matching content type."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------- monitoring (monitoring.tf)
variable "alarm_topic_arn" {
  description = "SNS topic the inference alarms notify (the root module passes the ETL's, etl_functions' alarm_topic_arn); null: alarms without notifications."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be null or an SNS topic ARN."
  }
}

variable "alarm_period_seconds" {
  description = "Period of every inference alarm and dashboard widget, in seconds."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 30, 60, 300, 900, 3600], var.alarm_period_seconds)
    error_message = "alarm_period_seconds must be 10, 30, 60, 300, 900 or 3600."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive periods over the threshold before an inference alarm fires."
  type        = number
  default     = 3

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 100 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number between 1 and 100."
  }
}

variable "alarm_5xx_rate_threshold" {
  description = "Alarm when more than this fraction of API requests answer 5XX (0.01 = 1%; the function answers 503 only while no model is loadable)."
  type        = number
  default     = 0.01

  validation {
    condition     = var.alarm_5xx_rate_threshold >= 0 && var.alarm_5xx_rate_threshold < 1
    error_message = "alarm_5xx_rate_threshold must be a fraction in [0, 1)."
  }
}

variable "alarm_4xx_rate_threshold" {
  description = "Alarm when more than this fraction of API requests answer 4XX (bad payloads, keys, throttling, quota)."
  type        = number
  default     = 0.1

  validation {
    condition     = var.alarm_4xx_rate_threshold >= 0 && var.alarm_4xx_rate_threshold < 1
    error_message = "alarm_4xx_rate_threshold must be a fraction in [0, 1)."
  }
}

variable "alarm_p99_latency_ms" {
  description = "Alarm when the API's p99 latency exceeds this many milliseconds (a warm request takes a few ms; cold starts load the model)."
  type        = number
  default     = 2000

  validation {
    condition     = var.alarm_p99_latency_ms > 0
    error_message = "alarm_p99_latency_ms must be > 0."
  }
}

variable "alarm_function_errors_threshold" {
  description = "Alarm when the function's failed invocations in a period exceed this count."
  type        = number
  default     = 0

  validation {
    condition     = var.alarm_function_errors_threshold >= 0
    error_message = "alarm_function_errors_threshold must be >= 0."
  }
}

variable "alarm_function_throttles_threshold" {
  description = "Alarm when the function's throttled invocations in a period exceed this count."
  type        = number
  default     = 0

  validation {
    condition     = var.alarm_function_throttles_threshold >= 0
    error_message = "alarm_function_throttles_threshold must be >= 0."
  }
}

variable "alarm_model_rejects_threshold" {
  description = "Alarm when more than this many published models are rejected at load time in a period (any reject deserves a look)."
  type        = number
  default     = 0

  validation {
    condition     = var.alarm_model_rejects_threshold >= 0
    error_message = "alarm_model_rejects_threshold must be >= 0."
  }
}
