# Native `terraform test` (offline: mock provider). Run from the module folder: terraform test
# The named-query runs read the repository's sql/ (the module's default sql_dir, ../../sql).
mock_provider "aws" {}

variables {
  layout = {
    raw               = "raw/"
    quarantine        = "quarantine/"
    manifests         = "manifests/"
    processed         = "processed/"
    weather           = "nygroundstationdata/"
    training          = "training/"
    models            = "models/"
    artifacts         = "artifacts/"
    athena_results    = "athena-results/"
    tmp               = "tmp/"
    model_versions    = "models/linear-learner/versions/"
    model_pointer_key = "models/linear-learner/serving.json"
    model_jobs        = "models/linear-learner/jobs/"
  }
  data_bucket_name     = "wr-test-data"
  create_named_queries = false # switched on by the runs that render the shared sql/ (../../sql)
}

run "workgroup_guard_rails" {
  command = plan

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration
    error_message = "clients must not be able to override the workgroup settings"
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://wr-test-data/athena-results/"
    error_message = "results go to athena-results/ in our bucket"
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3"
    error_message = "results are encrypted by default"
  }
  assert {
    condition     = length(aws_athena_named_query.this) == 0
    error_message = "create_named_queries = false creates none"
  }
}

run "scan_cutoff_below_athena_minimum_is_rejected" {
  command = plan
  variables {
    bytes_scanned_cutoff_per_query = 1048576
  }
  expect_failures = [var.bytes_scanned_cutoff_per_query]
}

run "kms_encryption_needs_a_key" {
  command = plan
  variables {
    results_encryption = "SSE_KMS"
  }
  expect_failures = [aws_athena_workgroup.this]
}

run "elements_must_include_the_reduced_ones" {
  command = plan
  variables {
    ghcn_elements = ["SNOW"]
  }
  expect_failures = [var.ghcn_elements]
}

run "year_range_must_be_ordered" {
  command = plan
  variables {
    ghcn_year_range = [2030, 1750]
  }
  expect_failures = [var.ghcn_year_range]
}

run "scan_cutoff_defaults_to_ten_gib" {
  command = plan

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 10 * 1024 * 1024 * 1024
    error_message = "a query scanning more than 10 GiB is cancelled"
  }
}

run "rides_table_projects_ride_month_over_processed" {
  command = plan

  assert {
    condition = (
      aws_glue_catalog_table.rides.parameters["projection.enabled"] == "true"
      && aws_glue_catalog_table.rides.parameters["projection.ride_month.type"] == "date"
      && aws_glue_catalog_table.rides.parameters["projection.ride_month.format"] == "yyyy-MM"
      && aws_glue_catalog_table.rides.parameters["projection.ride_month.range"] == "2000-01,2099-12"
      && aws_glue_catalog_table.rides.parameters["projection.ride_month.interval.unit"] == "MONTHS"
      && aws_glue_catalog_table.rides.parameters["storage.location.template"] == "s3://wr-test-data/processed/ride_month=$${ride_month}/"
      && aws_glue_catalog_table.rides.parameters["skip.header.line.count"] == "1"
    )
    error_message = "ride_month is projected (no crawler, no MSCK) over processed/ride_month=YYYY-MM/ with a header line"
  }
  assert {
    condition = [for c in aws_glue_catalog_table.rides.storage_descriptor[0].columns : c.name] == [
      "ride_id", "name", "statustime", "latitude", "longitude", "distance", "healthpoints", "magicpoints", "groundstation", "heavy_utilization",
      "station_distance_miles", "source_key_hash", "source_version", "ingested_at",
    ]
    error_message = "the column order of processed/ride_month=*/<name>.csv (docs/design.md; compared with the Python CSV schema in tests/terraform/test_contracts.py)"
  }
  assert {
    condition     = [for k in aws_glue_catalog_table.rides.partition_keys : k.name] == ["ride_month"]
    error_message = "one partition key, ride_month"
  }
}

