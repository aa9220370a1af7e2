"""`wildrydes weather`: reduce GHCN-D to daily TMIN/TMAX/PRCP per ground station, and join it to rides.

``weather reduce`` runs one SQL text (sql/reduce_ghcn_{parquet,csv}.sql) either on Athena or locally on
DuckDB and writes the same CSV (``station_id,date,tmin,tmax,prcp``) either way. ``weather join`` runs
sql/training_join.sql on DuckDB: processed rides LEFT JOIN that weather, reporting rides without weather.

DuckDB reads local files directly. For ``s3://`` sources it cannot use its httpfs extension here (extensions
download from the internet, which is not reachable, and none is bundled), so the objects the query needs are
copied with boto3 into a temporary directory first; for the Parquet layout only the YEAR=/ELEMENT=
partitions wanted are listed and copied, which is the same pruning Athena's partition projection does.
S3 endpoints: boto3's defaults, or AWS_ENDPOINT_URL / --endpoint-url for LocalStack.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from botocore.exceptions import BotoCoreError, ClientError
from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS
from wildrydes_lambda.etl.stations import GROUND_STATIONS

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
REDUCE_SQL = {"parquet": "reduce_ghcn_parquet.sql", "csv": "reduce_ghcn_csv.sql"}
JOIN_SQL = "training_join.sql"

DEFAULT_STATIONS = tuple(sorted(GROUND_STATIONS))
DEFAULT_YEARS = (2017, 2018)  # the years the workshop's rides cover
REDUCED_ELEMENTS = ("TMIN", "TMAX", "PRCP")
OUTPUT_HEADER = ("station_id", "date", "tmin", "tmax", "prcp")
OUTPUT_FILE_NAME = "ground_station_weather.csv"
JOIN_HEADER = (
    "ride_id", "ride_date", "groundstation", "heavy_utilization", "distance", "tmin", "tmax", "prcp",
    "has_weather", "weather_complete",
)
GHCN_COLUMNS = ("id", "date", "element", "data_value", "m_flag", "q_flag", "s_flag", "obs_time")
RIDE_COLUMNS = CSV_COLUMNS  # processed/ CSV header, as the writer Lambda renders it

# Athena pricing (us-east-1): $5 per TB scanned (TB = 10^12 bytes), at least 10 MB billed per query.
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BILLED_BYTES = 10 * 1_000_000
ATHENA_DEFAULT_WORKGROUP = "wildrydes-weather"  # modules/athena: "${name_prefix}-weather"
ATHENA_DEFAULT_DATABASE = "wildrydes"
ATHENA_TABLES = {"parquet": "ghcn_parquet", "csv": "ghcn_csv"}  # modules/athena table_names
ATHENA_POLL_SECONDS = 2.0
ATHENA_TIMEOUT_SECONDS = 1800.0

_STATION_RE = re.compile(r"^[A-Z0-9]{11}$")
_S3_URI_RE = re.compile(r"^s3://([^/]+)/?(.*)$")


class WeatherError(Exception):
    """A reduction/join failure with a one-line, user-facing message."""


class AthenaQueryFailed(WeatherError):
    """Athena ended a query in FAILED or CANCELLED; the message carries Athena's StateChangeReason."""


# ------------------------------------------------------------------------------------------------ helpers
def sql_list(values: Iterable[str]) -> str:
    """Comma list of single-quoted SQL literals (callers validate the values; quotes are doubled anyway)."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def validate_stations(stations: Sequence[str]) -> list[str]:
    bad = [s for s in stations if not _STATION_RE.match(s)]
    if bad or not stations:
        raise WeatherError(f"station ids must be 11 upper-case letters/digits (GHCN-D ids), got {bad or 'none'}")
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


def reduce_sql(layout: str, ghcn_table: str, stations: Sequence[str], years: Sequence[int]) -> str:
    return render_sql(
        REDUCE_SQL[layout], ghcn_table=ghcn_table, stations=sql_list(stations), years=sql_list(map(str, years))
    )


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """(bucket, prefix without leading slash) for s3:// URIs, None for local paths."""
    match = _S3_URI_RE.match(uri)
    return (match.group(1), match.group(2)) if match else None


def s3_client(endpoint_url: str | None = None):
    """boto3 S3 client. An endpoint (argument, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL: LocalStack) gets
    path-style addressing, since bucket-name subdomains of 127.0.0.1 do not resolve."""
    import boto3
    from botocore.config import Config

    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint_url:
        return boto3.client("s3", endpoint_url=endpoint_url, config=Config(s3={"addressing_style": "path"}))
    return boto3.client("s3")


