"""wildrydes weather: DuckDB reduction vs an independent pandas computation, Athena calls, the join."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from wildrydes import weather as w
from wildrydes.cli import CommandError
from wildrydes.cli import weather as weather_cli
from wildrydes_lambda.contracts.envelope import Source
from wildrydes_lambda.etl.csv_output import lineage_cells, render_csv
from wildrydes_lambda.etl.rides import is_heavy, validate_ride
from wildrydes_lambda.etl.stations import GROUND_STATIONS, nearest_station

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "data" / "sample"
GHCN = SAMPLE / "ghcn"
STATIONS = sorted(GROUND_STATIONS)


def pandas_reduction(ghcn_root: Path, stations, years) -> pd.DataFrame:
    """The reduction computed independently from the CSV files with pandas (no SQL)."""
    frames = [
        pd.read_csv(ghcn_root / "csv" / "by_year" / f"{y}.csv", dtype=str, keep_default_na=False)
        for y in years
    ]
    df = pd.concat(frames)
    df = df[df["ID"].isin(stations) & (df["Q_FLAG"] == "") & df["ELEMENT"].isin(["TMIN", "TMAX", "PRCP"])]
    df = df[df["DATE"].str[:4].isin([str(y) for y in years])]
    df = df.assign(
        station_id=df["ID"],
        date=pd.to_datetime(df["DATE"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
        value=df["DATA_VALUE"].astype(int),
    )
    wide = df.pivot(index=["station_id", "date"], columns="ELEMENT", values="value")
    wide = wide.reindex(columns=["TMIN", "TMAX", "PRCP"]).astype("Int64").reset_index()
    wide.columns.name = None
    return wide.rename(columns=str.lower).sort_values(["station_id", "date"]).reset_index(drop=True)


def as_frame(rows) -> pd.DataFrame:
    return pd.read_csv(
        io.StringIO(w.format_output(w.normalize_rows(rows))),
        dtype={"station_id": str, "date": str},
        keep_default_na=True,
    ).astype({"tmin": "Int64", "tmax": "Int64", "prcp": "Int64"})


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pandas_reduction(GHCN, STATIONS, [2017, 2018])


@pytest.mark.parametrize("layout", ["parquet", "csv"])
def test_duckdb_reduction_matches_pandas(layout, expected):
    run = w.reduce_duckdb(str(GHCN), layout, STATIONS, [2017, 2018])
    got = as_frame(run.rows)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert run.bytes_read > 0


def test_quality_flagged_values_are_excluded_not_just_hidden(expected):
    raw = pd.concat(
        pd.read_csv(GHCN / "csv" / "by_year" / f"{y}.csv", dtype=str, keep_default_na=False)
        for y in (2017, 2018)
    )
    flagged = raw[
        raw["ID"].isin(STATIONS) & (raw["Q_FLAG"] != "") & raw["ELEMENT"].isin(["TMIN", "TMAX", "PRCP"])
    ]
    assert len(flagged) >= 10, "the sample must contain quality-flagged rows"
    run = w.reduce_duckdb(str(GHCN), "parquet", STATIONS, [2017, 2018])
    got = as_frame(run.rows).set_index(["station_id", "date"])
    for row in flagged.itertuples():
        key = (row.ID, f"{row.DATE[:4]}-{row.DATE[4:6]}-{row.DATE[6:]}")
        value = got.loc[key, row.ELEMENT.lower()] if key in got.index else pd.NA
        assert pd.isna(value), f"flagged {row.ELEMENT} of {key} leaked into the output"
    # Units unchanged: a clean value comes out exactly as GHCN-D stores it (tenths), never converted.
    clean = raw[(raw["ID"] == "USW00094728") & (raw["ELEMENT"] == "TMAX") & (raw["Q_FLAG"] == "")].iloc[40]
    day = f"{clean.DATE[:4]}-{clean.DATE[4:6]}-{clean.DATE[6:]}"
    assert got.loc[("USW00094728", day), "tmax"] == int(clean.DATA_VALUE)


def test_parquet_and_csv_layouts_give_identical_output_text():
    texts = {
        layout: w.format_output(
            w.normalize_rows(w.reduce_duckdb(str(GHCN), layout, STATIONS, [2017, 2018]).rows)
        )
        for layout in ("parquet", "csv")
    }
    assert texts["parquet"] == texts["csv"]
    lines = texts["csv"].splitlines()
    assert lines[0] == "station_id,date,tmin,tmax,prcp"
    assert len(lines) - 1 == 4 * 730  # every station-day keeps at least one clean element in the sample
    assert any(",," in line or line.endswith(",") for line in lines[1:]), "missing elements print empty"


def test_parquet_reads_only_the_wanted_partitions_and_fewer_bytes_than_csv():
    parquet = w.reduce_duckdb(str(GHCN), "parquet", STATIONS, [2018])
    csv_run = w.reduce_duckdb(str(GHCN), "csv", STATIONS, [2018])
    assert parquet.files_scanned == "3/8"  # YEAR=2018 x {TMIN,TMAX,PRCP} of 2 years x 4 elements
    assert parquet.bytes_read < csv_run.bytes_read
    assert {r[1][:4] for r in parquet.rows} == {"2018"}


def test_only_wanted_stations_and_years(expected):
    run = w.reduce_duckdb(str(GHCN), "csv", ["USW00094728"], [2018])
    got = as_frame(run.rows)
    assert set(got["station_id"]) == {"USW00094728"} and set(got["date"].str[:4]) == {"2018"}
    want = expected[(expected["station_id"] == "USW00094728") & expected["date"].str.startswith("2018")]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)


def test_csv_without_header_reads_the_same(tmp_path, expected):
    root = tmp_path / "ghcn"
    (root / "csv" / "by_year").mkdir(parents=True)
    for y in (2017, 2018):
        lines = (GHCN / "csv" / "by_year" / f"{y}.csv").read_text().splitlines(keepends=True)
        (root / "csv" / "by_year" / f"{y}.csv").write_text("".join(lines[1:]))  # NOAA's own files: no header
    got = as_frame(w.reduce_duckdb(str(root), "csv", STATIONS, [2017, 2018]).rows)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_bad_inputs_fail_clearly(tmp_path):
    with pytest.raises(w.WeatherError, match="station ids"):
        w.validate_stations(["USW00094728'; DROP TABLE x; --"])
    with pytest.raises(w.WeatherError, match="years"):
        w.validate_years([1066])
    with pytest.raises(w.WeatherError, match="not found"):
        w.reduce_duckdb(str(GHCN), "csv", STATIONS, [2016])
    with pytest.raises(w.WeatherError, match="no Parquet files"):
        w.reduce_duckdb(str(tmp_path), "parquet", STATIONS, [2017])


def test_sql_placeholders_match_terraform_and_render_completely():
    sql = w.reduce_sql("parquet", "wildrydes.ghcn_parquet", ["USW00094728", "USW00014732"], [2017, 2018])
    assert "FROM wildrydes.ghcn_parquet" in sql
    assert "year IN ('2017', '2018')" in sql and "id IN ('USW00094728', 'USW00014732')" in sql
    assert "$" not in sql
    for name in ("reduce_ghcn_parquet.sql", "reduce_ghcn_csv.sql", "training_join.sql"):
        text = (w.SQL_DIR / name).read_text()
        assert "%{" not in text  # a Terraform template directive would break templatefile()


# --------------------------------------------------------------------------------------------- Athena
def athena_client():
    return boto3.client(
        "athena", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _execution(state, scanned=0, reason=None):
    status = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {
            "QueryExecutionId": "q-1",
            "Status": status,
            "Statistics": {"DataScannedInBytes": scanned, "EngineExecutionTimeInMillis": 1200},
        }
    }


def _cells(*values):
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


def test_athena_reduction_sends_well_formed_requests_and_reads_all_pages():
    athena = athena_client()
    expected_sql = w.reduce_sql("parquet", "wildrydes.ghcn_parquet", STATIONS, [2017, 2018])
    with Stubber(athena) as stub:
        stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q-1"},
            {
                "QueryString": expected_sql,
                "QueryExecutionContext": {"Database": "wildrydes"},
                "WorkGroup": "wildrydes-weather",
            },
        )
        stub.add_response("get_query_execution", _execution("QUEUED"), {"QueryExecutionId": "q-1"})
        stub.add_response("get_query_execution", _execution("RUNNING", 1_000), {"QueryExecutionId": "q-1"})
        stub.add_response(
            "get_query_execution", _execution("SUCCEEDED", 123_456_789), {"QueryExecutionId": "q-1"}
        )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "Rows": [
                        _cells("station_id", "date", "tmin", "tmax", "prcp"),
                        _cells("USW00094728", "2017-01-01", "-23", "42", None),
                    ]
                },
                "NextToken": "page-2",
            },
            {"QueryExecutionId": "q-1"},
        )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {"Rows": [_cells("USW00094728", "2017-01-02", None, "50", "3")]},
            },
            {"QueryExecutionId": "q-1", "NextToken": "page-2"},
        )
        progress, sleeps = [], []
        run = w.reduce_athena(
            athena, "parquet", STATIONS, [2017, 2018], progress=progress.append, sleep=sleeps.append
        )
        stub.assert_no_pending_responses()
    assert run.bytes_scanned == 123_456_789 and len(sleeps) == 2
    assert any("RUNNING" in p and "1,000 bytes" in p for p in progress)
    assert w.format_output(w.normalize_rows(run.rows)) == (
        "station_id,date,tmin,tmax,prcp\nUSW00094728,2017-01-01,-23,42,\nUSW00094728,2017-01-02,,50,3\n"
    )
    assert run.cost_usd == pytest.approx(124e6 / 1e12 * 5)


@pytest.mark.parametrize(
    "state,reason",
    [
        ("FAILED", "Query exhausted resources: bytes scanned limit was exceeded"),
        ("CANCELLED", "Query cancelled by user"),
    ],
)
def test_athena_failures_surface_the_state_change_reason(state, reason):
    athena = athena_client()
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
        stub.add_response("get_query_execution", _execution(state, 10, reason), {"QueryExecutionId": "q-1"})
        with pytest.raises(w.AthenaQueryFailed) as err:
            w.reduce_athena(athena, "csv", STATIONS, [2017], sleep=lambda s: None)
    assert state in str(err.value) and reason in str(err.value) and "q-1" in str(err.value)


def test_athena_start_errors_are_reported():
    athena = athena_client()
    with Stubber(athena) as stub:
        stub.add_client_error(
            "start_query_execution", "InvalidRequestException", "WorkGroup wildrydes-weather is not found"
        )
        with pytest.raises(w.WeatherError, match="is not found"):
            w.reduce_athena(athena, "parquet", STATIONS, [2017], sleep=lambda s: None)


def test_athena_cost_estimate_bills_at_least_10_mb():
    assert w.athena_cost_usd(0) == pytest.approx(10e6 / 1e12 * 5)
    assert w.athena_cost_usd(2 * 10**12) == pytest.approx(10.0)
    assert w.athena_cost_usd(10_000_001) == pytest.approx(11e6 / 1e12 * 5)  # rounded up to whole MB


# ----------------------------------------------------------------------------------------------- join
def write_processed(root: Path, rides: list[dict]) -> None:
    """processed/ride_month=.../part.csv as the writer Lambda lays it out (docs/design.md)."""
    by_month: dict[str, list[dict]] = {}
    for ride in rides:
        by_month.setdefault(ride["statustime"][:7], []).append(ride)
    lineage = lineage_cells(Source("bucket", "raw/sample.json", "v1", "2026-01-01T00:00:00.000000Z"))
    for month, month_rides in by_month.items():
        path = root / f"ride_month={month}" / "part.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render_csv(month_rides, lineage))  # the writer Lambda's own rendering


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("processed")
    rides = []
    for path in sorted((SAMPLE / "rides").glob("*.json")):
        for raw in json.loads(path.read_text())["travel_data"]:
            ride = validate_ride(raw)
            ride["groundstation"] = nearest_station(ride["latitude"], ride["longitude"])[0]
            ride["heavy_utilization"] = is_heavy(ride["magicpoints"], ride["distance"])
            rides.append(ride)
    # A ride on a day the weather does not cover must be reported, not dropped.
    extra = validate_ride(
        {
            "Name": "Latecomer",
            "StatusTime": "2019-06-01 12:00:00.000",
            "Latitude": 40.78,
            "Longitude": -73.97,
            "Distance": 1.0,
            "HealthPoints": 100,
            "MagicPoints": 60,
        }
    )
    extra.update(groundstation="USW00094728", heavy_utilization=1)
    write_processed(root, [*rides, extra])
    return root


@pytest.fixture(scope="module")
def reduced(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reduced") / "ground_station_weather.csv"
    out.write_text(
        w.format_output(w.normalize_rows(w.reduce_duckdb(str(GHCN), "csv", STATIONS, [2017, 2018]).rows))
    )
    return out


def test_join_keeps_every_ride_and_reports_missing_weather(processed, reduced):
    rows, report = w.join_duckdb(str(processed), str(reduced))
    truth = pd.read_csv(SAMPLE / "truth" / "rides_truth.csv", dtype={"ride_id": str}).set_index("ride_id")
    assert report.rides == len(rows) == len(truth) + 1
    joined = pd.DataFrame(rows, columns=w.JOIN_HEADER).set_index("ride_id")
    assert joined.loc[joined.index.difference(truth.index), "ride_date"].tolist() == ["2019-06-01"]
    assert ("USW00094728", "2019-06-01", 1) in report.missing_station_days
    assert report.with_weather == len(truth) and "1 without weather" in report.summary()
    # Independent check against the generator's truth: completeness and values of the station-day.
    j = joined.loc[truth.index]
    assert (j["weather_complete"] == truth["weather_complete"]).all()
    assert (j["heavy_utilization"] == truth["heavy"]).all() and (
        j["groundstation"] == truth["groundstation"]
    ).all()
    complete = truth["weather_complete"] == 1
    for col in ("tmin", "tmax", "prcp"):
        assert (j.loc[complete, col] == truth.loc[complete, col]).all()
    assert report.complete == int(complete.sum())


def test_join_cli_writes_csv_and_can_fail_on_missing(processed, reduced, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    weather_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "weather",
            "join",
            "--rides",
            str(processed),
            "--weather",
            str(reduced),
            "--out",
            str(tmp_path / "joined.csv"),
            "--fail-on-missing",
        ]
    )
    assert args.func(args) == 1
    assert "1 without weather" in capsys.readouterr().err
    header = (tmp_path / "joined.csv").read_text().splitlines()[0]
    assert header == ",".join(w.JOIN_HEADER)


def test_reduce_cli_duckdb_and_user_errors(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    weather_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "weather",
            "reduce",
            "--engine",
            "duckdb",
            "--source",
            str(GHCN),
            "--out",
            str(tmp_path / "nygroundstationdata"),
            "--layout",
            "csv",
            "--years",
            "2017",
        ]
    )
    assert args.func(args) == 0
    text = (tmp_path / "nygroundstationdata" / w.OUTPUT_FILE_NAME).read_text()
    assert text.startswith("station_id,date,tmin,tmax,prcp\n") and len(text.splitlines()) == 1 + 4 * 365
    assert "bytes" in capsys.readouterr().err
    bad = parser.parse_args(
        [
            "weather",
            "reduce",
            "--engine",
            "duckdb",
            "--source",
            str(GHCN),
            "--out",
            str(tmp_path),
            "--stations",
            "nope",
        ]
    )
    with pytest.raises(CommandError, match="station ids"):
        bad.func(bad)
    missing_source = parser.parse_args(["weather", "reduce", "--engine", "duckdb", "--out", str(tmp_path)])
    with pytest.raises(CommandError, match="--source"):
        missing_source.func(missing_source)


def test_s3_source_copies_only_the_needed_partitions(tmp_path, monkeypatch):
    """DuckDB over s3:// (moto in-process): only YEAR=2018 x 3 elements are fetched; output as local."""
    from moto import mock_aws

    for var, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="ghcn-mirror")
        for path in GHCN.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), "ghcn-mirror", f"mirror/{path.relative_to(GHCN).as_posix()}")
        parquet = w.reduce_duckdb("s3://ghcn-mirror/mirror", "parquet", STATIONS, [2018])
        csv_run = w.reduce_duckdb("s3://ghcn-mirror/mirror/", "csv", STATIONS, [2018])
        w.write_text(
            w.format_output(w.normalize_rows(parquet.rows)),
            "s3://ghcn-mirror/nygroundstationdata/",
            w.OUTPUT_FILE_NAME,
        )
        body = s3.get_object(Bucket="ghcn-mirror", Key="nygroundstationdata/ground_station_weather.csv")[
            "Body"
        ].read()
    assert parquet.fetched_objects == 3 and csv_run.fetched_objects == 1
    local = w.reduce_duckdb(str(GHCN), "parquet", STATIONS, [2018])
    assert parquet.rows == local.rows == csv_run.rows
    assert body.decode() == w.format_output(w.normalize_rows(local.rows))


def test_years_from_processed_partitions(processed, tmp_path, capsys):
    assert w.years_from_processed(str(processed)) == [2017, 2018, 2019]
    with pytest.raises(w.WeatherError, match="no ride_month"):
        w.years_from_processed(str(tmp_path))
    parser = argparse.ArgumentParser()
    weather_cli.register(parser.add_subparsers())
    only_2018 = tmp_path / "processed"
    (only_2018 / "ride_month=2018-03").mkdir(parents=True)
    args = parser.parse_args(
        [
            "weather",
            "reduce",
            "--engine",
            "duckdb",
            "--source",
            str(GHCN),
            "--out",
            str(tmp_path / "out.csv"),
            "--years-from",
            str(only_2018),
        ]
    )
    assert args.func(args) == 0
    dates = [line.split(",")[1] for line in (tmp_path / "out.csv").read_text().splitlines()[1:]]
    assert dates and {d[:4] for d in dates} == {"2018"}