run "ghcn_tables_project_year_and_element" {
  command = plan

  assert {
    condition = (
      aws_glue_catalog_table.ghcn_parquet.parameters["projection.year.type"] == "integer"
      && aws_glue_catalog_table.ghcn_parquet.parameters["projection.year.range"] == "1750,2030"
      && aws_glue_catalog_table.ghcn_parquet.parameters["projection.element.type"] == "enum"
      && length(setsubtract(["TMIN", "TMAX", "PRCP"], split(",", aws_glue_catalog_table.ghcn_parquet.parameters["projection.element.values"]))) == 0
      && aws_glue_catalog_table.ghcn_parquet.parameters["storage.location.template"] == "s3://noaa-ghcn-pds/parquet/by_year/YEAR=$${year}/ELEMENT=$${element}/"
    )
    error_message = "the Parquet table projects YEAR and ELEMENT over the public GHCN-D bucket"
  }
  assert {
    condition = (
      [for k in aws_glue_catalog_table.ghcn_parquet.partition_keys : k.name] == ["year", "element"]
      && length(setintersection(["year", "element"], [for c in aws_glue_catalog_table.ghcn_parquet.storage_descriptor[0].columns : c.name])) == 0
    )
    error_message = "ELEMENT/YEAR exist only in the path, never as file columns"
  }
  assert {
    condition = (
      aws_glue_catalog_table.ghcn_csv.parameters["skip.header.line.count"] == "1"
      && aws_glue_catalog_table.ghcn_csv.storage_descriptor[0].location == "s3://noaa-ghcn-pds/csv/by_year/"
      && [for c in aws_glue_catalog_table.ghcn_csv.storage_descriptor[0].columns : c.name] == ["id", "date", "element", "data_value", "m_flag", "q_flag", "s_flag", "obs_time"]
    )
    error_message = "the CSV fallback table reads csv/by_year/ with the GHCN-D columns"
  }
}

run "named_queries_render_the_shared_sql" {
  command = plan
  variables {
    create_named_queries = true
  }

  assert {
    condition     = toset([for q in aws_athena_named_query.this : q.name]) == toset(["wildrydes-reduce-ghcn-parquet", "wildrydes-reduce-ghcn-csv", "wildrydes-training-join"])
    error_message = "one named query per shared SQL file"
  }
  assert {
    condition     = alltrue([for q in aws_athena_named_query.this : !strcontains(q.query, "$${") && q.database == "wildrydes"])
    error_message = "no placeholder is left unrendered; the queries run in the wildrydes database"
  }
  assert {
    condition = (
      strcontains(aws_athena_named_query.this["reduce_ghcn_parquet"].query, "FROM wildrydes.ghcn_parquet")
      && strcontains(aws_athena_named_query.this["reduce_ghcn_parquet"].query, "'USW00094728'")
      && strcontains(aws_athena_named_query.this["reduce_ghcn_parquet"].query, "year IN ('2017')")
      && strcontains(aws_athena_named_query.this["reduce_ghcn_csv"].query, "FROM wildrydes.ghcn_csv")
      && strcontains(aws_athena_named_query.this["training_join"].query, "FROM wildrydes.rides_unique")
      && strcontains(aws_athena_named_query.this["training_join"].query, "LEFT JOIN wildrydes.ground_station_weather")
    )
    error_message = "each query reads its table, the Central Park station and the year 2017 by default"
  }
}

run "source_bucket_prefixes_cutoff_and_years_are_variables" {
  command = plan
  variables {
    create_named_queries           = true
    ghcn_source_bucket             = "my-ghcn-mirror"
    ghcn_parquet_prefix            = "ghcn/parquet/"
    ghcn_csv_prefix                = "ghcn/csv/"
    bytes_scanned_cutoff_per_query = 10485760
    years                          = [2016, 2017]
    ride_month_range               = "2017-01,2017-12"
  }

  assert {
    condition = (
      aws_glue_catalog_table.ghcn_parquet.parameters["storage.location.template"] == "s3://my-ghcn-mirror/ghcn/parquet/YEAR=$${year}/ELEMENT=$${element}/"
      && aws_glue_catalog_table.ghcn_csv.storage_descriptor[0].location == "s3://my-ghcn-mirror/ghcn/csv/"
    )
    error_message = "the GHCN-D source bucket and prefixes are variables"
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 10485760
    error_message = "the scan cutoff is a variable (down to Athena's 10 MiB minimum)"
  }
  assert {
    condition     = length(regexall("year IN \\('2016', '2017'\\)", aws_athena_named_query.this["reduce_ghcn_parquet"].query)) == 1
    error_message = "years reach the rendered SQL"
  }
  assert {
    condition     = aws_glue_catalog_table.rides.parameters["projection.ride_month.range"] == "2017-01,2017-12"
    error_message = "ride_month_range reaches the projection"
  }
}

run "named_queries_can_be_switched_off_for_moto" {
  command = plan

  assert {
    condition     = length(aws_athena_named_query.this) == 0 && aws_athena_workgroup.this.name != null
    error_message = "create_named_queries = false creates none, the workgroup stays"
  }
}

