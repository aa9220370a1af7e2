"""bench/ingest_1m.py's pure parts: the REPORT line parser and the results.json ``ingest_1m`` summary."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from wildrydes_dev import lambda_report

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("bench_ingest_1m", ROOT / "bench" / "ingest_1m.py")
assert _spec and _spec.loader
ingest_1m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ingest_1m)

REPORT = (
    "REPORT RequestId: 5f0c\tDuration: 61234.50 ms\tBilled Duration: 61235 ms"
    "\tMemory Size: 1024 MB\tMax Memory Used: 101 MB"
)


def test_report_line_is_parsed_and_other_lines_ignored():
    found = lambda_report.parse_reports(
        ["START RequestId: 5f0c Version: $LATEST", REPORT, "END RequestId: 5f0c"]
    )
    assert found == [{"request_id": "5f0c", "seconds": 61.2345, "memory_mb": 1024, "peak_rss_mb": 101}]


def test_summary_fractions_and_the_forty_percent_bar():
    report = lambda_report.parse_reports([REPORT])[0]
    summary = ingest_1m.summarize(report, timeout_s=300, rides=1_000_000, attempts=1)
    assert set(summary) >= {"seconds", "timeout_fraction", "peak_rss_mb", "memory_fraction", "memory_mb"}
    assert summary["timeout_fraction"] == round(61.2345 / 300, 3)
    assert summary["memory_fraction"] == round(101 / 1024, 3)
    assert summary["gb_seconds"] == round(61.2345, 1)  # 1 GB for 61.2 s
    assert summary["passed"] is True
    slow = ingest_1m.summarize({**report, "seconds": 181.0}, timeout_s=300, rides=1_000_000, attempts=1)
    assert slow["passed"] is False  # less than 40 % of the timeout left
    retried = ingest_1m.summarize(report, timeout_s=300, rides=1_000_000, attempts=2)
    assert retried["passed"] is False


def test_markdown_labels_a_quick_run():
    report = lambda_report.parse_reports([REPORT])[0]
    summary = ingest_1m.summarize(report, timeout_s=300, rides=100_000, attempts=1)
    summary.update(quick=True, file_mb=16.1, executor_limits="cgroup-v1", load_average=[1.0, 1.0])
    text = "\n".join(ingest_1m.markdown(summary))
    assert "--quick: 100,000 rides, not 1M" in text
    assert ingest_1m.markdown({}) == []


def test_request_ids_of_the_lines_naming_a_key():
    lines = [
        '{"level":"INFO","message":"file ingested","key":"raw/a.json","function_request_id":"r1"}',
        '{"level":"INFO","message":"file ingested","key":"raw/b.json","function_request_id":"r2"}',
        "raw/a.json in a plain line has no request id",
    ]
    assert lambda_report.request_ids_naming(lines, "raw/a.json") == {"r1"}
