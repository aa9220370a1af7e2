"""modules/athena planned offline: workgroup guard rails, table layouts, projection settings, SQL rendering."""

from __future__ import annotations

import json
import re

import pytest
import tfhelpers
from tfhelpers import LAYOUT, plan, plan_error, tf_bool, values

BUCKET = "wildrydes-data-test"
# The module runs from a temporary copy, so point it at the repository's shared SQL explicitly.
SQL_DIR = str(tfhelpers.REPO_ROOT / "sql")
# Column order of processed/ride_date=*/<hash>.csv (docs/design.md).
RIDE_COLUMNS = ["ride_id", "name", "statustime", "latitude", "longitude", "distance", "healthpoints",
                "magicpoints", "groundstation", "heavy_utilization", "station_distance_miles"]
GHCN_CSV_COLUMNS = ["id", "date", "element", "data_value", "m_flag", "q_flag", "s_flag", "obs_time"]
TEN_GIB = 10 * 1024**3
ATHENA_MIN_CUTOFF = 10 * 1024**2


@pytest.fixture(scope="module")
def tf(tmp_path_factory):
    return tfhelpers.offline_module(tmp_path_factory.mktemp("athena"), "athena")


@pytest.fixture(scope="module")
def default_plan(tf):
    return plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, sql_dir=SQL_DIR)


def test_workgroup_enforces_encrypted_results_and_scan_cutoff(default_plan):
    wg = values(default_plan, "aws_athena_workgroup.this")
    cfg = wg["configuration"][0]
    assert cfg["enforce_workgroup_configuration"] is True
    assert cfg["bytes_scanned_cutoff_per_query"] == TEN_GIB
    result = cfg["result_configuration"][0]
    assert result["output_location"] == f"s3://{BUCKET}/athena-results/"
    assert result["encryption_configuration"][0]["encryption_option"] == "SSE_S3"


def test_rides_table_projects_ride_date_over_processed(default_plan):
    table = values(default_plan, "aws_glue_catalog_table.rides")
    params = table["parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.ride_date.type"] == "date"
    assert params["projection.ride_date.format"] == "yyyy-MM-dd"
    assert params["projection.ride_date.range"] == "2000-01-01,2099-12-31"  # = rides.MIN..MAX_RIDE_YEAR
    assert params["storage.location.template"] == f"s3://{BUCKET}/processed/ride_date=${{ride_date}}/"
    assert params["skip.header.line.count"] == "1"
    sd = table["storage_descriptor"][0]
    assert [c["name"] for c in sd["columns"]] == RIDE_COLUMNS
    assert [k["name"] for k in table["partition_keys"]] == ["ride_date"]


def test_ghcn_parquet_table_projects_year_and_element(default_plan):
    table = values(default_plan, "aws_glue_catalog_table.ghcn_parquet")
    params = table["parameters"]
    assert params["projection.year.type"] == "integer"
    assert params["projection.year.range"] == "1750,2030"
    assert params["projection.element.type"] == "enum"
    assert {"TMIN", "TMAX", "PRCP"} <= set(params["projection.element.values"].split(","))
    assert params["storage.location.template"] == (
        "s3://noaa-ghcn-pds/parquet/by_year/YEAR=${year}/ELEMENT=${element}/")
    assert [k["name"] for k in table["partition_keys"]] == ["year", "element"]
    # ELEMENT/YEAR exist only in the path, never as file columns.
    file_columns = [c["name"] for c in table["storage_descriptor"][0]["columns"]]
    assert "element" not in file_columns and "year" not in file_columns


def test_ghcn_csv_fallback_table(default_plan):
    table = values(default_plan, "aws_glue_catalog_table.ghcn_csv")
    assert table["parameters"]["skip.header.line.count"] == "1"
    sd = table["storage_descriptor"][0]
    assert sd["location"] == "s3://noaa-ghcn-pds/csv/by_year/"
    assert [c["name"] for c in sd["columns"]] == GHCN_CSV_COLUMNS


