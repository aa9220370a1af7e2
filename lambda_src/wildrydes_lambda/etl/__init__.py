"""The ETL stages' logic (ingest, enrich, writer): validation, streaming, grouping, enrichment, stations,
CSV output and quarantine. Pure functions; AWS calls go through ``wildrydes_lambda.aws``."""
