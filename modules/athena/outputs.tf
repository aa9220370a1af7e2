output "database_name" {
  description = "Glue catalog database holding the rides, GHCN-D and weather tables."
  value       = aws_glue_catalog_database.this.name
}

output "workgroup_name" {
  description = "Athena workgroup to run the weather/training queries in (enforced result location, encryption and scan cutoff)."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup (for IAM policies of callers)."
  value       = aws_athena_workgroup.this.arn
}

output "results_location" {
  description = "S3 URI where the workgroup writes query results."
  value       = local.results_location
}

output "bytes_scanned_cutoff_per_query" {
  description = "Per-query scan limit in bytes enforced by the workgroup."
  value       = aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query
}

output "table_names" {
  description = "Fully qualified table names (database.table) by role: rides (every stored row), rides_unique (the reader view: each ride once; null when sql/rides_unique.sql was not found), ghcn_parquet, ghcn_csv, weather."
  value = {
    rides        = "${aws_glue_catalog_database.this.name}.${aws_glue_catalog_table.rides.name}"
    rides_unique = one([for v in aws_glue_catalog_table.rides_unique : "${v.database_name}.${v.name}"])
    ghcn_parquet = "${aws_glue_catalog_database.this.name}.${aws_glue_catalog_table.ghcn_parquet.name}"
    ghcn_csv     = "${aws_glue_catalog_database.this.name}.${aws_glue_catalog_table.ghcn_csv.name}"
    weather      = "${aws_glue_catalog_database.this.name}.${aws_glue_catalog_table.weather.name}"
  }
}

output "rides_unique_view" {
  description = "The view readers query instead of rides: database.rides_unique, each ride_id once (the newest upload of the current version of its file, docs/design.md \"Each ride once for readers\"). Null when sql/rides_unique.sql was not found."
  value       = one([for v in aws_glue_catalog_table.rides_unique : "${v.database_name}.${v.name}"])
}

output "rides_unique_sql" {
  description = "The reader view's SQL as installed (sql/rides_unique.sql rendered over the rides table): the text DuckDB runs for training. Null when the file was not found."
  value       = local.reader_view_sql
}

output "named_query_ids" {
  description = "Athena named query ids by name (reduce_ghcn_parquet, reduce_ghcn_csv, training_join); only those whose SQL file exists, empty when create_named_queries is false."
  value       = { for k, q in aws_athena_named_query.this : k => q.id }
}