def test_named_queries_render_the_shared_sql(default_plan):
    queries = {addr: res["values"] for addr, res in default_plan.resources.items()
               if addr.startswith("aws_athena_named_query.")}
    names = {v["name"] for v in queries.values()}
    assert names == {"wildrydes-reduce-ghcn-parquet", "wildrydes-reduce-ghcn-csv", "wildrydes-training-join"}
    for q in queries.values():
        assert "${" not in q["query"], "a placeholder was left unrendered"
        assert q["database"] == "wildrydes"
    parquet = queries['aws_athena_named_query.this["reduce_ghcn_parquet"]']["query"]
    assert "FROM wildrydes.ghcn_parquet" in parquet
    assert "'USW00094728'" in parquet and "year IN ('2017')" in parquet
    csv_q = queries['aws_athena_named_query.this["reduce_ghcn_csv"]']["query"]
    assert "FROM wildrydes.ghcn_csv" in csv_q
    join = queries['aws_athena_named_query.this["training_join"]']["query"]
    assert "FROM wildrydes.rides" in join and "LEFT JOIN wildrydes.ground_station_weather" in join


def test_source_bucket_prefixes_cutoff_and_years_are_variables(tf):
    p = plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, sql_dir=SQL_DIR, ghcn_source_bucket="my-ghcn-mirror",
             ghcn_parquet_prefix="ghcn/parquet/", ghcn_csv_prefix="ghcn/csv/",
             bytes_scanned_cutoff_per_query=ATHENA_MIN_CUTOFF, years=json.dumps([2016, 2017]),
             ride_date_range="2017-01-01,2017-12-31")
    assert values(p, "aws_glue_catalog_table.ghcn_parquet")["parameters"]["storage.location.template"] == (
        "s3://my-ghcn-mirror/ghcn/parquet/YEAR=${year}/ELEMENT=${element}/")
    assert values(p, "aws_glue_catalog_table.ghcn_csv")["storage_descriptor"][0]["location"] == (
        "s3://my-ghcn-mirror/ghcn/csv/")
    wg = values(p, "aws_athena_workgroup.this")["configuration"][0]
    assert wg["bytes_scanned_cutoff_per_query"] == ATHENA_MIN_CUTOFF
    query = values(p, 'aws_athena_named_query.this["reduce_ghcn_parquet"]')["query"]
    assert re.search(r"year IN \('2016', '2017'\)", query)
    assert values(p, "aws_glue_catalog_table.rides")["parameters"]["projection.ride_date.range"] == (
        "2017-01-01,2017-12-31")


def test_named_queries_can_be_switched_off_for_moto(tf):
    p = plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, sql_dir=SQL_DIR, create_named_queries=tf_bool(False))
    assert not [a for a in p.resources if a.startswith("aws_athena_named_query.")]
    assert "aws_athena_workgroup.this" in p.resources


def test_sse_kms_uses_the_given_key(tf):
    key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    p = plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, sql_dir=SQL_DIR, results_encryption="SSE_KMS", results_kms_key_arn=key)
    enc = values(p, "aws_athena_workgroup.this")["configuration"][0]["result_configuration"][0][
        "encryption_configuration"][0]
    assert enc == {"encryption_option": "SSE_KMS", "kms_key_arn": key}


@pytest.mark.parametrize(
    ("bad_vars", "message"),
    [
        ({"bytes_scanned_cutoff_per_query": ATHENA_MIN_CUTOFF - 1}, "at least 10485760"),
        ({"results_encryption": "CSE_KMS"}, "SSE_S3 or SSE_KMS"),
        ({"results_encryption": "SSE_KMS"}, "results_kms_key_arn is required"),
        ({"ghcn_elements": json.dumps(["TMAX", "PRCP"])}, "must include TMIN, TMAX and PRCP"),
        ({"ride_date_range": "2017/01/01,NOW"}, "ride_date_range must look like"),
        ({"database_name": "wild-rydes"}, "only lower-case letters, digits and underscores"),
    ],
)
def test_bad_inputs_are_rejected(tf, bad_vars, message):
    error = plan_error(tf, layout=LAYOUT, data_bucket_name=BUCKET, sql_dir=SQL_DIR, **bad_vars)
    assert message in " ".join(error.split())