def _join_key(prefix: str, *parts: str) -> str:
    prefix = prefix.strip("/")
    return "/".join(p for p in (prefix, *parts) if p)


def download_prefix(s3, bucket: str, prefix: str, dest: Path, suffix: str = "") -> list[Path]:
    """Copy every object under ``prefix`` (ending with ``suffix``) to ``dest``, keeping relative paths."""
    paths = []
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/") or not key.endswith(suffix):
                continue
            target = dest / key[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            paths.append(target)
    return sorted(paths)


_RIDE_DATE_DIR_RE = re.compile(r"ride_date=(\d{4})-\d{2}-\d{2}/?$")


def years_from_processed(location: str, endpoint_url: str | None = None) -> list[int]:
    """Years the processed rides cover, from their ``ride_date=YYYY-MM-DD`` partition names (no data read)."""
    names: list[str] = []
    s3_loc = parse_s3_uri(location)
    if s3_loc:
        bucket, prefix = s3_loc
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        for page in s3_client(endpoint_url).get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        ):
            names += [p["Prefix"][len(prefix):] for p in page.get("CommonPrefixes", [])]
    else:
        path = Path(location)
        names = [p.name for p in path.iterdir() if p.is_dir()] if path.is_dir() else []
    years = sorted({int(m.group(1)) for n in names if (m := _RIDE_DATE_DIR_RE.match(n))})
    if not years:
        raise WeatherError(f"no ride_date=YYYY-MM-DD partitions under {location}")
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


# -------------------------------------------------------------------------------------------------- DuckDB
@dataclass
class DuckDBRun:
    rows: list[tuple]
    bytes_read: int  # DuckDB's own I/O counter (profiling io.total_bytes_read)
    files_scanned: str = ""  # e.g. "3/8" for Parquet after partition pruning
    fetched_objects: int = 0  # objects copied from S3 (S3 sources only)
    fetched_bytes: int = 0
    notes: list[str] = field(default_factory=list)


def _duckdb_connect():
    con = duckdb.connect()
    con.execute("SET threads = 1")  # deterministic, and CPU is shared
    return con


def _profiled(con, sql: str, workdir: Path) -> tuple[list[tuple], dict]:
    """Run ``sql`` with JSON profiling on; return rows and the profile (bytes read, files scanned)."""
    profile_path = workdir / "profile.json"
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{profile_path.as_posix()}'")
    rows = con.execute(sql).fetchall()
    con.execute("PRAGMA disable_profiling")
    try:
        profile = json.loads(profile_path.read_text())
    except (OSError, ValueError):
        profile = {}
    return rows, profile


def _scan_info(profile: dict) -> str:
    found = []

    def walk(node):
        if isinstance(node, dict):
            info = node.get("extra_info") or {}
            if isinstance(info, dict) and "Scanning Files" in info:
                found.append(info["Scanning Files"])
            for child in node.get("children", []) + node.get("operator", []):
                walk(child)

    walk(profile)
    return ", ".join(found)


def _ghcn_view_sql(layout: str, root: Path, years: Sequence[int]) -> str:
    """DuckDB relation over a local GHCN-D layout root, with Athena's (lower-case, string) column names."""
    if layout == "parquet":
        base = root / "parquet" / "by_year"
        if not any(base.glob("YEAR=*/ELEMENT=*/*.parquet")):
            raise WeatherError(f"no Parquet files under {base}/YEAR=*/ELEMENT=*/")
        # hive_types keeps year/element strings as in the Athena table; DuckDB prunes on them.
        return (
            f"SELECT id, date, data_value, m_flag, q_flag, s_flag, obs_time, year, element "
            f"FROM read_parquet('{base.as_posix()}/YEAR=*/ELEMENT=*/*.parquet', hive_partitioning = true, "
            f"hive_types = {{'YEAR': VARCHAR, 'ELEMENT': VARCHAR}})"
        )
    base = root / "csv" / "by_year"
    files = [base / f"{y}.csv" for y in years]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise WeatherError(f"GHCN-D CSV file(s) not found: {', '.join(missing)}")
    # No header handling on purpose: a header line has id 'ID' and the station filter drops it, so files
    # with and without a header (NOAA's own have none) read the same. All strings, as Athena's CSV table.
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in GHCN_COLUMNS)
    listing = ", ".join(f"'{f.as_posix()}'" for f in files)
    return (
        f"SELECT * FROM read_csv([{listing}], header = false, auto_detect = false, delim = ',', "
        f"quote = '\"', columns = {{{columns}}})"
    )


