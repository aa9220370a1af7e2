# Athena + Glue catalog for the weather stage: rides in processed/, GHCN-D from the Open Data bucket
# (Parquet with partition projection as the cheap path, CSV as the fallback), a cost-capped workgroup and
# named queries whose SQL is the same text DuckDB runs locally (sql/).

locals {
  processed_location = "s3://${var.data_bucket_name}/${var.layout.processed}"
  weather_location   = "s3://${var.data_bucket_name}/${var.layout.weather}"
  results_location   = "s3://${var.data_bucket_name}/${var.layout.athena_results}"
  ghcn_parquet_root  = "s3://${var.ghcn_source_bucket}/${var.ghcn_parquet_prefix}"
  ghcn_csv_location  = "s3://${var.ghcn_source_bucket}/${var.ghcn_csv_prefix}"

  table_names = {
    rides        = "rides"
    ghcn_parquet = "ghcn_parquet"
    ghcn_csv     = "ghcn_csv"
    weather      = "ground_station_weather"
    rides_unique = "rides_unique" # the reader view over rides
  }
  reader_view_name = "${var.database_name}.${local.table_names.rides_unique}"

  # Column layout of processed/ride_month=*/<name>.csv (docs/design.md, "Outputs in the bucket").
  ride_columns = [
    { name = "ride_id", type = "string" },
    { name = "name", type = "string" },
    { name = "statustime", type = "string" }, # 'YYYY-MM-DD HH:MM:SS.fff'; OpenCSVSerde only parses epoch timestamps
    { name = "latitude", type = "double" },
    { name = "longitude", type = "double" },
    { name = "distance", type = "double" },
    { name = "healthpoints", type = "double" },
    { name = "magicpoints", type = "double" },
    { name = "groundstation", type = "string" },
    { name = "heavy_utilization", type = "int" },
    { name = "station_distance_miles", type = "double" }, # haversine miles from the ride to groundstation
    # Lineage (exactly once per file version): 32 hex of sha256(raw key), the S3 versionId ("null" when
    # none), the S3 event time as 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (sorts in time order).
    { name = "source_key_hash", type = "string" },
    { name = "source_version", type = "string" },
    { name = "ingested_at", type = "string" },
  ]

  # GHCN-D observation columns. In the Parquet layout ELEMENT (and YEAR) exist only as partition keys.
  ghcn_csv_columns = [
    { name = "id", type = "string" },
    { name = "date", type = "string" }, # YYYYMMDD
    { name = "element", type = "string" },
    { name = "data_value", type = "int" },
    { name = "m_flag", type = "string" },
    { name = "q_flag", type = "string" },
    { name = "s_flag", type = "string" },
    { name = "obs_time", type = "string" },
  ]
  ghcn_parquet_columns = [
    { name = "id", type = "string" },
    { name = "date", type = "string" },
    { name = "data_value", type = "bigint" },
    { name = "m_flag", type = "string" },
    { name = "q_flag", type = "string" },
    { name = "s_flag", type = "string" },
    { name = "obs_time", type = "string" },
  ]

  weather_columns = [
    { name = "station_id", type = "string" },
    { name = "date", type = "string" }, # YYYY-MM-DD
    { name = "tmin", type = "int" },    # tenths of degC; empty (NULL) when missing that day
    { name = "tmax", type = "int" },
    { name = "prcp", type = "int" }, # tenths of mm
  ]

  # Placeholders of the shared SQL files (sql/*.sql), rendered by templatefile() here and by
  # wildrydes.weather for DuckDB: ghcn_table, rides_table, weather_table, stations and years (quoted lists).
  sql_dir = coalesce(var.sql_dir, "${path.module}/../../sql")
  sql_vars = {
    rides_table   = "${var.database_name}.${local.table_names.rides}"
    weather_table = "${var.database_name}.${local.table_names.weather}"
    stations      = join(", ", [for s in var.stations : "'${s}'"])
    years         = join(", ", [for y in var.years : "'${y}'"])
  }

  named_query_files = {
    reduce_ghcn_parquet = {
      file        = "reduce_ghcn_parquet.sql"
      description = "GHCN-D reduction over the partition-projected Parquet layout (cheap path): daily TMIN/TMAX/PRCP per ground station, Q_FLAG-clean rows only."
      ghcn_table  = "${var.database_name}.${local.table_names.ghcn_parquet}"
    }
    reduce_ghcn_csv = {
      file        = "reduce_ghcn_csv.sql"
      description = "GHCN-D reduction over the csv/by_year fallback layout (scans whole years)."
      ghcn_table  = "${var.database_name}.${local.table_names.ghcn_csv}"
    }
    training_join = {
      file        = "training_join.sql"
      description = "Processed rides, each ride once (the rides_unique view), left-joined with the reduced ground-station weather on (groundstation, ride date)."
      ghcn_table  = "" # the join reads no GHCN-D table
      rides_table = local.reader_view_name
    }
  }

  # Only files that exist become named queries, so the module plans before sql/ is written.
  named_queries = var.create_named_queries ? {
    for key, q in local.named_query_files : key => merge(q, { path = "${local.sql_dir}/${q.file}" })
    if fileexists("${local.sql_dir}/${q.file}")
  } : {}
}

resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "wildrydes-ml: processed rides, NOAA GHCN-D and the reduced ground-station weather."
  tags        = var.tags
}

resource "aws_glue_catalog_table" "rides" {
  name          = local.table_names.rides
  database_name = aws_glue_catalog_database.this.name
  description   = "Processed, enriched rides (CSV with header), one partition per ride_month (yyyy-MM) via partition projection."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                            = "TRUE"
    "classification"                      = "csv"
    "skip.header.line.count"              = "1"
    "projection.enabled"                  = "true"
    "projection.ride_month.type"          = "date"
    "projection.ride_month.format"        = "yyyy-MM"
    "projection.ride_month.range"         = var.ride_month_range
    "projection.ride_month.interval"      = "1"
    "projection.ride_month.interval.unit" = "MONTHS"
    "storage.location.template"           = "${local.processed_location}ride_month=$${ride_month}/"
  }

  partition_keys {
    name = "ride_month"
    type = "string"
  }

  storage_descriptor {
    location      = local.processed_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    # OpenCSVSerde: names may contain commas and arrive quoted.
    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
      parameters = {
        "separatorChar" = ","
        "quoteChar"     = "\""
        "escapeChar"    = "\\"
      }
    }

    dynamic "columns" {
      for_each = local.ride_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_glue_catalog_table" "ghcn_parquet" {
  name          = local.table_names.ghcn_parquet
  database_name = aws_glue_catalog_database.this.name
  description   = "NOAA GHCN-D, Parquet by year and element; YEAR/ELEMENT are projected so queries read only the partitions they name."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                  = "TRUE"
    "classification"            = "parquet"
    "projection.enabled"        = "true"
    "projection.year.type"      = "integer"
    "projection.year.range"     = "${var.ghcn_year_range[0]},${var.ghcn_year_range[1]}"
    "projection.element.type"   = "enum"
    "projection.element.values" = join(",", var.ghcn_elements)
    "storage.location.template" = "${local.ghcn_parquet_root}YEAR=$${year}/ELEMENT=$${element}/"
  }

  # A string key (values projected from the integer range): the shared SQL compares year IN ('2017', ...).
  partition_keys {
    name = "year"
    type = "string"
  }

  partition_keys {
    name = "element"
    type = "string"
  }

  storage_descriptor {
    location      = local.ghcn_parquet_root
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    dynamic "columns" {
      for_each = local.ghcn_parquet_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_glue_catalog_table" "ghcn_csv" {
  name          = local.table_names.ghcn_csv
  database_name = aws_glue_catalog_database.this.name
  description   = "NOAA GHCN-D csv/by_year fallback (no partitions: every query scans whole years; prefer ghcn_parquet)."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"               = "TRUE"
    "classification"         = "csv"
    "skip.header.line.count" = "1"
  }

  storage_descriptor {
    location      = local.ghcn_csv_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
      parameters = {
        "field.delim"          = ","
        "serialization.format" = ","
      }
    }

    dynamic "columns" {
      for_each = local.ghcn_csv_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_glue_catalog_table" "weather" {
  name          = local.table_names.weather
  database_name = aws_glue_catalog_database.this.name
  description   = "Reduced daily weather per ground station (output of the reduction), input of the training join."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"               = "TRUE"
    "classification"         = "csv"
    "skip.header.line.count" = "1"
  }

  storage_descriptor {
    location      = local.weather_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
      parameters = {
        "field.delim"          = ","
        "serialization.format" = ","
      }
    }

    dynamic "columns" {
      for_each = local.weather_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name          = "${var.name_prefix}-weather"
  description   = "wildrydes-ml weather/training queries: enforced settings, encrypted results, per-query scan cap."
  state         = "ENABLED"
  force_destroy = var.workgroup_force_destroy

  configuration {
    # Clients cannot override the result location, encryption or the scan cutoff.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    result_configuration {
      output_location = local.results_location

      encryption_configuration {
        encryption_option = var.results_encryption
        kms_key_arn       = var.results_encryption == "SSE_KMS" ? var.results_kms_key_arn : null
      }
    }
  }

  # Never tagless: moto answers ListTagsForResource on an untagged workgroup with "Does Not Exist".
  tags = merge({ Component = "weather-queries" }, var.tags)

  lifecycle {
    precondition {
      condition     = var.results_encryption != "SSE_KMS" || var.results_kms_key_arn != null
      error_message = "results_kms_key_arn is required when results_encryption is SSE_KMS."
    }
  }
}

