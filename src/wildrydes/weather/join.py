"""`weather join`: processed rides, each ride once (sql/rides_unique.sql, the Athena view's text), LEFT JOIN
the reduced weather (sql/training_join.sql) on DuckDB."""

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
    READER_COLUMNS,
    RIDE_COLUMNS,
    RIDE_MONTH_CHARS,
    RIDE_PARTITION_COLUMN,
    WeatherError,
    download_prefix,
    parse_s3_uri,
    render_sql,
    s3_client,
    unique_rides_sql,
)
from wildrydes.weather.duckdb_engine import _duckdb_connect
from wildrydes_lambda.etl.csv_output import CSV_ESCAPE

# DuckDB names of the relations the shared SQL runs over (Athena: the rides table and the rides_unique view).
ALL_ROWS_VIEW = "rides_all"
UNIQUE_VIEW = "rides_unique"
WEATHER_VIEW = "weather"


@dataclass
class JoinReport:
    rides: int
    with_weather: int
    complete: int
    missing_station_days: list[tuple[str, str, int]]  # (station, date, rides) without a weather row
    rows_read: int = 0  # processed rows read, before the reader rule
    duplicate_rows: int = (
        0  # rows the reader rule dropped: another file's, a retry's or a superseded version's
    )

    def summary(self) -> str:
        without = self.rides - self.with_weather
        text = (
            f"{self.rides} rides: {self.with_weather} with a weather row, {self.complete} with TMIN, TMAX and "
            f"PRCP all present, {without} without weather"
        )
        if self.duplicate_rows:
            text += (
                f"; {self.duplicate_rows} of {self.rows_read} processed rows dropped as duplicates "
                "(the same ride in another file, a retry or a superseded version: sql/rides_unique.sql)"
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


def _csv_relation(files: list[Path], columns: dict[str, str], escape: str = '"') -> str:
    listing = ", ".join(f"'{f.as_posix()}'" for f in files)
    cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
    # null_padding: a file written before the lineage columns were appended reads them as NULL.
    return (
        f"read_csv([{listing}], header = true, auto_detect = false, hive_partitioning = false, "
        f"null_padding = true, quote = '\"', escape = '{escape}', columns = {{{cols}}})"
    )


def create_rides_views(con, ride_files: list[Path]) -> None:
    """``rides_all`` (every processed row, the Athena rides table's columns, ride_month from statustime as
    the writer partitions) and ``rides_unique`` over it (sql/rides_unique.sql, the Athena view's text)."""
    # The processed CSV escapes quotes and backslashes with a backslash (etl.csv_output, as Athena).
    relation = _csv_relation(ride_files, {c: "VARCHAR" for c in RIDE_COLUMNS}, escape=CSV_ESCAPE)
    con.execute(
        f"CREATE VIEW {ALL_ROWS_VIEW} AS SELECT *, substr(statustime, 1, {RIDE_MONTH_CHARS}) "
        f"AS {RIDE_PARTITION_COLUMN} FROM {relation}"
    )
    con.execute(f"CREATE VIEW {UNIQUE_VIEW} AS {unique_rides_sql(ALL_ROWS_VIEW)}")


@dataclass
class UniqueRides:
    """The reader view's rows (``READER_COLUMNS``, all strings as read) and how many rows it dropped."""

    rows: list[tuple]
    rows_read: int

    @property
    def duplicate_rows(self) -> int:
        return self.rows_read - len(self.rows)

    def as_dicts(self) -> list[dict[str, str]]:
        return [dict(zip(READER_COLUMNS, row, strict=True)) for row in self.rows]


def unique_rides_duckdb(rides: str, endpoint_url: str | None = None) -> UniqueRides:
    """The reader view (sql/rides_unique.sql) over the processed CSVs at ``rides`` (a local file/dir or an
    s3:// prefix), ordered by ride_id: what Athena's rides_unique returns for the same files."""
    with tempfile.TemporaryDirectory(prefix="wildrydes-unique-") as tmp:
        try:
            ride_files = _local_csvs(rides, "rides", endpoint_url, Path(tmp))
        except (ClientError, BotoCoreError) as exc:
            raise WeatherError(f"cannot read processed rides from S3: {exc}") from None
        con = _duckdb_connect()
        try:
            create_rides_views(con, ride_files)
            rows = con.execute(f"SELECT * FROM {UNIQUE_VIEW} ORDER BY ride_id").fetchall()
            (rows_read,) = con.execute(f"SELECT count(*) FROM {ALL_ROWS_VIEW}").fetchone()
        except duckdb.Error as exc:
            raise WeatherError(f"DuckDB reader view failed: {exc}") from None
        finally:
            con.close()
    return UniqueRides(rows=rows, rows_read=int(rows_read))


def join_duckdb(rides: str, weather: str, endpoint_url: str | None = None) -> tuple[list[tuple], JoinReport]:
    """Processed rides, each ride once (sql/rides_unique.sql), LEFT JOIN reduced weather
    (sql/training_join.sql), and a report of what is missing and how many duplicate rows were dropped."""
    with tempfile.TemporaryDirectory(prefix="wildrydes-join-") as tmp:
        workdir = Path(tmp)
        try:
            ride_files = _local_csvs(rides, "rides", endpoint_url, workdir)
            weather_files = _local_csvs(weather, "weather", endpoint_url, workdir)
        except (ClientError, BotoCoreError) as exc:
            raise WeatherError(f"cannot read join input from S3: {exc}") from None
        con = _duckdb_connect()
        weather_columns = {
            "station_id": "VARCHAR",
            "date": "VARCHAR",
            "tmin": "BIGINT",
            "tmax": "BIGINT",
            "prcp": "BIGINT",
        }
        try:
            create_rides_views(con, ride_files)
            con.execute(
                f"CREATE VIEW {WEATHER_VIEW} AS SELECT * FROM {_csv_relation(weather_files, weather_columns)}"
            )
            rows = con.execute(
                render_sql(JOIN_SQL, rides_table=UNIQUE_VIEW, weather_table=WEATHER_VIEW)
            ).fetchall()
            (rows_read,) = con.execute(f"SELECT count(*) FROM {ALL_ROWS_VIEW}").fetchone()
            (unique_rows,) = con.execute(f"SELECT count(*) FROM {UNIQUE_VIEW}").fetchone()
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
        rows_read=int(rows_read),
        duplicate_rows=int(rows_read) - int(unique_rows),
    )
    return rows, report


def format_join(rows: Iterable[Sequence]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(JOIN_HEADER)
    for row in rows:
        writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()
