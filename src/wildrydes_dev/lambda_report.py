"""What one Lambda invocation cost on the process executor: its REPORT line and its worker's CPU.

The executor's worker ends every invocation's log with Lambda's ``REPORT`` line (Duration, Memory Size,
Max Memory Used = the worker's VmHWM), shipped to CloudWatch Logs like on AWS. On a shared machine the
Duration also holds time the worker was runnable but other work held the cores. :func:`worker_stats` reads
that (``/proc/<pid>/schedstat`` run delay minus the CPU cgroup's throttled time) and the worker's CPU
seconds (``/proc/<pid>/stat``) from the live workers of a function
(``build/localstack/<port>/executor/workers/*.pid``). Used by bench/ingest_1m.py and the reliability
suite's large-file case.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT_RE = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<duration>[\d.]+) ms.*?"
    r"Memory Size: (?P<size>\d+) MB\s+Max Memory Used: (?P<used>\d+) MB"
)
# utime and stime in /proc/<pid>/stat, counted from the field after "(comm)" (state = index 0).
STAT_UTIME, STAT_STIME = 11, 12
# /proc/<pid>/schedstat: on-CPU ns, run delay ns (runnable but not running: waiting for a core OR held back
# by the cgroup's CPU quota; the quota part is subtracted with the cgroup's own throttled time), timeslices
SCHEDSTAT_RUN_DELAY = 1
NS_PER_S = 1e9
US_PER_S = 1e6
CGROUP_ROOT = Path("/sys/fs/cgroup")


def parse_reports(messages: list[str]) -> list[dict]:
    """The REPORT lines among log messages: request id, Duration (s), Memory Size and Max Memory Used (MB)."""
    found = []
    for message in messages:
        match = REPORT_RE.search(message)
        if match:
            found.append(
                {
                    "request_id": match["id"],
                    "seconds": float(match["duration"]) / 1000,
                    "memory_mb": int(match["size"]),
                    "peak_rss_mb": int(match["used"]),
                }
            )
    return found


def log_messages(logs_client, function_name: str, since_ms: int) -> list[str]:
    """Every message of the function's log group since ``since_ms`` (epoch ms)."""
    messages: list[str] = []
    for page in logs_client.get_paginator("filter_log_events").paginate(
        logGroupName=f"/aws/lambda/{function_name}", startTime=since_ms
    ):
        messages += [event["message"] for event in page.get("events", [])]
    return messages


def request_ids_naming(messages: list[str], needle: str) -> set[str]:
    """Request ids of the structured (Powertools JSON) log lines that contain ``needle`` (e.g. an S3 key)."""
    found = set()
    for message in messages:
        if needle not in message or not message.lstrip().startswith("{"):
            continue
        try:
            request_id = json.loads(message).get("function_request_id")
        except ValueError:
            continue
        if request_id:
            found.add(request_id)
    return found


def _throttled_seconds(pid: str) -> float:
    """Time the worker's CPU cgroup was held back by its quota (v1 ``throttled_time`` ns, v2 ``throttled_usec``)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "cpu" or "cpu" in controllers.split(","):
            stat = CGROUP_ROOT / controllers / path.lstrip("/") / "cpu.stat"
        elif controllers == "":
            stat = CGROUP_ROOT / path.lstrip("/") / "cpu.stat"
        else:
            continue
        if not stat.exists():
            continue
        for entry in stat.read_text().splitlines():
            name, _, value = entry.partition(" ")
            if name == "throttled_time":
                return int(value) / NS_PER_S
            if name == "throttled_usec":
                return int(value) / US_PER_S
    return 0.0


def worker_stats(port: int, function_name: str, root: Path = ROOT) -> dict | None:
    """The busiest live worker (most CPU) of ``function_name`` on the LocalStack at ``port`` (the one that
    ran a large file when smaller ones went to other workers): ``cpu_seconds`` (user + system),
    ``throttled_seconds`` (held back by its CPU quota: Lambda's CPU share, part of the function's own time)
    and ``contention_seconds`` (runnable, within its quota, while other work held the cores: the schedstat
    run delay minus the throttled time; a real Lambda would not have waited). None when none is alive."""
    ticks = os.sysconf("SC_CLK_TCK")
    busiest: dict | None = None
    for pid_file in (root / "build" / "localstack" / str(port) / "executor" / "workers").glob("*.pid"):
        try:
            pid = pid_file.read_text().strip()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
            schedstat = Path(f"/proc/{pid}/schedstat").read_text().split()
            throttled = _throttled_seconds(pid)
        except (OSError, ValueError):
            continue
        if f"AWS_LAMBDA_FUNCTION_NAME={function_name}".encode() not in environ:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        cpu = (int(fields[STAT_UTIME]) + int(fields[STAT_STIME])) / ticks
        run_delay = int(schedstat[SCHEDSTAT_RUN_DELAY]) / NS_PER_S
        if busiest is None or cpu > busiest["cpu_seconds"]:
            busiest = {
                "cpu_seconds": round(cpu, 1),
                "throttled_seconds": round(throttled, 1),
                "contention_seconds": round(max(run_delay - throttled, 0.0), 1),
            }
    return busiest
