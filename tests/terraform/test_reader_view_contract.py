"""Cross-language contract of the reader view: the SQL modules/athena installs as the Athena view rides_unique
is, byte for byte, what Python renders for DuckDB (wildrydes.weather.unique_rides_sql), over the same
columns in the same order."""

from __future__ import annotations

import base64
import json

import tfhelpers

from wildrydes import weather

PRESTO_VIEW_PREFIX, PRESTO_VIEW_SUFFIX = "/* Presto View: ", " */"


def test_installed_view_sql_and_columns_are_what_duckdb_runs(tmp_path_factory, terraform_bin):
    folder = tmp_path_factory.mktemp("athena-view-contract")
    tf = tfhelpers.offline_module(folder / "module", "athena")
    plan = tf.plan(
        output=True,
        tf_vars={
            "data_bucket_name": tfhelpers.ROOT_TEST_BUCKET,
            "layout": tfhelpers.LAYOUT,
            "sql_dir": str(tfhelpers.REPO_ROOT / "sql"),
        },
    )
    view = next(
        r["values"]
        for r in plan.resources.values()
        if r["type"] == "aws_glue_catalog_table" and r["values"]["name"] == "rides_unique"
    )
    text = view["view_original_text"]
    assert text.startswith(PRESTO_VIEW_PREFIX) and text.endswith(PRESTO_VIEW_SUFFIX)
    presto = json.loads(base64.b64decode(text[len(PRESTO_VIEW_PREFIX) : -len(PRESTO_VIEW_SUFFIX)]))
    assert presto["originalSql"] == weather.unique_rides_sql("wildrydes.rides")
    assert [c["name"] for c in presto["columns"]] == list(weather.READER_COLUMNS)
    assert [c["name"] for c in view["storage_descriptor"][0]["columns"]] == list(weather.READER_COLUMNS)
    assert all(c["type"] == "varchar" for c in presto["columns"] if c["name"] in weather.LINEAGE_COLUMNS)