def fetch_ghcn_from_s3(
    s3, bucket: str, prefix: str, layout: str, years: Sequence[int], dest: Path
) -> tuple[int, int]:
    """Copy only the GHCN-D objects the reduction needs; return (objects, bytes)."""
    paths: list[Path] = []
    if layout == "parquet":
        for year in years:
            for element in REDUCED_ELEMENTS:
                part = _join_key(prefix, "parquet", "by_year", f"YEAR={year}", f"ELEMENT={element}")
                paths += download_prefix(
                    s3, bucket, part, dest / "parquet" / "by_year" / f"YEAR={year}" / f"ELEMENT={element}",
                    ".parquet",
                )
    else:
        for year in years:
            key = _join_key(prefix, "csv", "by_year", f"{year}.csv")
            target = dest / "csv" / "by_year" / f"{year}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                s3.download_file(bucket, key, str(target))
            except (ClientError, BotoCoreError) as exc:  # 404, access denied, endpoint down
                raise WeatherError(f"cannot read s3://{bucket}/{key}: {exc}") from None
            paths.append(target)
    if not paths:
        raise WeatherError(f"no GHCN-D {layout} objects for years {list(years)} under s3://{bucket}/{prefix}")
    return len(paths), sum(p.stat().st_size for p in paths)


def reduce_duckdb(
    source: str,
    layout: str,
    stations: Sequence[str],
    years: Sequence[int],
    endpoint_url: str | None = None,
) -> DuckDBRun:
    """Run the reduction SQL on DuckDB over a local GHCN-D root or an s3:// one (copied as needed)."""
    with tempfile.TemporaryDirectory(prefix="wildrydes-weather-") as tmp:
        workdir = Path(tmp)
        fetched = (0, 0)
        s3_loc = parse_s3_uri(source)
        if s3_loc:
            root = workdir / "ghcn"
            try:
                fetched = fetch_ghcn_from_s3(s3_client(endpoint_url), *s3_loc, layout, years, root)
            except (ClientError, BotoCoreError) as exc:  # no credentials, no bucket, endpoint down
                raise WeatherError(f"cannot read GHCN-D from {source}: {exc}") from None
        else:
            root = Path(source)
            if not root.is_dir():
                raise WeatherError(f"source {source} is not a directory (expected the GHCN-D root)")
        con = _duckdb_connect()
        con.execute(f"CREATE VIEW ghcn AS {_ghcn_view_sql(layout, root, years)}")
        sql = reduce_sql(layout, "ghcn", stations, years)
        try:
            rows, profile = _profiled(con, sql, workdir)
        except duckdb.Error as exc:  # unreadable files, bad casts
            raise WeatherError(f"DuckDB reduction failed: {exc}") from None
        finally:
            con.close()
    return DuckDBRun(
        rows=rows,
        bytes_read=int(profile.get("io", {}).get("total_bytes_read", 0)),
        files_scanned=_scan_info(profile),
        fetched_objects=fetched[0],
        fetched_bytes=fetched[1],
    )


# -------------------------------------------------------------------------------------------------- Athena
@dataclass
class AthenaRun:
    query_execution_id: str
    rows: list[tuple]
    bytes_scanned: int
    engine_ms: int

    @property
    def cost_usd(self) -> float:
        return athena_cost_usd(self.bytes_scanned)


def athena_cost_usd(bytes_scanned: int) -> float:
    """Athena's charge for one query: $5/TB, rounded up to whole MB, 10 MB minimum."""
    billed = max(ATHENA_MIN_BILLED_BYTES, -(-bytes_scanned // 1_000_000) * 1_000_000)
    return billed / 1e12 * ATHENA_USD_PER_TB


def run_athena_query(
    athena,
    sql: str,
    database: str,
    workgroup: str,
    poll_seconds: float = ATHENA_POLL_SECONDS,
    timeout_seconds: float = ATHENA_TIMEOUT_SECONDS,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, dict]:
    """Start the query in the workgroup, poll until it ends; return (id, final QueryExecution).

    The workgroup enforces the result location, encryption and scan cutoff, so none is passed here.
    """
    try:
        started = athena.start_query_execution(
            QueryString=sql, QueryExecutionContext={"Database": database}, WorkGroup=workgroup
        )
    except (ClientError, BotoCoreError) as exc:  # workgroup missing, access denied, ...
        raise WeatherError(f"Athena did not start the query: {exc}") from None
    qid = started["QueryExecutionId"]
    waited = 0.0
    while True:
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        status = execution.get("Status", {})
        state = status.get("State", "UNKNOWN")
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0) or 0)
        if progress:
            progress(f"athena {qid}: {state}, {scanned:,} bytes scanned, {waited:.0f}s")
        if state == "SUCCEEDED":
            return qid, execution
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or "no reason given"
            raise AthenaQueryFailed(f"Athena query {qid} {state}: {reason}")
        if waited >= timeout_seconds:
            athena.stop_query_execution(QueryExecutionId=qid)
            raise WeatherError(f"Athena query {qid} still {state} after {timeout_seconds:.0f}s; stopped it")
        sleep(poll_seconds)
        waited += poll_seconds


