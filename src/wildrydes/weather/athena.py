"""The Athena engine of `weather reduce`: start the named SQL in the workgroup, wait, read the rows, report
the bytes scanned and their cost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from wildrydes.weather.common import (
    ATHENA_DEFAULT_DATABASE,
    ATHENA_DEFAULT_WORKGROUP,
    ATHENA_MIN_BILLED_BYTES,
    ATHENA_POLL_SECONDS,
    ATHENA_TABLES,
    ATHENA_TIMEOUT_SECONDS,
    ATHENA_USD_PER_TB,
    OUTPUT_HEADER,
    AthenaQueryFailed,
    WeatherError,
    reduce_sql,
)


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