resource "aws_athena_named_query" "this" {
  for_each = local.named_queries

  name        = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description = each.value.description
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = templatefile(each.value.path, merge(local.sql_vars, { for k, v in each.value : k => v if contains(["ghcn_table", "rides_table"], k) }))
}

# Missing SQL files are skipped so the module still plans from a bare copy; say so loudly.
check "shared_sql_found" {
  assert {
    condition     = !var.create_named_queries || length(local.named_queries) == length(local.named_query_files)
    error_message = "Some SQL files were not found in ${local.sql_dir}; their Athena named queries are not created. Set sql_dir to the repository's sql/ folder."
  }
  assert {
    condition     = fileexists(local.reader_view_sql_path)
    error_message = "${local.reader_view_sql_path} was not found; the reader view rides_unique is not created. Set sql_dir to the repository's sql/ folder."
  }
}

# The reader view: each ride once (sql/rides_unique.sql, the same text training runs on DuckDB).
# Athena keeps a view as a Glue table of type VIRTUAL_VIEW whose original text is "/* Presto View: <base64
# of a JSON document> */": the SQL, the catalog and schema it resolves names in, and the columns with their
# Trino types. Writing that here installs the view with `terraform apply` alone (no query to run after,
# no Athena engine needed: it applies on moto too), and a change to the SQL file replaces it on the next
# apply. Athena checks the stored columns against the SQL when the view is queried, so they are derived
# from the rides table's own columns, the ones the SQL returns.
locals {
  reader_view_sql_path = "${local.sql_dir}/rides_unique.sql"
  hive_to_trino_types  = { string = "varchar", double = "double", int = "integer", bigint = "bigint" }
  reader_view_columns = concat(
    local.ride_columns,
    [for k in aws_glue_catalog_table.rides.partition_keys : { name = k.name, type = k.type }],
  )
  reader_view_sql = fileexists(local.reader_view_sql_path) ? templatefile(local.reader_view_sql_path, merge(local.sql_vars, {
    rides_table  = "${var.database_name}.${local.table_names.rides}"
    ride_columns = join(", ", [for c in local.reader_view_columns : c.name])
  })) : null
  reader_view_presto = {
    originalSql  = local.reader_view_sql
    catalog      = "awsdatacatalog"
    schema       = var.database_name
    columns      = [for c in local.reader_view_columns : { name = c.name, type = local.hive_to_trino_types[c.type] }]
    runAsInvoker = false
    properties   = {}
  }
}

resource "aws_glue_catalog_table" "rides_unique" {
  count = local.reader_view_sql == null ? 0 : 1

  name          = local.table_names.rides_unique
  database_name = aws_glue_catalog_database.this.name
  description   = "Reader view: each ride_id once, from the newest upload of the current version of its file (sql/rides_unique.sql)."
  table_type    = "VIRTUAL_VIEW"

  view_original_text = "/* Presto View: ${base64encode(jsonencode(local.reader_view_presto))} */"
  view_expanded_text = "/* Presto View */"

  parameters = {
    "presto_view" = "true"
    "comment"     = "Presto View"
  }

  storage_descriptor {
    dynamic "columns" {
      for_each = local.reader_view_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}