def athena_result_rows(athena, qid: str) -> list[tuple]:
    """All result rows (header skipped); a NULL cell (no VarCharValue) becomes None."""
    rows: list[tuple] = []
    paginator = athena.get_paginator("get_query_results")
    first = True
    for page in paginator.paginate(QueryExecutionId=qid):
        for row in page["ResultSet"]["Rows"]:
            values = tuple(cell.get("VarCharValue") for cell in row["Data"])
            if first:
                first = False
                if [v.lower() if v else v for v in values] == list(OUTPUT_HEADER):
                    continue
            rows.append(values)
    return rows


def reduce_athena(
    athena,
    layout: str,
    stations: Sequence[str],
    years: Sequence[int],
    database: str = ATHENA_DEFAULT_DATABASE,
    workgroup: str = ATHENA_DEFAULT_WORKGROUP,
    table: str | None = None,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = ATHENA_POLL_SECONDS,
) -> AthenaRun:
    ghcn_table = f"{database}.{table or ATHENA_TABLES[layout]}"
    sql = reduce_sql(layout, ghcn_table, stations, years)
    qid, execution = run_athena_query(
        athena, sql, database, workgroup, progress=progress, sleep=sleep, poll_seconds=poll_seconds
    )
    stats = execution.get("Statistics", {})
    return AthenaRun(
        query_execution_id=qid,
        rows=athena_result_rows(athena, qid),
        bytes_scanned=int(stats.get("DataScannedInBytes", 0) or 0),
        engine_ms=int(stats.get("EngineExecutionTimeInMillis", 0) or 0),
    )


def normalize_rows(rows: Iterable[Sequence]) -> list[tuple]:
    """Rows as (station, date, int|None x3), so Athena's strings and DuckDB's ints print the same."""
    out = []
    for row in rows:
        station, day, *values = row
        out.append((station, day, *[None if v in (None, "") else int(v) for v in values]))
    return out


# ------------------------------------------------------------------------------------------------ join
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


def join_duckdb(
    rides: str, weather: str, endpoint_url: str | None = None
) -> tuple[list[tuple], JoinReport]:
    """processed rides LEFT JOIN reduced weather (sql/training_join.sql) and a report of what is missing."""
    with tempfile.TemporaryDirectory(prefix="wildrydes-join-") as tmp:
        workdir = Path(tmp)
        try:
            ride_files = _local_csvs(rides, "rides", endpoint_url, workdir)
            weather_files = _local_csvs(weather, "weather", endpoint_url, workdir)
        except (ClientError, BotoCoreError) as exc:
            raise WeatherError(f"cannot read join input from S3: {exc}") from None
        con = _duckdb_connect()

        def view(name: str, files: list[Path], columns: dict[str, str]) -> None:
            listing = ", ".join(f"'{f.as_posix()}'" for f in files)
            cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_csv([{listing}], header = true, auto_detect = false, "
                f"hive_partitioning = false, columns = {{{cols}}})"
            )

        try:
            view("rides", ride_files, {c: "VARCHAR" for c in RIDE_COLUMNS})
            view("weather", weather_files, {
                "station_id": "VARCHAR", "date": "VARCHAR", "tmin": "BIGINT", "tmax": "BIGINT", "prcp": "BIGINT"
            })
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


