"""What both weather engines share: the SQL files and their rendering, input validation, errors, and the
local-or-S3 file helpers."""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import csv_schema
from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS
from wildrydes_lambda.etl.stations import GROUND_STATIONS

SQL_DIR = Path(__file__).resolve().parents[3] / "sql"
REDUCE_SQL = {"parquet": "reduce_ghcn_parquet.sql", "csv": "reduce_ghcn_csv.sql"}
JOIN_SQL = "training_join.sql"
UNIQUE_SQL = "rides_unique.sql"  # the reader rule: each ride once (Athena view rides_unique)

DEFAULT_STATIONS = tuple(sorted(GROUND_STATIONS))
DEFAULT_YEARS = (2017, 2018)  # the years the workshop's rides cover
# Concurrent GetObjects when copying an S3 prefix (download_prefix): small CSVs, so latency-bound.
DOWNLOAD_THREADS = 16
REDUCED_ELEMENTS = ("TMIN", "TMAX", "PRCP")
OUTPUT_HEADER = ("station_id", "date", "tmin", "tmax", "prcp")
OUTPUT_FILE_NAME = "ground_station_weather.csv"
JOIN_HEADER = (
    "ride_id",
    "ride_date",
    "groundstation",
    "heavy_utilization",
    "distance",
    "station_distance_miles",
    "tmin",
    "tmax",
    "prcp",
    "has_weather",
    "weather_complete",
)
GHCN_COLUMNS = ("id", "date", "element", "data_value", "m_flag", "q_flag", "s_flag", "obs_time")
# processed/ CSV header, as the writer Lambda renders it: the ride's columns, then its lineage (source object
# key hash, S3 version id, the upload's event time as sortable text), which sql/rides_unique.sql picks by.
RIDE_COLUMNS = CSV_COLUMNS
LINEAGE_COLUMNS = csv_schema.LINEAGE_COLUMNS
RIDE_PARTITION_COLUMN = "ride_month"  # processed/ride_month=YYYY-MM/: the rides table's partition key
RIDE_MONTH_CHARS = len("YYYY-MM")  # a ride's month is the start of its statustime
# The reader view's columns: the rides table's, in its order (CSV columns, then the partition key).
READER_COLUMNS = (*RIDE_COLUMNS, RIDE_PARTITION_COLUMN)

# Athena pricing (us-east-1): $5 per TB scanned (TB = 10^12 bytes), at least 10 MB billed per query.
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BILLED_BYTES = 10 * 1_000_000
ATHENA_DEFAULT_WORKGROUP = "wildrydes-weather"  # modules/athena: "${name_prefix}-weather"
ATHENA_DEFAULT_DATABASE = "wildrydes"
ATHENA_TABLES = {"parquet": "ghcn_parquet", "csv": "ghcn_csv"}  # modules/athena table_names
ATHENA_POLL_SECONDS = 2.0
ATHENA_TIMEOUT_SECONDS = 1800.0

_STATION_RE = re.compile(r"^[A-Z0-9]{11}$")


class WeatherError(Exception):
    """A reduction/join failure with a one-line, user-facing message."""


class AthenaQueryFailed(WeatherError):
    """Athena ended a query in FAILED or CANCELLED; the message carries Athena's StateChangeReason."""


