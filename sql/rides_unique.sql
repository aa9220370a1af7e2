-- Reader view: each ride once (docs/design.md, "Each ride once for readers"). Athena installs it as the view
-- rides_unique (modules/athena); training (wildrydes.weather.join) runs the same text on DuckDB over the
-- processed CSV files, so both see the same rows. One text for Athena (Trino) and DuckDB. Placeholders:
--   rides_table  : the processed rides (the CSV columns, all lineage columns strings, plus ride_month)
--   ride_columns : comma list of the columns the view returns (the CSV columns, then ride_month)
-- The rule, on the lineage columns the pipeline appends to every row (source_key_hash = the raw object
-- key's hash, source_version = its S3 version id, ingested_at = the upload's event time, sortable text):
--   1. per source (source_key_hash) keep only its current version: the rows whose (ingested_at,
--      source_version) is the greatest of that source, so rows of an overwritten upload are hidden even
--      while their objects still exist;
--   2. then one row per ride_id: the greatest (ingested_at, source_key_hash) wins (the newest upload; ties
--      between files uploaded at the same instant go to the larger key hash). Rows that still tie come
--      from one version of one file (a retry wrote the ride twice) and are identical, so which is kept does
--      not matter.
-- Missing lineage (a row written before the columns existed) compares as '' and so loses to any upload
-- that has it. Both windows need every row of the table: a filter on ride_month is applied after them.
SELECT ${ride_columns}
FROM (
    SELECT
        current_rows.*,
        row_number() OVER (
            PARTITION BY current_rows.ride_id
            ORDER BY coalesce(current_rows.ingested_at, '') DESC, coalesce(current_rows.source_key_hash, '') DESC
        ) AS ride_rank
    FROM (
        SELECT
            r.*,
            rank() OVER (
                PARTITION BY coalesce(r.source_key_hash, '')
                ORDER BY coalesce(r.ingested_at, '') DESC, coalesce(r.source_version, '') DESC
            ) AS version_rank
        FROM ${rides_table} AS r
    ) AS current_rows
    WHERE current_rows.version_rank = 1
) AS ranked
WHERE ranked.ride_rank = 1
