"""The DuckDB engine of `weather reduce`: the same SQL as Athena, on local files (S3 objects copied first,
only the partitions the query needs)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from botocore.exceptions import BotoCoreError, ClientError

from wildrydes.weather.common import (
    GHCN_COLUMNS,
    REDUCED_ELEMENTS,
    WeatherError,
    _join_key,
    download_prefix,
    parse_s3_uri,
    reduce_sql,
    s3_client,
)


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
                    s3,
                    bucket,
                    part,
                    dest / "parquet" / "by_year" / f"YEAR={year}" / f"ELEMENT={element}",
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