def sql_list(values: Iterable[str]) -> str:
    """Comma list of single-quoted SQL literals (callers validate the values; quotes are doubled anyway)."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def validate_stations(stations: Sequence[str]) -> list[str]:
    bad = [s for s in stations if not _STATION_RE.match(s)]
    if bad or not stations:
        raise WeatherError(
            f"station ids must be 11 upper-case letters/digits (GHCN-D ids), got {bad or 'none'}"
        )
    return sorted(set(stations))


def validate_years(years: Sequence[int | str]) -> list[int]:
    try:
        out = sorted({int(y) for y in years})
    except ValueError:
        raise WeatherError(f"years must be integers, got {list(years)}") from None
    if not out or not all(1750 <= y <= 2100 for y in out):
        raise WeatherError(f"years must lie in 1750..2100, got {out}")
    return out


def render_sql(file_name: str, **values: str) -> str:
    """The SQL file with its ${name} placeholders filled (the same syntax Terraform's templatefile uses)."""
    path = SQL_DIR / file_name
    try:
        return string.Template(path.read_text()).substitute(values)
    except KeyError as exc:
        raise WeatherError(f"{path} needs placeholder {exc}") from None


def unique_rides_sql(rides_table: str) -> str:
    """sql/rides_unique.sql over ``rides_table`` (one row per ride_id, the newest upload's), as Athena's view."""
    return render_sql(UNIQUE_SQL, rides_table=rides_table, ride_columns=", ".join(READER_COLUMNS))


def reduce_sql(layout: str, ghcn_table: str, stations: Sequence[str], years: Sequence[int]) -> str:
    return render_sql(
        REDUCE_SQL[layout],
        ghcn_table=ghcn_table,
        stations=sql_list(stations),
        years=sql_list(map(str, years)),
    )


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """(bucket, prefix without leading slash) for s3:// URIs, None for local paths (``aws.parse_s3_uri``)."""
    return tuple(aws.parse_s3_uri(uri)) if aws.is_s3_uri(uri) else None  # type: ignore[return-value]


def s3_client(endpoint_url: str | None = None) -> Any:
    """boto3 S3 client (the one factory, ``aws.make_client``): an endpoint (argument, AWS_ENDPOINT_URL_S3 or
    AWS_ENDPOINT_URL: LocalStack) gets path-style addressing."""
    return aws.make_client("s3", endpoint_url)


def _join_key(prefix: str, *parts: str) -> str:
    prefix = prefix.strip("/")
    return "/".join(p for p in (prefix, *parts) if p)


def download_prefix(s3, bucket: str, prefix: str, dest: Path, suffix: str = "") -> list[Path]:
    """Copy every object under ``prefix`` (ending with ``suffix``) to ``dest``, keeping relative paths.

    Objects are fetched DOWNLOAD_THREADS at a time with one GetObject each (boto3 clients are thread-safe):
    processed/ holds one small CSV per (message, month), so a sequential copy spends its time waiting."""
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if not obj["Key"].endswith("/") and obj["Key"].endswith(suffix)
    ]

    def fetch(key: str) -> Path:
        target = dest / key[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return target

    with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS) as pool:
        return sorted(pool.map(fetch, keys))


# processed/ride_month=YYYY-MM/ (and the ride_date=YYYY-MM-DD/ partitions written before issue 13).
_RIDE_PARTITION_DIR_RE = re.compile(r"(?:ride_month=(\d{4})-\d{2}|ride_date=(\d{4})-\d{2}-\d{2})/?$")


def years_from_processed(location: str, endpoint_url: str | None = None) -> list[int]:
    """Years the processed rides cover, from their ``ride_month=YYYY-MM`` partition names (older
    ``ride_date=YYYY-MM-DD`` ones count too; no data read)."""
    names: list[str] = []
    s3_loc = parse_s3_uri(location)
    if s3_loc:
        bucket, prefix = s3_loc
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        for page in (
            s3_client(endpoint_url)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        ):
            names += [p["Prefix"][len(prefix) :] for p in page.get("CommonPrefixes", [])]
    else:
        path = Path(location)
        names = [p.name for p in path.iterdir() if p.is_dir()] if path.is_dir() else []
    years = sorted({int(m.group(1) or m.group(2)) for n in names if (m := _RIDE_PARTITION_DIR_RE.match(n))})
    if not years:
        raise WeatherError(f"no ride_month=YYYY-MM partitions under {location}")
    return years


def format_output(rows: Iterable[Sequence]) -> str:
    """The reduced-weather CSV: header, then rows; NULL -> empty field; integers without decoration."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def write_text(text: str, out: str, file_name: str, endpoint_url: str | None = None) -> str:
    """Write ``text`` to ``out``: an s3:// prefix or a local directory (``file_name`` inside), or a .csv path."""
    s3_loc = parse_s3_uri(out)
    if s3_loc:
        bucket, prefix = s3_loc
        key = prefix if prefix.endswith(".csv") else _join_key(prefix, file_name)
        s3_client(endpoint_url).put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="text/csv")
        return f"s3://{bucket}/{key}"
    path = Path(out)
    if path.suffix != ".csv":
        path = path / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)
