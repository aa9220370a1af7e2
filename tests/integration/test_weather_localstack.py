"""Weather stage on LocalStack: the generated GHCN-D sample in S3 (Parquet and CSV layouts) is reduced with
DuckDB by `wildrydes weather reduce` and lands in nygroundstationdata/, checked against an independent
pandas computation of the same reduction."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pandas as pd
import pytest

from wildrydes import weather
from wildrydes.cli import weather as weather_cli
from wildrydes_lambda.etl.stations import GROUND_STATIONS

pytestmark = pytest.mark.localstack

REPO = Path(__file__).resolve().parents[2]
GHCN = REPO / "data" / "sample" / "ghcn"
BUCKET = "wildrydes-weather-it"
SOURCE_PREFIX = "noaa-ghcn-pds-mirror"
YEARS = (2017, 2018)


def expected_reduction() -> pd.DataFrame:
    """pandas, straight from the CSV files: clean rows of the four stations, pivoted, units unchanged."""
    raw = pd.concat(
        pd.read_csv(GHCN / "csv" / "by_year" / f"{y}.csv", dtype=str, keep_default_na=False) for y in YEARS
    )
    keep = (
        raw["ID"].isin(GROUND_STATIONS)
        & (raw["Q_FLAG"] == "")
        & raw["ELEMENT"].isin(["TMIN", "TMAX", "PRCP"])
    )
    clean = raw[keep].assign(value=lambda d: d["DATA_VALUE"].astype(int))
    wide = clean.pivot(index=["ID", "DATE"], columns="ELEMENT", values="value").reindex(
        columns=["TMIN", "TMAX", "PRCP"]
    )
    out = pd.DataFrame(
        {
            "station_id": [i for i, _ in wide.index],
            "date": [f"{d[:4]}-{d[4:6]}-{d[6:]}" for _, d in wide.index],
            "tmin": wide["TMIN"].astype("Int64").to_numpy(),
            "tmax": wide["TMAX"].astype("Int64").to_numpy(),
            "prcp": wide["PRCP"].astype("Int64").to_numpy(),
        }
    )
    return out.sort_values(["station_id", "date"]).reset_index(drop=True)


@pytest.fixture(scope="module", autouse=True)
def emulator_env(localstack):
    """The CLI code under test builds its own boto3 clients: give it the emulator's credentials/region."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in localstack.env.items():
            mp.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def s3_with_ghcn(localstack):
    s3 = localstack.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    uploaded = 0
    for path in sorted(GHCN.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"{SOURCE_PREFIX}/{path.relative_to(GHCN).as_posix()}")
            uploaded += 1
    assert uploaded == 2 + 8  # two CSV years, 2 years x 4 elements of Parquet
    return s3


@pytest.mark.parametrize("layout", ["parquet", "csv"])
def test_reduce_from_localstack_s3_into_nygroundstationdata(localstack, s3_with_ghcn, layout, capsys):
    parser = argparse.ArgumentParser()
    weather_cli.register(parser.add_subparsers())
    out_prefix = f"nygroundstationdata/{layout}/"
    args = parser.parse_args(
        [
            "weather",
            "reduce",
            "--engine",
            "duckdb",
            "--layout",
            layout,
            "--source",
            f"s3://{BUCKET}/{SOURCE_PREFIX}",
            "--out",
            f"s3://{BUCKET}/{out_prefix}",
            "--endpoint-url",
            localstack.endpoint_url,
            "--years",
            *map(str, YEARS),
        ]
    )
    assert args.func(args) == 0
    log = capsys.readouterr().err
    # Parquet: only YEAR x {TMIN,TMAX,PRCP} partitions are fetched (6 objects); CSV: the two year files.
    assert ("copied 6 object(s)" if layout == "parquet" else "copied 2 object(s)") in log

    body = (
        s3_with_ghcn.get_object(Bucket=BUCKET, Key=out_prefix + weather.OUTPUT_FILE_NAME)["Body"]
        .read()
        .decode()
    )
    assert body.splitlines()[0] == "station_id,date,tmin,tmax,prcp"
    got = pd.read_csv(io.StringIO(body), dtype={"station_id": str, "date": str}).astype(
        {"tmin": "Int64", "tmax": "Int64", "prcp": "Int64"}
    )
    pd.testing.assert_frame_equal(got, expected_reduction(), check_dtype=False)


def test_both_layouts_write_identical_objects(localstack, s3_with_ghcn):
    bodies = set()
    for layout in ("parquet", "csv"):
        run = weather.reduce_duckdb(
            f"s3://{BUCKET}/{SOURCE_PREFIX}/",
            layout,
            sorted(GROUND_STATIONS),
            YEARS,
            endpoint_url=localstack.endpoint_url,
        )
        key = weather.write_text(
            weather.format_output(weather.normalize_rows(run.rows)),
            f"s3://{BUCKET}/nygroundstationdata/",
            weather.OUTPUT_FILE_NAME,
            endpoint_url=localstack.endpoint_url,
        )
        assert key == f"s3://{BUCKET}/nygroundstationdata/{weather.OUTPUT_FILE_NAME}"
        bodies.add(
            s3_with_ghcn.get_object(Bucket=BUCKET, Key=f"nygroundstationdata/{weather.OUTPUT_FILE_NAME}")[
                "Body"
            ].read()
        )
    assert len(bodies) == 1


def test_missing_year_in_s3_fails_clearly(localstack, s3_with_ghcn):
    with pytest.raises(weather.WeatherError, match="2016"):
        weather.reduce_duckdb(
            f"s3://{BUCKET}/{SOURCE_PREFIX}",
            "csv",
            sorted(GROUND_STATIONS),
            [2016],
            endpoint_url=localstack.endpoint_url,
        )
    with pytest.raises(weather.WeatherError, match="no GHCN-D parquet objects"):
        weather.reduce_duckdb(
            f"s3://{BUCKET}/{SOURCE_PREFIX}",
            "parquet",
            sorted(GROUND_STATIONS),
            [2016],
            endpoint_url=localstack.endpoint_url,
        )


def test_years_from_processed_partitions_in_s3(localstack, s3_with_ghcn):
    for month in ("2017-05", "2018-02", "2018-03"):
        s3_with_ghcn.put_object(Bucket=BUCKET, Key=f"processed/ride_month={month}/abc.csv", Body=b"ride_id\n")
    assert weather.years_from_processed(f"s3://{BUCKET}/processed/", localstack.endpoint_url) == [2017, 2018]


def test_athena_path_against_the_moto_server(localstack):
    """The Athena calls as a server sees them: the query is recorded verbatim in the workgroup/database."""
    athena = localstack.client("athena")
    athena.create_work_group(
        Name="wildrydes-weather-it",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena-results/"}},
    )
    run = weather.reduce_athena(
        athena,
        "parquet",
        sorted(GROUND_STATIONS),
        YEARS,
        database="wildrydes",
        workgroup="wildrydes-weather-it",
        sleep=lambda s: None,
    )
    execution = athena.get_query_execution(QueryExecutionId=run.query_execution_id)["QueryExecution"]
    assert execution["Query"] == weather.reduce_sql(
        "parquet", "wildrydes.ghcn_parquet", sorted(GROUND_STATIONS), YEARS
    )
    assert execution["WorkGroup"] == "wildrydes-weather-it"
    assert execution["QueryExecutionContext"]["Database"] == "wildrydes"
    assert execution["Status"]["State"] == "SUCCEEDED"
