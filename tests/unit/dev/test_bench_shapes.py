"""bench/run.py's pure parts for the file shapes: REPORT parsing, the per-shape results keys, check()."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    # bench/run.py imports its sibling modules (ingest_1m) the way `python bench/run.py` finds them: from
    # its own directory. Without this the test passed only when another test had put bench/ on sys.path.
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def _run(rpr: float, objects: float, seconds: float, rides: int) -> dict:
    return {
        "rides": rides,
        "rides_in": rides,
        "valid": rides,
        "processed": rides,
        "ingest_messages": rides // 100,
        "requests_by_api": {
            "s3.PutObject": objects * rides + 1,
            "s3.HeadObject": 4,
            "lambda.Invoke": 9,
            "sqs.ReceiveMessage": 30,
        },
        "billed_requests": rpr * rides,
        "requests_per_ride": rpr,
        "empty_receives": 25,
        "billed_requests_with_empty_polls": rpr * rides + 25,
        "requests_per_ride_with_empty_polls": rpr + 25 / rides,
        "cost_per_million_rides_usd": 0.03,
        "objects_written": int(objects * rides),
        "objects_current": int(objects * rides),
        "objects_per_ride": objects,
        "bytes_stored": 300 * rides,
        "bytes_stored_per_ride": 300.0,
        "lambda": {
            fn: {"invocations": 3, "seconds": rides * 1e-4, "gb_seconds": rides * 2.5e-5}
            for fn in ("ingest", "enrich", "writer")
        },
        "seconds": seconds,
        "rides_per_s": rides / seconds,
    }


def test_report_lines_give_invocations_seconds_and_gb_seconds(bench):
    messages = [
        "START RequestId: a Version: $LATEST\n",
        "REPORT RequestId: a\tDuration: 1500.50 ms\tBilled Duration: 1501 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 53 MB\n",
        "REPORT RequestId: b\tDuration: 499.50 ms\tBilled Duration: 500 ms\tMemory Size: 1024 MB\t"
        "Max Memory Used: 60 MB\n",
    ]
    r = bench.report_figures(messages)
    assert r["invocations"] == 2
    assert r["seconds"] == pytest.approx(2.0)
    assert r["gb_seconds"] == pytest.approx(1.501 * 0.25 + 0.5 * 1.0, abs=1e-4)


def test_shape_keys_hold_the_default_mode_with_the_baseline_beside(bench):
    shapes = {
        "dense": {"default": _run(0.0143, 0.006, 60, 100_000), "baseline": _run(2.7, 1.0, 900, 1_000)},
        "two_year": {"default": _run(0.018, 0.01, 20, 10_000), "baseline": None},
        "workshop": {"default": _run(0.019, 0.012, 30, 7_755), "baseline": _run(2.6, 1.0, 80, 500)},
    }
    out = bench.shape_results(shapes)
    assert out["requests_per_ride_by_shape"] == {"dense": 0.0143, "two_year": 0.018, "workshop": 0.019}
    assert out["requests_per_ride_by_shape_baseline"] == {"dense": 2.7, "workshop": 2.6}
    assert out["objects_per_ride_by_shape"]["workshop"] == 0.012
    assert out["seconds_to_processed_by_shape"]["workshop"] == 30
    assert out["projection"]["figures"]["shape"] == "workshop"  # the most requests per ride
    assert [s["rides_per_day"] for s in out["projection"]["scales"]] == [10**6, 10**8, 10**9]
    assert bench.check(out) == []


@pytest.mark.parametrize(
    ("key", "shape", "value", "flag"),
    [
        ("requests_per_ride_by_shape", "two_year", 0.021, "two_year: 0.0210 requests per ride"),
        ("objects_per_ride_by_shape", "dense", 0.03, "dense: 0.0300 S3 objects written per ride"),
        ("seconds_to_processed_by_shape", "workshop", 61.0, "workshop: 61.0 s"),
    ],
)
def test_check_flags_a_shape_over_the_goals(bench, key, shape, value, flag):
    results = {
        "requests_per_ride_by_shape": {"dense": 0.01, "two_year": 0.01, "workshop": 0.01},
        "objects_per_ride_by_shape": {"dense": 0.01, "two_year": 0.01, "workshop": 0.01},
        "seconds_to_processed_by_shape": {"dense": 100.0, "two_year": 100.0, "workshop": 59.0},
    }
    assert bench.check(results) == []
    results[key][shape] = value
    problems = bench.check(results)
    assert len(problems) == 1 and problems[0].startswith(flag)


def test_athena_scan_reads_only_the_months_a_query_names(bench):
    objects = [
        {"Key": "processed/ride_month=2017-06/a-1.csv", "Size": 600},
        {"Key": "processed/ride_month=2017-06/b-1.csv", "Size": 400},
        {"Key": "processed/ride_month=2017-07/a-1.csv", "Size": 100},
        {"Key": "processed/ride_month=2018-01/a-1.csv", "Size": 300},
        {"Key": "processed/stray.csv", "Size": 10_000},  # outside every partition: no query reads it
    ]
    scan = bench.athena_scan(objects)
    assert scan["months"] == 3 and scan["full_table_bytes"] == 1400
    assert scan["one_day_query_bytes_busiest_month"] == 1000
    assert scan["one_day_query_bytes_median_month"] == 300
    assert scan["pruned_fraction_busiest_month"] == round(1000 / 1400, 4)
    assert bench.athena_scan([])["full_table_bytes"] == 0


def test_the_bench_skips_ingests_sending_marker(bench):
    """A run once read ingest's `sending` marker (all counts 0) as the file's manifest and reported
    166 requests per ride: the newest manifest with counts that is not the marker is the file's."""
    import io
    import json
    from datetime import datetime

    from wildrydes_lambda.etl.ingestion import STATE_DONE, STATE_SENDING

    bodies = {
        "manifests/raw/x.json.json": {"rides_in": 7, "valid": 7, "state": STATE_DONE},
        "manifests/raw/x.json.versions/v1.json": {"rides_in": 0, "valid": 0, "state": STATE_SENDING},
    }
    times = {"manifests/raw/x.json.json": 1, "manifests/raw/x.json.versions/v1.json": 2}  # marker newest

    class S3:
        def get_object(self, Bucket, Key):  # noqa: N803 (boto3's names)
            return {"Body": io.BytesIO(json.dumps(bodies[Key]).encode())}

    etl = object.__new__(bench.Etl)
    etl.s3, etl.bucket = S3(), "b"
    etl.objects = lambda prefix: [
        {"Key": k, "LastModified": datetime.fromtimestamp(t)}
        for k, t in times.items()
        if k.startswith(prefix)
    ]
    assert etl.manifest("raw/x.json") == bodies["manifests/raw/x.json.json"]
    del bodies["manifests/raw/x.json.json"], times["manifests/raw/x.json.json"]
    assert etl.manifest("raw/x.json") is None  # only the marker so far: not done


