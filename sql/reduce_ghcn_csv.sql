-- GHCN-D reduction over the CSV layout csv/by_year/YYYY.csv (columns ID,DATE,ELEMENT,DATA_VALUE,M_FLAG,
-- Q_FLAG,S_FLAG,OBS_TIME; DATE is YYYYMMDD). The fallback when the Parquet layout is unavailable: every
-- byte of the files read is scanned, so restrict the table location (or the DuckDB file list) to the years
-- wanted. One text for Athena (Trino) and DuckDB. Placeholders:
--   ghcn_table : the table/view over the CSV files (all columns may be strings)
--   stations   : comma list of quoted station ids
--   years      : comma list of quoted years
-- A header line, if the files have one, has id = 'ID' and is dropped by the station filter, so files with and
-- without a header both work. Only rows with an empty Q_FLAG count; units stay GHCN's.
SELECT
    id AS station_id,
    substr(CAST("date" AS VARCHAR), 1, 4) || '-' || substr(CAST("date" AS VARCHAR), 5, 2) || '-'
        || substr(CAST("date" AS VARCHAR), 7, 2) AS "date",
    max(CASE WHEN element = 'TMIN' THEN CAST(data_value AS BIGINT) END) AS tmin,
    max(CASE WHEN element = 'TMAX' THEN CAST(data_value AS BIGINT) END) AS tmax,
    max(CASE WHEN element = 'PRCP' THEN CAST(data_value AS BIGINT) END) AS prcp
FROM ${ghcn_table}
WHERE id IN (${stations})
    AND substr(CAST("date" AS VARCHAR), 1, 4) IN (${years})
    AND element IN ('TMIN', 'TMAX', 'PRCP')
    AND (q_flag IS NULL OR q_flag = '')
GROUP BY 1, 2
ORDER BY 1, 2
