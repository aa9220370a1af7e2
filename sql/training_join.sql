-- Training input: processed rides LEFT JOIN the reduced weather on (ground station, ride date).
-- A left join keeps rides whose station-day has no weather (has_weather = 0; weather_complete = 0 when an element is missing) so they are counted and
-- reported instead of silently dropped; the trainer decides what to do with them.
-- One text for Athena (Trino) and DuckDB. Placeholders:
--   rides_table   : processed rides (columns ride_id, statustime, distance, groundstation, heavy_utilization, ...)
--   weather_table : reduced weather, nygroundstationdata/ (columns station_id, date, tmin, tmax, prcp)
SELECT
    r.ride_id,
    substr(CAST(r.statustime AS VARCHAR), 1, 10) AS ride_date,
    r.groundstation,
    CAST(r.heavy_utilization AS INTEGER) AS heavy_utilization,
    CAST(r.distance AS DOUBLE) AS distance,
    CAST(r.station_distance_miles AS DOUBLE) AS station_distance_miles,
    CAST(w.tmin AS DOUBLE) AS tmin,
    CAST(w.tmax AS DOUBLE) AS tmax,
    CAST(w.prcp AS DOUBLE) AS prcp,
    CASE WHEN w.station_id IS NULL THEN 0 ELSE 1 END AS has_weather,
    CASE WHEN w.tmin IS NULL OR w.tmax IS NULL OR w.prcp IS NULL THEN 0 ELSE 1 END AS weather_complete
FROM ${rides_table} AS r
LEFT JOIN ${weather_table} AS w
    ON w.station_id = r.groundstation
    AND CAST(w."date" AS VARCHAR) = substr(CAST(r.statustime AS VARCHAR), 1, 10)
ORDER BY r.ride_id