def test_the_projection_takes_the_files_requests_not_the_empty_polls(bench):
    """Empty polls cost per minute of polling, not per ride: the projection's per-ride receives are the
    receives less the measured NumberOfEmptyReceives; the results keep both figures."""
    shapes = {"workshop": {"default": _run(0.019, 0.015, 11, 7_755), "baseline": None}}
    figures = bench.figures_for_projection(shapes)
    assert figures.requests_per_ride_by_api["sqs.ReceiveMessage"] == pytest.approx(5 / 7_755)
    out = bench.shape_results(shapes)
    assert out["empty_receives_by_shape"] == {"workshop": 25}
    assert out["requests_per_ride_with_empty_polls_by_shape"]["workshop"] == pytest.approx(0.019 + 25 / 7_755)


def test_the_1m_report_says_within_when_the_uncontended_time_is_within(bench):
    """The report said "beyond 60 % of the timeout" for 57.6 s of 300 s: it read a key nothing wrote."""
    import ingest_1m

    assert ingest_1m.uncontended_within({"seconds_uncontended": 57.6, "timeout_seconds": 300})
    assert not ingest_1m.uncontended_within({"seconds_uncontended": 181.0, "timeout_seconds": 300})
    assert not ingest_1m.uncontended_within({"timeout_seconds": 300})  # CPU figures unknown
