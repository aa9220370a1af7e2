variable "name_prefix" {
  description = "Prefix for every named resource (workgroup, named queries). Lower-case letters, digits and hyphens."
  type        = string
  default     = "wildrydes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "data_bucket_name" {
  description = "Name of the project's data bucket: holds processed/ (rides), athena-results/ and nygroundstationdata/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "database_name" {
  description = "Glue catalog database that holds the rides and GHCN-D tables. Letters, digits and underscores (Athena rejects hyphens in unquoted names)."
  type        = string
  default     = "wildrydes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.database_name))
    error_message = "database_name must start with a lower-case letter and contain only lower-case letters, digits and underscores."
  }
}

variable "ride_month_range" {
  description = "Partition projection range for ride_month: \"<first month>,<last month>\" as yyyy-MM, where the last may be NOW (Athena's relative date syntax). The default is exactly the years ingest accepts (wildrydes_lambda.etl.rides.MIN_RIDE_YEAR..MAX_RIDE_YEAR), so every stored ride is visible."
  type        = string
  default     = "2000-01,2099-12"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2},(\\d{4}-\\d{2}|NOW([+-]\\d+(MONTHS|YEARS))?)$", var.ride_month_range))
    error_message = "ride_month_range must look like \"2017-01,NOW\" or \"2017-01,2017-12\"."
  }
}

variable "ghcn_source_bucket" {
  description = "Bucket holding NOAA GHCN-D (the AWS Open Data copy by default; a mirror or a test bucket can stand in)."
  type        = string
  default     = "noaa-ghcn-pds"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.ghcn_source_bucket))
    error_message = "ghcn_source_bucket must be a valid S3 bucket name."
  }
}

variable "ghcn_parquet_prefix" {
  description = "Prefix of the Parquet layout YEAR=YYYY/ELEMENT=XXXX/*.parquet inside ghcn_source_bucket."
  type        = string
  default     = "parquet/by_year/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/$", var.ghcn_parquet_prefix))
    error_message = "ghcn_parquet_prefix must be a relative S3 prefix ending with '/'."
  }
}

variable "ghcn_csv_prefix" {
  description = "Prefix of the CSV layout YYYY.csv inside ghcn_source_bucket (fallback table; scans whole years)."
  type        = string
  default     = "csv/by_year/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/$", var.ghcn_csv_prefix))
    error_message = "ghcn_csv_prefix must be a relative S3 prefix ending with '/'."
  }
}

variable "ghcn_year_range" {
  description = "Inclusive [first, last] year for the integer partition projection on YEAR of the Parquet table."
  type        = list(number)
  default     = [1750, 2030]

  validation {
    condition     = length(var.ghcn_year_range) == 2 && var.ghcn_year_range[0] >= 1700 && var.ghcn_year_range[0] <= var.ghcn_year_range[1] && var.ghcn_year_range[1] <= 2100
    error_message = "ghcn_year_range must be two years [first, last] with 1700 <= first <= last <= 2100."
  }
}

variable "ghcn_elements" {
  description = "GHCN-D element codes enumerated by the ELEMENT partition projection. Only listed elements are queryable; the reduction needs TMIN, TMAX and PRCP."
  type        = list(string)
  default     = ["TMIN", "TMAX", "PRCP", "SNOW", "SNWD", "TAVG"]

  validation {
    condition     = length(var.ghcn_elements) > 0 && alltrue([for e in var.ghcn_elements : can(regex("^[A-Z0-9]{4}$", e))])
    error_message = "ghcn_elements must be a non-empty list of 4-character upper-case GHCN-D element codes, e.g. TMIN."
  }

  validation {
    condition     = length(setsubtract(["TMIN", "TMAX", "PRCP"], var.ghcn_elements)) == 0
    error_message = "ghcn_elements must include TMIN, TMAX and PRCP: the reduction reads them."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels any query in the workgroup that scans more than this many bytes (guards against an accidental full GHCN-D scan). Athena's minimum is 10 MB."
  type        = number
  default     = 10737418240 # 10 GiB: a few years x 3 elements of Parquet fits; a full CSV year (~1.3 GB each) scan of many years does not

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760 && floor(var.bytes_scanned_cutoff_per_query) == var.bytes_scanned_cutoff_per_query
    error_message = "bytes_scanned_cutoff_per_query must be a whole number of bytes, at least 10485760 (10 MB, Athena's minimum)."
  }
}

variable "results_encryption" {
  description = "Encryption of Athena query results: SSE_S3 or SSE_KMS (then results_kms_key_arn is required)."
  type        = string
  default     = "SSE_S3"

  validation {
    condition     = contains(["SSE_S3", "SSE_KMS"], var.results_encryption)
    error_message = "results_encryption must be SSE_S3 or SSE_KMS."
  }
}

variable "results_kms_key_arn" {
  description = "KMS key ARN used when results_encryption is SSE_KMS; ignored otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.results_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.results_kms_key_arn))
    error_message = "results_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "create_named_queries" {
  description = "Create the Athena named queries (reduction, training join) from the shared SQL. moto lacks DeleteNamedQuery: on it either set false or remove them from state before destroy (tools/tf_local.py does)."
  type        = bool
  default     = true
}

variable "stations" {
  description = "GHCN-D station ids the reduction keeps (the ground stations rides are matched to)."
  type        = list(string)
  default     = ["US1NYNY0074", "USW00014732", "USW00094728", "USW00094789"]

  validation {
    condition     = length(var.stations) > 0 && alltrue([for s in var.stations : can(regex("^[A-Z0-9]{11}$", s))])
    error_message = "stations must be a non-empty list of 11-character GHCN-D station ids."
  }
}

variable "years" {
  description = "Years the reduction named query covers (the years the rides span)."
  type        = list(number)
  default     = [2017]

  validation {
    condition     = length(var.years) > 0 && alltrue([for y in var.years : y >= 1700 && y <= 2100 && floor(y) == y])
    error_message = "years must be a non-empty list of whole years between 1700 and 2100."
  }
}

variable "sql_dir" {
  description = "Directory with the shared SQL files (reduce_ghcn_parquet.sql, reduce_ghcn_csv.sql, training_join.sql). Defaults to the repository's sql/."
  type        = string
  default     = null
}

variable "workgroup_force_destroy" {
  description = "Allow destroying the workgroup while it still has saved queries/history."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

variable "layout" {
  description = "The storage module's `layout` output (bucket key prefixes and model keys); the rides and reduced-weather tables point at its processed and weather prefixes, query results go under athena_results."
  type = object({
    processed      = string
    weather        = string
    athena_results = string
  })
}