run "sse_kms_uses_the_given_key" {
  command = plan
  variables {
    results_encryption  = "SSE_KMS"
    results_kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS"
      && aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    error_message = "SSE_KMS encrypts results with the given key"
  }
}

run "client_side_encryption_is_rejected" {
  command = plan
  variables {
    results_encryption = "CSE_KMS"
  }
  expect_failures = [var.results_encryption]
}

run "bad_ride_month_range_is_rejected" {
  command = plan
  variables {
    ride_month_range = "2017-01-01,NOW"
  }
  expect_failures = [var.ride_month_range]
}

run "hyphenated_database_name_is_rejected" {
  command = plan
  variables {
    database_name = "wild-rydes"
  }
  expect_failures = [var.database_name]
}

run "reader_view_installs_the_shared_sql" {
  command = plan

  assert {
    condition = (
      aws_glue_catalog_table.rides_unique[0].table_type == "VIRTUAL_VIEW"
      && aws_glue_catalog_table.rides_unique[0].name == "rides_unique"
      && aws_glue_catalog_table.rides_unique[0].parameters["presto_view"] == "true"
      && aws_glue_catalog_table.rides_unique[0].view_expanded_text == "/* Presto View */"
    )
    error_message = "rides_unique is an Athena (Presto) view in the Glue catalog"
  }
  assert {
    # The installed text is the file's: decode Athena's view encoding and compare with the file rendered
    # over wildrydes.rides and the rides table's columns (file columns, then the partition key).
    condition = jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).originalSql == templatefile("../../sql/rides_unique.sql", {
      rides_table  = "wildrydes.rides"
      ride_columns = join(", ", concat([for c in aws_glue_catalog_table.rides.storage_descriptor[0].columns : c.name], [for k in aws_glue_catalog_table.rides.partition_keys : k.name]))
    })
    error_message = "the view's SQL is sql/rides_unique.sql rendered over wildrydes.rides, nothing else"
  }
  assert {
    condition     = output.rides_unique_sql == jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).originalSql
    error_message = "the rides_unique_sql output is the installed text"
  }
  assert {
    condition = (
      strcontains(output.rides_unique_sql, "FROM wildrydes.rides AS r")
      && !strcontains(output.rides_unique_sql, "$${")
      && strcontains(output.rides_unique_sql, "PARTITION BY current_rows.ride_id")
    )
    error_message = "the view reads the rides table, every placeholder rendered"
  }
  assert {
    condition = (
      jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).schema == "wildrydes"
      && jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).catalog == "awsdatacatalog"
      && [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).columns : c.name] == [for c in aws_glue_catalog_table.rides_unique[0].storage_descriptor[0].columns : c.name]
      && [for c in aws_glue_catalog_table.rides_unique[0].storage_descriptor[0].columns : c.name] == concat([for c in aws_glue_catalog_table.rides.storage_descriptor[0].columns : c.name], [for k in aws_glue_catalog_table.rides.partition_keys : k.name])
    )
    error_message = "the view's columns are the rides table's (file columns, then the partition key), in the Presto encoding and the Glue columns alike"
  }
  assert {
    condition = (
      [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).columns : c.type if c.name == "heavy_utilization"] == ["integer"]
      && [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).columns : c.type if c.name == "latitude"] == ["double"]
      && [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.rides_unique[0].view_original_text, "/* Presto View: "), " */"))).columns : c.type if c.name == "ride_id"] == ["varchar"]
    )
    error_message = "the Presto encoding carries Trino types (varchar, double, integer) or Athena calls the view stale"
  }
  assert {
    condition     = output.rides_unique_view == "wildrydes.rides_unique" && output.table_names.rides_unique == "wildrydes.rides_unique"
    error_message = "the outputs name the view"
  }
}

run "training_join_reads_the_reader_view" {
  command = plan
  variables {
    create_named_queries = true
  }

  assert {
    condition = (
      strcontains(aws_athena_named_query.this["training_join"].query, "FROM wildrydes.rides_unique AS r")
      && !strcontains(aws_athena_named_query.this["training_join"].query, "FROM wildrydes.rides AS r")
    )
    error_message = "the training join counts each ride once: it reads rides_unique, not rides"
  }
}

run "reader_view_is_skipped_without_the_sql_file" {
  command = plan
  variables {
    sql_dir = "/nonexistent"
  }

  assert {
    condition     = length(aws_glue_catalog_table.rides_unique) == 0 && output.rides_unique_view == null
    error_message = "a bare copy without sql/ still plans; the check block warns"
  }
  expect_failures = [check.shared_sql_found]
}
