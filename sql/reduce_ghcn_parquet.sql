-- GHCN-D reduction over the Parquet layout parquet/by_year/YEAR=YYYY/ELEMENT=EL/*.parquet.
-- One text for Athena (Trino) and DuckDB. Placeholders (rendered by wildrydes.weather and by Terraform
-- templatefile):
--   ghcn_table : the table/view over the Parquet files (columns id, date, data_value, q_flag, ...; partition
--                columns year and element, both strings)
--   stations   : comma list of quoted station ids, e.g. 'USW00094728', 'USW00014732'
--   years      : comma list of quoted years, e.g. '2017', '2018'
-- Filtering on the partition columns year and element lets Athena (partition projection) and DuckDB (hive
-- partitioning) skip every other partition; only rows that passed all quality checks (empty Q_FLAG) count.
-- Output: one row per station-day, GHCN units unchanged (tenths of degC, tenths of mm), NULL when missing.
SELECT
    id AS station_id,
    substr(CAST("date" AS VARCHAR), 1, 4) || '-' || substr(CAST("date" AS VARCHAR), 5, 2) || '-'
        || substr(CAST("date" AS VARCHAR), 7, 2) AS "date",
    max(CASE WHEN element = 'TMIN' THEN CAST(data_value AS BIGINT) END) AS tmin,
    max(CASE WHEN element = 'TMAX' THEN CAST(data_value AS BIGINT) END) AS tmax,
    max(CASE WHEN element = 'PRCP' THEN CAST(data_value AS BIGINT) END) AS prcp
FROM ${ghcn_table}
WHERE year IN (${years})
    AND element IN ('TMIN', 'TMAX', 'PRCP')
    AND id IN (${stations})
    AND (q_flag IS NULL OR q_flag = '')
GROUP BY 1, 2
ORDER BY 1, 2
