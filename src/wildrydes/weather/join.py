"""`weather join`: processed rides LEFT JOIN the reduced weather (sql/training_join.sql) on DuckDB."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
from botocore.exceptions import BotoCoreError, ClientError

from wildrydes.weather.common import (
    JOIN_HEADER,
    JOIN_SQL,
    RIDE_COLUMNS,
    WeatherError,
    download_prefix,
    parse_s3_uri,
    render_sql,
    s3_client,
)
from wildrydes.weather.duckdb_engine import _duckdb_connect
from wildrydes_lambda.etl.csv_output import CSV_ESCAPE


@dataclass
class JoinReport:
    rides: int
    with_weather: int
    complete: int
    missing_station_days: list[tuple[str, str, int]]  # (station, date, rides) without a weather row

    def summary(self) -> str:
        without = self.rides - self.with_weather
        text = (
            f"{self.rides} rides: {self.with_weather} with a weather row, {self.complete} with TMIN, TMAX and "
            f"PRCP all present, {without} without weather"
        )
        if self.missing_station_days:
            shown = ", ".join(f"{s} {d} ({n})" for s, d, n in self.missing_station_days[:10])
            more = len(self.missing_station_days) - 10
            text += f"; station-days without weather: {shown}" + (f" and {more} more" if more > 0 else "")
        return text


def _local_csvs(location: str, what: str, endpoint_url: str | None, workdir: Path) -> list[Path]:
    """CSV files of a local file/dir or an s3:// prefix/object (copied into ``workdir``)."""
    s3_loc = parse_s3_uri(location)
    if s3_loc:
        bucket, prefix = s3_loc
        s3 = s3_client(endpoint_url)
        if prefix.endswith(".csv"):
            target = workdir / what / Path(prefix).name
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, prefix, str(target))
            files = [target]
        else:
            files = download_prefix(s3, bucket, prefix, workdir / what, ".csv")
    else:
        path = Path(location)
        files = [path] if path.is_file() else sorted(path.rglob("*.csv"))
    if not files:
        raise WeatherError(f"no {what} CSV files at {location}")
    return files


def join_duckdb(rides: str, weather: str, endpoint_url: str | None = None) -> tuple[list[tuple], JoinReport]:
    """processed rides LEFT JOIN reduced weather (sql/training_join.sql) and a report of what is missing."""
    with tempfile.TemporaryDirectory(prefix="wildrydes-join-") as tmp:
        workdir = Path(tmp)
        try:
            ride_files = _local_csvs(rides, "rides", endpoint_url, workdir)
            weather_files = _local_csvs(weather, "weather", endpoint_url, workdir)
        except (ClientError, BotoCoreError) as exc:
            raise WeatherError(f"cannot read join input from S3: {exc}") from None
        con = _duckdb_connect()

        def view(name: str, files: list[Path], columns: dict[str, str], escape: str = '"') -> None:
            listing = ", ".join(f"'{f.as_posix()}'" for f in files)
            cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_csv([{listing}], header = true, auto_detect = false, "
                f"hive_partitioning = false, quote = '\"', escape = '{escape}', columns = {{{cols}}})"
            )

        try:
            # The processed CSV escapes quotes and backslashes with a backslash (etl.csv_output, as Athena).
            view("rides", ride_files, {c: "VARCHAR" for c in RIDE_COLUMNS}, escape=CSV_ESCAPE)
            view(
                "weather",
                weather_files,
                {
                    "station_id": "VARCHAR",
                    "date": "VARCHAR",
                    "tmin": "BIGINT",
                    "tmax": "BIGINT",
                    "prcp": "BIGINT",
                },
            )
            rows = con.execute(render_sql(JOIN_SQL, rides_table="rides", weather_table="weather")).fetchall()
        except duckdb.Error as exc:
            raise WeatherError(f"DuckDB join failed: {exc}") from None
        finally:
            con.close()
    idx = {name: i for i, name in enumerate(JOIN_HEADER)}
    missing: dict[tuple[str, str], int] = {}
    for row in rows:
        if not row[idx["has_weather"]]:
            key = (row[idx["groundstation"]], row[idx["ride_date"]])
            missing[key] = missing.get(key, 0) + 1
    report = JoinReport(
        rides=len(rows),
        with_weather=sum(r[idx["has_weather"]] for r in rows),
        complete=sum(r[idx["weather_complete"]] for r in rows),
        missing_station_days=sorted((s, d, n) for (s, d), n in missing.items()),
    )
    return rows, report


def format_join(rows: Iterable[Sequence]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(JOIN_HEADER)
    for row in rows:
        writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()