# --------------------------------------------------------------------------------------------------- CLI
def register(subparsers) -> None:
    p = subparsers.add_parser("weather", help="GHCN-D reduction (Athena or DuckDB) and the rides-weather join")
    sub = p.add_subparsers(dest="weather_command", required=True, metavar="ACTION")

    r = sub.add_parser("reduce", help="daily TMIN/TMAX/PRCP per ground station -> station_id,date,tmin,tmax,prcp")
    r.add_argument("--engine", choices=("athena", "duckdb"), required=True)
    r.add_argument("--source", help="GHCN-D root (dir or s3://bucket/prefix holding csv/ and parquet/); "
                                    "duckdb only: Athena reads the Glue table's location")
    r.add_argument("--out", required=True, help="output dir, .csv path or s3://bucket/nygroundstationdata/")
    r.add_argument("--stations", nargs="+", default=list(DEFAULT_STATIONS), help="GHCN-D station ids")
    years = r.add_mutually_exclusive_group()
    years.add_argument("--years", nargs="+", type=int, help=f"years to keep (default {DEFAULT_YEARS})")
    years.add_argument("--years-from", metavar="PROCESSED",
                       help="keep the years the processed rides cover (their ride_date= partitions, dir or s3://)")
    r.add_argument("--layout", choices=("parquet", "csv"), default="parquet",
                   help="parquet (partition-pruned, cheap) or csv (whole-year scans)")
    r.add_argument("--endpoint-url", help="S3 endpoint (LocalStack); AWS_ENDPOINT_URL(_S3) also works")
    r.add_argument("--athena-endpoint-url", help="athena: endpoint (moto); AWS_ENDPOINT_URL_ATHENA also works")
    r.add_argument("--workgroup", default=ATHENA_DEFAULT_WORKGROUP, help="athena: workgroup")
    r.add_argument("--database", default=ATHENA_DEFAULT_DATABASE, help="athena: Glue database")
    r.add_argument("--table", help="athena: GHCN-D table (default ghcn_parquet / ghcn_csv)")
    r.set_defaults(func=_run_reduce)

    j = sub.add_parser("join", help="processed rides LEFT JOIN reduced weather; reports rides without weather")
    j.add_argument("--rides", required=True, help="processed/ dir or s3:// prefix (CSV with header)")
    j.add_argument("--weather", required=True, help="reduced weather CSV, dir or s3:// prefix")
    j.add_argument("--out", required=True, help="output dir, .csv path or s3:// prefix")
    j.add_argument("--endpoint-url", help="S3 endpoint (LocalStack); AWS_ENDPOINT_URL also works")
    j.add_argument("--fail-on-missing", action="store_true", help="exit 1 when any ride has no weather row")
    j.set_defaults(func=_run_join)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run_reduce(args) -> int:
    from wildrydes.errors import CommandError

    try:
        stations = validate_stations(args.stations)
        if args.years_from:
            years = validate_years(years_from_processed(args.years_from, args.endpoint_url))
        else:
            years = validate_years(args.years or DEFAULT_YEARS)
        if args.engine == "duckdb":
            if not args.source:
                raise WeatherError("--source is required with --engine duckdb")
            run = reduce_duckdb(args.source, args.layout, stations, years, args.endpoint_url)
            rows = run.rows
            fetched = (
                f", copied {run.fetched_objects} object(s) / {run.fetched_bytes:,} bytes from S3"
                if run.fetched_objects else ""
            )
            _log(f"duckdb: read {run.bytes_read:,} bytes ({args.layout}; files scanned {run.files_scanned or 'n/a'})"
                 f"{fetched}")
        else:
            if args.source and not parse_s3_uri(args.source):
                raise WeatherError("--engine athena reads S3 through the Glue table; --source must be s3:// if given")
            import boto3

            # Athena's endpoint is separate from S3's: moto serves it locally (AWS_ENDPOINT_URL_ATHENA works too).
            athena = boto3.client("athena", endpoint_url=args.athena_endpoint_url or None)
            run = reduce_athena(athena, args.layout, stations, years, args.database, args.workgroup, args.table,
                                progress=_log)
            rows = run.rows
            _log(f"athena {run.query_execution_id}: scanned {run.bytes_scanned:,} bytes, "
                 f"estimated cost ${run.cost_usd:.6f} (${ATHENA_USD_PER_TB:.0f}/TB, 10 MB minimum)")
        text = format_output(normalize_rows(rows))
        where = write_text(text, args.out, OUTPUT_FILE_NAME, args.endpoint_url)
    except WeatherError as exc:
        raise CommandError(str(exc)) from None
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    print(f"wrote {len(rows)} station-days ({', '.join(stations)}; {', '.join(map(str, years))}) to {where}")
    return 0


def _run_join(args) -> int:
    from wildrydes.errors import CommandError

    try:
        rows, report = join_duckdb(args.rides, args.weather, args.endpoint_url)
        where = write_text(format_join(rows), args.out, "training_join.csv", args.endpoint_url)
    except WeatherError as exc:
        raise CommandError(str(exc)) from None
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    print(f"wrote {len(rows)} rides to {where}")
    _log(("warning: " if report.rides != report.with_weather else "") + report.summary())
    return 1 if args.fail_on_missing and report.rides != report.with_weather else 0
