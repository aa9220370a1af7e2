#!/usr/bin/env python3
"""`make bench`: every performance figure of wildrydes-ml next to a baseline measured in the same run.

Writes build/bench/results.json and regenerates docs/benchmarks.md from it. Sections (each can be skipped
with --skip NAME):

- etl        AWS requests per ride, per API, through the real ETL on LocalStack, for the default
             configuration and for the workshop baseline (RIDES_PER_MESSAGE=1, WRITER_MODE=per_ride), plus
             end-to-end throughput (upload -> last ride in processed/), on three file shapes (dense one
             month, the demo's two-year spread, the workshop's 10-year ride_data.json shape): requests and
             S3 objects written per ride, seconds to processed/, Lambda GB-seconds (REPORT lines), bytes
             stored; then the scale projection to 1M/100M/1B rides a day (wildrydes_dev/projection.py).
- ingest_1m  bench/ingest_1m.py: one 1M-ride file through ingest under the executor's Lambda limits
             (seconds, peak RSS, fractions of timeout and MemorySize; results.json key ``ingest_1m``).
- rss        peak RSS of the ingest handler run locally (against the moto server) for a small and a 10x
             file; baseline: loading the same file with json.load as the workshop's function did.
- inference  bench/inference_bench.py (cold start, warm p50/p99 per engine, API round trip).
- api        bench/api_concurrency.py: the inference API through LocalStack at 1, 2, 4, 8 clients after
             warm-up, per engine (results.json key ``api_concurrency``).
- model      held-out AUC vs the generator's Bayes-optimal AUC and Brier score as the data grows.
- weather    bytes DuckDB reads for the reduction: Parquet + partition pruning vs a full CSV scan.

How requests are counted (etl): LocalStack logs one line per AWS API call it serves,
`AWS <service>.<Operation> => <status>`, on the logger `localstack.request.aws` for calls arriving over
HTTP (the functions' own boto3 calls) and `localstack.request.internal.aws` for calls LocalStack makes to
itself on a customer's behalf (S3 notification -> Lambda Invoke, the SQS event source mapping's
ReceiveMessage/DeleteMessageBatch and its Lambda Invoke), which AWS bills the same way. The bench starts
LocalStack with `LOG_LEVEL_OVERRIDES=localstack.request.internal.aws=INFO` so both appear, reads the log
between upload and completion, and subtracts the calls its own clients made while watching (counted
client-side with a botocore event hook).

The check at the end fails (exit 1) if the default mode does not need fewer requests per ride than the
baseline, if any shape needs more than 0.02 requests or S3 objects per ride in the default mode, or if the
workshop file takes more than 60 s from upload to processed/. Figures are never asserted in unit tests.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest_1m import bench_ingest_1m
from ingest_1m import markdown as ingest_1m_markdown
from wildrydes.workshop_shape import WORKSHOP_RIDES, write_workshop_file
from wildrydes_dev import demo, localaws, projection
from wildrydes_lambda.etl.ingestion import STATE_SENDING

ROOT = Path(__file__).resolve().parents[1]

BENCH_DIR = ROOT / "build" / "bench"
RESULTS = BENCH_DIR / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_PORT = 4586  # bench's own LocalStack; moto on +1
SIZES_FULL = [10_000, 100_000]
SIZES_QUICK = [1_000, 5_000]
# The three file shapes of issue 13, each run in the default and the baseline mode. dense: the sizes above
# over one month; two_year: `wildrydes generate`'s default window (2017-2018) with the demo's ride count;
# workshop: wildrydes/workshop_shape.py at the workshop's size (7,755 rides over ~3.1k dates, 10 years).
SHAPES = ("dense", "two_year", "workshop")
TWO_YEAR_RIDES_FULL = demo.DEFAULT_RIDES
TWO_YEAR_RIDES_QUICK = 2_000
# --quick runs the baseline (one message per ride per hop, ~7 rides/s) on this many rides of the sparse shapes.
BASELINE_RIDES_QUICK = 500
# Issue 13's goals, flagged by check(): per ride through the ETL, and the workshop file's time to processed/.
MAX_REQUESTS_PER_RIDE = 0.02
MAX_OBJECTS_PER_RIDE = 0.02
MAX_WORKSHOP_SECONDS = 60
RSS_SIZES_FULL = [100_000, 1_000_000]
RSS_SIZES_QUICK = [10_000, 100_000]
MODEL_SIZES_FULL = [5_000, 50_000, 500_000]
MODEL_SIZES_QUICK = [5_000, 50_000]
SEED = 11
WEATHER_RIDES = 10_000  # the GHCN sample does not depend on the ride count
ETL_TIMEOUT_S = 3600
SETTLE_S = 3.0
# Ingest packs rides of ONE date per message, so requests per ride depend on rides per day in a file: the
# ETL files span a month (a monthly upload), i.e. 10k rides = ~330 rides a day. See docs/benchmarks.md.
ETL_DAYS = (
    "2017-06-01",
    "2017-06-30",
)  # after the last ride lands: the event source mapping's DeleteMessageBatch follows it

# Billed per request in this pipeline (prices: wildrydes_dev/projection.py, public us-east-1 list prices). S3
# LIST requests are billed at the PUT price and HEAD at the GET price, so both count; the rest
# (GetQueueAttributes, DeleteObject, ...) are listed in results.json but cost nothing or are not the ETL's.
BILLED_APIS = {
    "s3": {"GetObject", "PutObject", "HeadObject", "ListObjects", "ListObjectsV2", "ListObjectVersions"},
    "sqs": {
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    },
    "lambda": {"Invoke"},
}
# LocalStack abbreviates the logger name ("l.request.internal.aws") in its log lines.
LOG_LINE = re.compile(r"(?:localstack|l)\.request\.(?:internal\.)?aws\s*:\s*AWS (\w+)\.(\w+) => (\d+)")
MODES = {
    # name -> (ingest env, writer env) over what Terraform deployed: "default" is the deployed
    # configuration itself (RIDES_PER_MESSAGE as variables.tf sets it), "baseline" the workshop's design.
    "default": ({}, {"WRITER_MODE": "batched"}),
    "baseline": ({"RIDES_PER_MESSAGE": "1"}, {"WRITER_MODE": "per_ride"}),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine() -> dict:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------------- request counting
class ClientCalls:
    """Counts the bench's own API calls (botocore after-call hook) so they can be taken out of the log's."""

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()

    def attach(self, client) -> None:
        service = client.meta.service_model.service_name if hasattr(client.meta, "service_model") else "?"
        # LocalStack logs the endpoint prefix (s3, sqs, lambda); botocore's service name matches for these.
        client.meta.events.register(
            "after-call.*.*",
            lambda model, **_: self.counts.update([f"{model.service_model.endpoint_prefix}.{model.name}"]),
        )
        del service


def log_path(settings: demo.Settings) -> Path:
    """LocalStack's log for this port, where wildrydes_dev/emulators.py writes it."""
    path = ROOT / "build" / "localstack" / str(settings.port) / "localstack.log"
    if not path.exists():
        raise SystemExit(f"bench: LocalStack's log {path} is missing (did `make localstack-up` change?)")
    return path


def count_log(path: Path, start: int) -> tuple[collections.Counter, int]:
    counts: collections.Counter = collections.Counter()
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read()
    for m in LOG_LINE.finditer(data.decode("utf-8", "replace")):
        counts[f"{m.group(1)}.{m.group(2)}"] += 1
    return counts, start + len(data)


def billed(api: str) -> bool:
    service, op = api.split(".", 1)
    return op in BILLED_APIS.get(service, set())


def price(api: str) -> float:
    return projection.price_per_request(api)


# ---------------------------------------------------------------------------- ETL section
# The functions' REPORT line (executor or AWS): duration, billed duration and configured memory.
REPORT_LINE = re.compile(
    r"REPORT RequestId: \S+\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms\s+Memory Size: (\d+) MB"
)
ETL_FUNCTION_OUTPUTS = {
    "ingest": "ingest_function_name",
    "enrich": "enrich_function_name",
    "writer": "writer_function_name",
}
# Prefixes whose objects are the pipeline's stored data (bytes stored per ride).
STORED_PREFIXES = (demo.RAW_PREFIX, demo.PROCESSED_PREFIX, demo.QUARANTINE_PREFIX, demo.MANIFEST_PREFIX)
# Ingest sends each ride once to the ingest queue and enrich forwards it once to the ground-station queue.
QUEUE_HOPS = 2
MS_PER_S = 1000
IDLE_CHECKS = 2
CLEAR_PASSES = 20
DELETE_BATCH = 1000  # DeleteObjects' limit
CLOCK_SLACK_S = 1.0  # S3 LastModified has whole seconds
# CloudWatch statistics: one-minute periods over the bench's whole run (both ends padded).
METRIC_PERIOD_S = 60
METRIC_WINDOW_SLACK = timedelta(minutes=2)
METRIC_SETTLE_S = 2.0


def report_figures(messages: list[str]) -> dict:
    """Invocations, seconds and GB-seconds (billed duration x memory) from a function's log messages."""
    invocations, seconds, gb_seconds = 0, 0.0, 0.0
    for message in messages:
        m = REPORT_LINE.search(message)
        if not m:
            continue
        invocations += 1
        seconds += float(m.group(1)) / MS_PER_S
        gb_seconds += int(m.group(2)) / MS_PER_S * int(m.group(3)) / projection.MB_PER_GB
    return {"invocations": invocations, "seconds": round(seconds, 3), "gb_seconds": round(gb_seconds, 4)}


class Etl:
    def __init__(self, settings: demo.Settings, outputs: dict):
        self.settings, self.outputs = settings, outputs
        self.bucket = outputs["data_bucket_name"]
        self.calls = ClientCalls()
        # localstack-client sessions on the demo's LocalStack (wildrydes_dev.localaws), like the tests'.
        self.s3, self.sqs, self.lam, self.logs, self.cloudwatch = (
            localaws.boto3_client(s, settings.port, settings.moto_port)
            for s in ("s3", "sqs", "lambda", "logs", "cloudwatch")
        )
        for c in (self.s3, self.sqs, self.lam, self.logs, self.cloudwatch):
            self.calls.attach(c)
        self.started = datetime.now(UTC)
        self.log = log_path(settings)
        self.queues = [outputs[k] for k in ("ingest_queue_url", "groundstation_queue_url")]
        self._rows: dict[str, tuple[str, int]] = {}
        self.runs = 0
        self.since = 0.0  # objects older than this run's upload are not its own
        self.deployed_env: dict[str, dict[str, str]] = {}  # each function's environment as deployed

    def empty_receives(self) -> int:
        """NumberOfEmptyReceives (AWS/SQS, Sum) of both work queues since the bench started: the event source
        mappings' polls that found nothing. SQS publishes it on AWS and LocalStack does too, one count per
        empty ReceiveMessage."""
        total = 0.0
        for url in self.queues:
            stats = self.cloudwatch.get_metric_statistics(
                Namespace="AWS/SQS",
                MetricName="NumberOfEmptyReceives",
                Dimensions=[{"Name": "QueueName", "Value": url.rsplit("/", 1)[-1]}],
                StartTime=self.started - METRIC_WINDOW_SLACK,
                EndTime=datetime.now(UTC) + METRIC_WINDOW_SLACK,
                Period=METRIC_PERIOD_S,
                Statistics=["Sum"],
            )
            total += sum(point["Sum"] for point in stats["Datapoints"])
        return round(total)

    def deployed_setting(self, function_name: str, name: str) -> str | None:
        """One environment variable of a function as Terraform deployed it (before any mode changed it)."""
        if function_name not in self.deployed_env:
            cfg = self.lam.get_function_configuration(FunctionName=function_name)
            self.deployed_env[function_name] = dict(cfg.get("Environment", {}).get("Variables", {}))
        return self.deployed_env[function_name].get(name)

    def set_mode(self, mode: str) -> None:
        ingest_env, writer_env = MODES[mode]
        for fn, extra in (
            (self.outputs["ingest_function_name"], ingest_env),
            (self.outputs["writer_function_name"], writer_env),
        ):
            self.deployed_setting(fn, "")  # records the deployed environment on first use
            env = {**self.deployed_env[fn], **extra}
            localaws.update_function_configuration(self.lam, fn, Environment={"Variables": env})

    def versions(self, prefix: str, markers: bool = True) -> list[dict]:
        """Every object version (and, with `markers`, delete marker) under prefix; the bucket is versioned,
        so the versions are every PUT since the prefix was last emptied."""
        out = []
        kinds = ("Versions", "DeleteMarkers") if markers else ("Versions",)
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
            for kind in kinds:
                out += [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get(kind, [])]
        return out

    def clear(self) -> None:
        """Empty the output prefixes, current objects and every version, so each run counts only its own
        rides and bytes. LocalStack lists at most 1,000 versions whatever the markers, so this repeats until
        both listings come back empty."""
        for prefix in STORED_PREFIXES:
            for _ in range(CLEAR_PASSES):
                batch = self.versions(prefix) + [{"Key": o["Key"]} for o in self.objects(prefix)]
                if not batch:
                    break
                for i in range(0, len(batch), DELETE_BATCH):
                    self.s3.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch[i : i + DELETE_BATCH], "Quiet": True}
                    )

    def wait_idle(self) -> None:
        """Until both queues have been empty (visible and in flight) twice, SETTLE_S apart."""
        idle = 0
        while idle < IDLE_CHECKS:
            idle = idle + 1 if self.queues_idle() else 0
            time.sleep(SETTLE_S if idle else 1)

    def queues_idle(self) -> bool:
        for url in self.queues:
            a = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if int(a["ApproximateNumberOfMessages"]) or int(a["ApproximateNumberOfMessagesNotVisible"]):
                return False
        return True

    def objects(self, prefix: str) -> list[dict]:
        return [
            o
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]

    def manifest(self, key: str) -> dict | None:
        """This run's manifest of raw key `key`, wherever ingest names it under manifests/<key> (per file or
        per file version): the newest JSON object there that has the ride counts and is not the marker
        ingest writes before it sends (its counts are zeros until the final manifest replaces it)."""
        found = sorted(self.objects(demo.MANIFEST_PREFIX + key), key=lambda o: o["LastModified"])
        for o in reversed(found):
            body = json.loads(self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read())
            if "rides_in" in body and body.get("state") != STATE_SENDING:
                return body
        return None

    def processed_rides(self, per_object: bool) -> tuple[int, float]:
        """Rows in the CSVs under processed/ (any partition name) and the LastModified of the newest object
        (epoch s); each CSV is read once per ETag, so watching costs few requests (subtracted anyway). The
        baseline writes one ride per object: `per_object` counts objects instead of reading thousands."""
        rides, newest = 0, 0.0
        for o in self.objects(demo.PROCESSED_PREFIX):
            if not o["Key"].endswith(".csv") or o["LastModified"].timestamp() < self.since:
                continue
            newest = max(newest, o["LastModified"].timestamp())
            if per_object:
                rides += 1
                continue
            cached = self._rows.get(o["Key"])
            if cached is None or cached[0] != o["ETag"]:
                body = self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
                lines = [line for line in body.splitlines() if line.strip()]
                cached = (o["ETag"], max(len(lines) - 1, 0))
                self._rows[o["Key"]] = cached
            rides += cached[1]
        return rides, newest

    def lambda_reports(self, since_s: float) -> dict:
        """REPORT figures per ETL function since `since_s` (CloudWatch Logs of LocalStack)."""
        out = {}
        for fn, output in ETL_FUNCTION_OUTPUTS.items():
            messages: list[str] = []
            try:
                for page in self.logs.get_paginator("filter_log_events").paginate(
                    logGroupName=f"/aws/lambda/{self.outputs[output]}", startTime=int(since_s * MS_PER_S)
                ):
                    messages += [e["message"] for e in page.get("events", [])]
            except self.logs.exceptions.ResourceNotFoundException:
                pass
            out[fn] = report_figures(messages)
        return out

    def run(self, mode: str, rides_file: Path, rides: int) -> dict:
        log(f"etl {mode} {rides:,} rides ({rides_file.name}): clearing, configuring")
        # An earlier run's messages still in flight would write into this run's processed/: wait them out
        # before emptying the prefixes, and again after the mode change.
        self.wait_idle()
        self.clear()
        self._rows.clear()
        self.set_mode(mode)
        self.wait_idle()
        self.clear()
        offset = self.log.stat().st_size
        empty_before = self.empty_receives()
        self.calls.counts.clear()
        # A key of its own per run: a new version of an earlier run's key would supersede that run's rides.
        self.runs += 1
        key = f"{demo.RAW_PREFIX}bench-{self.runs:02d}-{mode}-{rides_file.name}"
        t0 = time.time()
        self.since = t0 - CLOCK_SLACK_S
        self.s3.upload_file(str(rides_file), self.bucket, key)
        manifest = None
        deadline = time.monotonic() + ETL_TIMEOUT_S
        done_at, seen = None, 0
        while time.monotonic() < deadline:
            time.sleep(2 if rides < 50_000 else 5)
            if manifest is None:
                manifest = self.manifest(key)
                if manifest is None:
                    continue
            seen, newest = self.processed_rides(per_object=mode == "baseline")
            log(
                f"  {mode}: {seen:,}/{manifest['valid']:,} rides in processed/ after {time.time() - t0:.0f} s"
            )
            if seen >= manifest["valid"]:
                done_at = newest
                break
        if done_at is None or manifest is None:
            raise SystemExit(f"bench: ETL {mode} {rides} did not finish in {ETL_TIMEOUT_S} s")
        self.wait_idle()
        time.sleep(METRIC_SETTLE_S)  # LocalStack publishes SQS metrics from a worker thread
        empty = max(self.empty_receives() - empty_before, 0)
        logged, _ = count_log(self.log, offset)
        mine = self.calls.counts
        pipeline = {api: n - mine.get(api, 0) for api, n in logged.items() if n - mine.get(api, 0) > 0}
        with_empty_polls = sum(n for api, n in pipeline.items() if billed(api))
        # The file's requests: every billed request but the mappings' empty polls, which SQS bills by the
        # minute of polling whether or not files arrive (reported beside, not per ride).
        empty = min(empty, pipeline.get("sqs.ReceiveMessage", 0))
        billed_total = with_empty_polls - empty
        cost = sum(n * price(api) for api, n in pipeline.items() if billed(api)) - empty * price(
            "sqs.ReceiveMessage"
        )
        elapsed = max(done_at - t0, 1e-3)
        upload_requests = 1  # the single PutObject of the raw file is the user's, included for honesty
        rides_in = max(manifest["rides_in"], 1)
        # Objects written under processed/ = the pipeline's PutObject calls minus those elsewhere: the user's
        # upload, and manifests/ and quarantine/ objects (each written once). Listing versions would count
        # overwrites too, but LocalStack lists at most 1,000 versions.
        elsewhere = sum(len(self.objects(p)) for p in (demo.MANIFEST_PREFIX, demo.QUARANTINE_PREFIX))
        objects_current = sum(
            1 for o in self.objects(demo.PROCESSED_PREFIX) if o["LastModified"].timestamp() >= self.since
        )
        # Every object there now was written at least once.
        objects_written = max(pipeline.get("s3.PutObject", 0) - upload_requests - elsewhere, objects_current)
        stored = sum(o["Size"] for prefix in STORED_PREFIXES for o in self.objects(prefix))
        scan = athena_scan(self.objects(demo.PROCESSED_PREFIX))
        reports = self.lambda_reports(t0)
        return {
            "rides": rides,
            "rides_in": manifest["rides_in"],
            "valid": manifest["valid"],
            "processed": seen,
            "ingest_messages": manifest.get("messages"),
            "requests_by_api": dict(sorted(pipeline.items())),
            "billed_requests": billed_total,
            "requests_per_ride": billed_total / rides_in,
            "empty_receives": empty,
            "billed_requests_with_empty_polls": with_empty_polls,
            "requests_per_ride_with_empty_polls": with_empty_polls / rides_in,
            "cost_per_million_rides_usd": cost / rides_in * 1_000_000,
            "objects_written": objects_written,
            "objects_current": objects_current,
            "objects_per_ride": objects_written / rides_in,
            "bytes_stored": stored,
            "bytes_stored_per_ride": round(stored / rides_in, 1),
            "athena_scan": scan,
            "lambda": reports,
            "seconds": round(elapsed, 2),
            "rides_per_s": round(manifest["valid"] / elapsed, 1),
            "upload_requests_included": upload_requests,
        }


# processed/ride_month=YYYY-MM/...: the partition a processed object belongs to.
PARTITION_IN_KEY = re.compile(r"/ride_month=(\d{4}-\d{2})/")
# Athena bills at least this much per query, however little it scans.
ATHENA_MIN_BYTES_PER_QUERY = 10 * 1024 * 1024


def athena_scan(objects: list[dict]) -> dict:
    """What Athena reads for a query over the processed table, from the objects' sizes: CSV has no column
    or row-group skipping, so a query reads every object of the partitions its predicate keeps, and
    partition projection keeps only `ride_month` values the predicate names. A one-day query
    (`ride_month = 'YYYY-MM' AND statustime LIKE 'YYYY-MM-DD%'`) reads its month's objects; the view
    `rides_unique` with no month predicate reads them all."""
    by_month: dict[str, int] = collections.Counter()
    for o in objects:
        match = PARTITION_IN_KEY.search(o["Key"])
        if match:
            by_month[match.group(1)] += o["Size"]
    total = sum(by_month.values())
    sizes = sorted(by_month.values())
    busiest = sizes[-1] if sizes else 0
    return {
        "months": len(sizes),
        "full_table_bytes": total,
        "one_day_query_bytes_busiest_month": busiest,
        "one_day_query_bytes_median_month": sizes[len(sizes) // 2] if sizes else 0,
        "pruned_fraction_busiest_month": round(busiest / total, 4) if total else 0.0,
        "billed_minimum_bytes": ATHENA_MIN_BYTES_PER_QUERY,
    }


def generate(rides: int, out: Path, settings: demo.Settings, days: tuple[str, str] | None = None) -> Path:
    """A single generated ride file of `rides` rides (cached by size, seed and date window)."""
    if not out.exists() or not any(out.rglob("*.json")):
        shutil.rmtree(out, ignore_errors=True)
        window = ["--start", days[0], "--end", days[1]] if days else []
        demo.wildrydes(
            ["generate", "--rides", str(rides), "--seed", str(SEED), "--out", str(out), *window],
            settings,
            capture=True,
        )
    files = demo.ride_files(out)
    return max(files, key=lambda p: p.stat().st_size)


def shape_file(shape: str, rides: int, settings: demo.Settings) -> Path:
    """The ride file of one shape: dense = one month (ETL_DAYS), two_year = `wildrydes generate`'s default
    two-year window as the demo uploads it, workshop = wildrydes/workshop_shape.py (named ride_data.json)."""
    if shape == "dense":
        return generate(rides, BENCH_DIR / "data" / f"etl-{rides}", settings, ETL_DAYS)
    if shape == "two_year":
        return generate(rides, BENCH_DIR / "data" / f"two-year-{rides}", settings)
    path = BENCH_DIR / "data" / f"workshop-{rides}" / "ride_data.json"
    return path if path.exists() else write_workshop_file(path, rides, seed=SEED)


def figures_for_projection(shapes: dict) -> projection.Figures | None:
    """Per-ride figures of the default mode's most expensive shape (requests per ride), for the projection."""
    runs = {name: s["default"] for name, s in shapes.items() if s.get("default")}
    if not runs:
        return None
    shape, r = max(runs.items(), key=lambda kv: kv[1]["requests_per_ride"])
    rides = max(r["rides_in"], 1)
    lam = r.get("lambda", {})
    ingest_seconds = lam.get("ingest", {}).get("seconds", 0.0)
    # Per ride: the file's requests, without the empty polls (a cost per minute of polling, not per ride).
    per_file = dict(r["requests_by_api"])
    if "sqs.ReceiveMessage" in per_file:
        per_file["sqs.ReceiveMessage"] -= r.get("empty_receives", 0)
    return projection.Figures(
        shape=shape,
        requests_per_ride_by_api={api: n / rides for api, n in per_file.items() if billed(api)},
        objects_per_ride=r["objects_per_ride"],
        get_requests_per_ride=sum(
            n for api, n in r["requests_by_api"].items() if api in ("s3.GetObject", "s3.HeadObject")
        )
        / rides,
        messages_per_ride=QUEUE_HOPS * (r.get("ingest_messages") or 0) / rides,
        gb_seconds_per_ride={fn: f["gb_seconds"] / rides for fn, f in lam.items()},
        seconds_per_ride={fn: f["seconds"] / rides for fn, f in lam.items()},
        bytes_stored_per_ride=r["bytes_stored_per_ride"],
        ingest_rides_per_s=rides / ingest_seconds if ingest_seconds else 0.0,
    )


def bench_etl(
    settings: demo.Settings,
    dense_sizes: list[int],
    dense_baseline_sizes: list[int],
    shape_rides: dict[str, int],
    shape_baseline_rides: dict[str, int],
) -> dict:
    """Every shape in the default and the baseline mode. Dense: each of `dense_sizes` (the baseline at
    `dense_baseline_sizes`), the largest standing for the shape; two_year and workshop: `shape_rides` rides,
    the baseline at `shape_baseline_rides` (0 = skip: the baseline sends one message per ride per hop, ~7
    rides/s on LocalStack, and its requests per ride do not depend on the shape)."""
    os.environ["LOG_LEVEL_OVERRIDES"] = "localstack.request.internal.aws=INFO"
    demo.start_emulators(settings)  # state of an earlier emulator instance is set aside by tf_local itself
    outputs = demo.apply_terraform(settings)
    etl = Etl(settings, outputs)
    deployed_rides_per_message = etl.deployed_setting(outputs["ingest_function_name"], "RIDES_PER_MESSAGE")
    result: dict = {
        "rides_per_message": deployed_rides_per_message,
        "method": "LocalStack request log (external + internal AWS calls) minus the bench's own calls; "
        "objects written = the pipeline's S3 PutObject calls less the upload, manifests/ and quarantine/ "
        "objects; Lambda GB-s from the functions' REPORT lines (billed duration x memory)",
        "ride_dates": f"{ETL_DAYS[0]}..{ETL_DAYS[1]} (one file per run)",
        "default": {},
        "baseline": {},
        "shapes": {},
    }
    # The sparse shapes first: the model the bench publishes trains on the last (dense) run's rides, whose
    # weather the dense data set holds.
    for shape in ("two_year", "workshop"):
        result["shapes"][shape] = {}
        for mode, n in (("default", shape_rides[shape]), ("baseline", shape_baseline_rides[shape])):
            if not n:
                log(f"etl {mode} {shape}: skipped")
                result["shapes"][shape][mode] = None
                continue
            r = etl.run(mode, shape_file(shape, n, settings), n)
            log(
                f"etl {mode} {shape} {n:,}: {r['requests_per_ride']:.4f} requests/ride, "
                f"{r['objects_per_ride']:.4f} objects/ride, {r['seconds']} s"
            )
            result["shapes"][shape][mode] = r
    for size in dense_sizes:
        rides_file = shape_file("dense", size, settings)
        for mode in ("default", "baseline"):
            if mode == "baseline" and size not in dense_baseline_sizes:
                log(f"etl baseline dense {size:,}: skipped (not in --baseline-sizes)")
                continue
            r = etl.run(mode, rides_file, size)
            log(
                f"etl {mode} dense {size:,}: {r['requests_per_ride']:.4f} requests/ride, "
                f"{r['objects_per_ride']:.4f} objects/ride, {r['rides_per_s']} rides/s"
            )
            result[mode][str(size)] = r
    result["shapes"]["dense"] = {
        mode: result[mode][max(result[mode], key=int)] if result[mode] else None
        for mode in ("default", "baseline")
    }
    etl.set_mode("default")
    publish_model(settings, etl, BENCH_DIR / "data" / f"etl-{dense_sizes[0]}")
    API.update(url=outputs["inference_invoke_url"], key=outputs["inference_api_key"])
    return result


# Set by the ETL section: the live inference API of the bench's stack (url, key).
API: dict[str, str] = {}


def publish_model(settings: demo.Settings, etl: Etl, generated: Path) -> None:
    """Give the bench's inference API a model: reduce the generated GHCN into the bucket, train on the last
    run's processed/ rides, store it as a version and promote it (models/linear-learner/serving.json)."""
    bucket = etl.bucket
    demo.wildrydes(
        [
            "weather",
            "reduce",
            "--engine",
            "duckdb",
            "--source",
            str(generated / "ghcn"),
            "--out",
            f"s3://{bucket}/{demo.WEATHER_PREFIX}",
        ],
        settings,
        capture=True,
    )
    demo.wildrydes(
        [
            "train",
            "--engine",
            "local",
            "--rides",
            f"s3://{bucket}/{demo.PROCESSED_PREFIX}",
            "--weather",
            f"s3://{bucket}/{demo.WEATHER_PREFIX}",
            "--out",
            str(BENCH_DIR / "model"),
            # --force: the bench needs a model to serve whatever the gate says of this run's data
            "--publish",
            f"s3://{bucket}",
            "--no-report",
            "--force",
        ],
        settings,
        capture=True,
    )


# ---------------------------------------------------------------------------- ingest RSS
RSS_CHILD = r"""
import json, os, resource, sys
mode, bucket, key = sys.argv[1:4]
if mode == "handler":
    import handler  # PYTHONPATH = the ingest task root + lambda_src, as in the function's zip
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
              "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}
    class Ctx:
        function_name = "ingest"; memory_limit_in_mb = 256; aws_request_id = "bench"
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:ingest"
        def get_remaining_time_in_millis(self): return 900000
    handler.lambda_handler(event, Ctx())
else:  # the workshop's way: read the whole object and json.load it
    import boto3
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    rides = json.loads(body)
    rides = rides["travel_data"] if isinstance(rides, dict) else rides
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_rss(settings: demo.Settings, sizes: list[int]) -> dict:
    """Ingest handler peak RSS against the moto server (S3 + SQS), so the emulator's memory is not counted."""
    import boto3

    demo.start_emulators(settings)
    kw = {
        "endpoint_url": settings.moto_endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
    bucket = "bench-rss"
    s3.create_bucket(Bucket=bucket)
    env = settings.aws_env()
    env.update(
        {
            "AWS_ENDPOINT_URL": settings.moto_endpoint,
            "DATA_BUCKET": bucket,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "lambda_src" / "ingest"), str(ROOT / "lambda_src")]),
            "POWERTOOLS_SERVICE_NAME": "ingest",
            "LOG_LEVEL": "WARNING",
        }
    )
    out: dict = {
        "method": "ingest handler run in its own process on the project venv against the moto server; "
        "ru_maxrss of that process",
        "handler": {},
        "baseline_json_load": {},
    }
    for size in sizes:
        path = generate(size, BENCH_DIR / "data" / f"rides-{size}", settings)
        key = f"raw/{path.name}"
        s3.upload_file(str(path), bucket, key)
        # A fresh queue per size: nothing consumes it, and PurgeQueue is limited to once a minute.
        env["INGEST_QUEUE_URL"] = sqs.create_queue(QueueName=f"bench-rss-{size}")["QueueUrl"]
        for mode, slot in (("handler", "handler"), ("json_load", "baseline_json_load")):
            proc = subprocess.run(
                [sys.executable, "-c", RSS_CHILD, mode, bucket, key],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise SystemExit(f"bench rss {mode} {size}: {proc.stderr[-2000:]}")
            rss = json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_mb"]
            out[slot][str(size)] = round(rss, 1)
            log(f"rss {mode} {size:,} rides ({path.stat().st_size / 2**20:.0f} MB file): {rss:.0f} MB")
        sqs.delete_queue(QueueUrl=env["INGEST_QUEUE_URL"])
    small, large = (str(s) for s in sizes)
    out["growth_handler"] = round(out["handler"][large] / out["handler"][small], 2)
    out["growth_baseline"] = round(out["baseline_json_load"][large] / out["baseline_json_load"][small], 2)
    return out


# ---------------------------------------------------------------------------- delegated sections
def run_json_script(cmd: list[str], out_file: Path, settings: demo.Settings) -> dict:
    """Run another engineer's benchmark script that writes JSON to out_file (or prints it last)."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=settings.aws_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"}
    if out_file.exists():
        return json.loads(out_file.read_text())
    tail = proc.stdout.strip()
    start = tail.find("{")
    return json.loads(tail[start:]) if start >= 0 else {"error": "no JSON output", "stdout": tail[-1500:]}


def bench_inference(settings: demo.Settings, quick: bool) -> dict:
    script = ROOT / "bench" / "inference_bench.py"
    if not script.exists():
        return {"error": "bench/inference_bench.py is missing"}
    out = BENCH_DIR / "inference.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), "--out", str(out)] + (["--quick"] if quick else [])
    if API:
        cmd += ["--api-url", API["url"], "--api-key", API["key"]]
    return run_json_script(cmd, out, settings)


def bench_api(settings: demo.Settings, quick: bool) -> dict:
    """bench/api_concurrency.py on the bench's LocalStack: both engines, 1, 2, 4, 8 clients after warm-up."""
    import api_concurrency  # bench/ is this script's folder
    from wildrydes_dev import emulators

    demo.start_emulators(settings)
    instance = emulators.Instance(settings.port, settings.moto_port)
    requests = api_concurrency.QUICK_REQUESTS_PER_LEVEL if quick else api_concurrency.REQUESTS_PER_LEVEL
    return api_concurrency.bench_api_concurrency(instance, requests=requests)


def bench_cold_start(settings: demo.Settings, quick: bool) -> dict:
    """bench/cold_start.py: python3.13 cold start per engine with vs without precompiled bytecode + layer sizes."""
    out = BENCH_DIR / "cold_start.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "cold_start.py"),
        "--out",
        str(out),
        "--repeats",
        "3" if quick else "5",
    ]
    return run_json_script(cmd, out, settings)


def bench_model(settings: demo.Settings, sizes: list[int]) -> dict:
    script = ROOT / "bench" / "model_quality.py"
    if not script.exists():
        return {"error": "bench/model_quality.py is missing"}
    out = BENCH_DIR / "model.json"
    cmd = [sys.executable, str(script), "--out", str(out), "--sizes", *map(str, sizes)]
    return run_json_script(cmd, out, settings)


WEATHER_READ_LINE = re.compile(r"duckdb: read ([\d,]+) bytes \((\w+); files scanned ([^)]+)\)")


def bench_weather(settings: demo.Settings, rides: int) -> dict:
    """Bytes DuckDB reads for the reduction (its own I/O counter, printed by `wildrydes weather reduce`):
    Parquet with partition pruning (YEAR, ELEMENT) vs the full by_year CSV scan, same generated GHCN data."""
    source = generate(rides, BENCH_DIR / "data" / f"rides-{rides}", settings).parents[1] / "ghcn"
    out: dict = {
        "method": "wildrydes weather reduce --engine duckdb --layout parquet|csv on the generated GHCN "
        "sample (NYC stations + distractors, 2 years); DuckDB profiling io.total_bytes_read",
        "source_bytes": {},
    }
    for layout in ("parquet", "csv"):
        out["source_bytes"][layout] = sum(
            p.stat().st_size for p in (source / layout).rglob("*") if p.is_file()
        )
        text = demo.wildrydes(
            [
                "weather",
                "reduce",
                "--engine",
                "duckdb",
                "--source",
                str(source),
                "--layout",
                layout,
                "--out",
                str(BENCH_DIR / "weather" / layout),
            ],
            settings,
            capture=True,
        )
        m = WEATHER_READ_LINE.search(text)
        if not m:
            return {"error": f"no 'duckdb: read N bytes' line from weather reduce ({layout}): {text[-500:]}"}
        out[layout] = int(m.group(1).replace(",", ""))
        out[f"{layout}_files_scanned"] = m.group(3)
    out["baseline"] = "csv"
    out["parquet_vs_csv"] = round(out["parquet"] / out["csv"], 4) if out["csv"] else None
    return out


# ---------------------------------------------------------------------------- report
# results.json keys per shape: {"dense", "two_year", "workshop"} of the default mode; `<key>_baseline` beside.
SHAPE_FIGURES = {
    "requests_per_ride_by_shape": "requests_per_ride",
    "requests_per_ride_with_empty_polls_by_shape": "requests_per_ride_with_empty_polls",
    "empty_receives_by_shape": "empty_receives",
    "objects_per_ride_by_shape": "objects_per_ride",
    "objects_written_by_shape": "objects_written",
    "seconds_to_processed_by_shape": "seconds",
    "rides_by_shape": "rides_in",
}
SHAPE_KEYS = [k + suffix for k in SHAPE_FIGURES for suffix in ("", "_baseline")]


def shape_results(shapes: dict) -> dict:
    """The per-shape figures as results.json holds them, plus the scale projection of the default mode."""
    out: dict = {}
    for key, figure in SHAPE_FIGURES.items():
        for mode, suffix in (("default", ""), ("baseline", "_baseline")):
            out[key + suffix] = {
                shape: runs[mode][figure] for shape, runs in shapes.items() if runs.get(mode)
            }
    figures = figures_for_projection(shapes)
    if figures is not None:
        out["projection"] = {
            "figures": dataclasses.asdict(figures),
            "scales": [dataclasses.asdict(s) for s in projection.project_all(figures)],
            "prices_checked": projection.PRICES_CHECKED,
        }
    return out


def check(results: dict) -> list[str]:
    problems = []
    for key, limit, what in (
        ("requests_per_ride_by_shape", MAX_REQUESTS_PER_RIDE, "requests"),
        ("objects_per_ride_by_shape", MAX_OBJECTS_PER_RIDE, "S3 objects written"),
    ):
        for shape, value in results.get(key, {}).items():
            if value > limit:
                problems.append(f"{shape}: {value:.4f} {what} per ride, above the goal of {limit}")
    workshop_s = results.get("seconds_to_processed_by_shape", {}).get("workshop")
    if workshop_s is not None and workshop_s > MAX_WORKSHOP_SECONDS:
        problems.append(
            f"workshop: {workshop_s:.1f} s from upload to the last ride in processed/, above "
            f"{MAX_WORKSHOP_SECONDS} s"
        )
    rpr = results.get("requests_per_ride", {})
    for size, d in rpr.get("default", {}).items():
        b = rpr.get("baseline", {}).get(size)
        if b is not None and not d < b:
            problems.append(
                f"default requests/ride {d:.4f} is not below the baseline's {b:.4f} at {size} rides"
            )
    return problems


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bench/run.py` from `build/bench/results.json` — do not edit by hand. Regenerate with:",
        "",
        f"```bash\n{results['command']}\n```",
        "",
        (
            f"Run {results['started']} ({results['total_s']:.0f} s) on {m['cpus']} CPU(s) {m['cpu']}, "
            f"{m['memory_gb']} GB RAM, {m['os']}, Python {m['python']}. LocalStack 4.14.0 (host mode, process "
            "executor) on loopback. Every figure has its baseline from the same run beside it: these machines "
            "are noisy, so read ratios, not absolute times."
        ),
        "",
    ]
    etl = results.get("etl")
    if etl and "default" in etl:
        lines += [
            "## ETL: AWS requests per ride and throughput",
            "",
            (
                f"Default: the deployed configuration (`RIDES_PER_MESSAGE={etl.get('rides_per_message', '?')}`, "
                "`WRITER_MODE=batched`, messages zlib-compressed). Baseline (the workshop's design): "
                "`RIDES_PER_MESSAGE=1`, `WRITER_MODE=per_ride` (one SQS message per ride per hop, one S3 object "
                "per ride). Requests counted per API from LocalStack's request log (external calls by the "
                "functions plus the calls LocalStack makes on the account's behalf: S3 notification and event "
                "source mapping invokes, receives, deletes), minus the benchmark's own calls. Billed APIs only "
                "(S3 GET/PUT and HEAD/LIST, SQS send/receive/delete, Lambda Invoke): AWS bills S3 HeadObject "
                "at the GET price and ListObjects/ListObjectsV2/ListObjectVersions at the PUT price, so they "
                "count as requests like the others. The user's one upload PUT is included. The event source "
                "mappings' empty polls are not: SQS bills them by the minute of polling, files or not, so they "
                'are measured (NumberOfEmptyReceives) and listed beside under "By file shape".'
            ),
            "",
            "| rides | mode | requests/ride | × baseline | cost per 1M rides (USD) | rides/s | × baseline | seconds |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size in etl["default"]:
            d, b = etl["default"][size], etl["baseline"].get(size, {})
            for mode, r in (("default", d), ("baseline", b)):
                if not r:
                    continue
                rpr_ratio = (
                    f"{r['requests_per_ride'] / b['requests_per_ride']:.3f}" if b else "no baseline run"
                )
                speed_ratio = f"{r['rides_per_s'] / b['rides_per_s']:.1f}" if b else "n/a"
                lines.append(
                    f"| {int(size):,} | {mode} | {r['requests_per_ride']:.4f} | {rpr_ratio} | "
                    f"{r['cost_per_million_rides_usd']:.2f} | {r['rides_per_s']:,.0f} | {speed_ratio} | "
                    f"{r['seconds']:.1f} |"
                )
        lines += shape_markdown(etl.get("shapes", {}))
        lines += [
            "",
            (
                f"Dense ride files span {etl.get('ride_dates', 'a month')}. Ingest packs the rides of one "
                f"month per message (at most RIDES_PER_MESSAGE={etl.get('rides_per_message', '?')}, "
                "compressed; the sparse months at the end of a file share messages), so a file's requests are "
                "its months' objects plus a few per message: requests per ride fall as the file grows. The "
                "baseline's count does not depend on the spread (one message per ride)."
            ),
            "",
            "Requests by API (largest size run in both modes):",
            "",
        ]
        both = [size for size in etl["default"] if size in etl["baseline"]] or list(etl["default"])
        big = max(both, key=int)
        # Billed APIs only: the log also holds LocalStack's own bookkeeping (Lambda metrics, log shipping).
        apis = sorted(
            api
            for api in set(etl["default"][big]["requests_by_api"])
            | set(etl["baseline"].get(big, {}).get("requests_by_api", {}))
            if billed(api)
        )
        lines += [f"| API | default ({int(big):,} rides) | baseline |", "| --- | ---: | ---: |"]
        for api in apis:
            lines.append(
                f"| {api} | "
                f"{etl['default'][big]['requests_by_api'].get(api, 0):,} | "
                f"{etl['baseline'].get(big, {}).get('requests_by_api', {}).get(api, 0):,} |"
            )
        lines.append("")
    rss = results.get("ingest_peak_rss_mb")
    if isinstance(rss, dict) and "handler" in rss:
        lines += [
            "## Ingest memory (peak RSS, MB)",
            "",
            rss["method"] + ". Baseline: the same file read whole "
            "and parsed with `json.loads`, as the workshop's function did.",
            "",
            "| rides in file | ingest handler (streaming) | baseline json.load |",
            "| ---: | ---: | ---: |",
        ]
        for size in rss["handler"]:
            lines.append(
                f"| {int(size):,} | {rss['handler'][size]:.0f} | {rss['baseline_json_load'][size]:.0f} |"
            )
        lines += [
            "",
            (
                f"Growth for 10x the rides: handler ×{rss['growth_handler']}, baseline "
                f"×{rss['growth_baseline']}."
            ),
            "",
        ]
    api = results.get("api_concurrency")
    if isinstance(api, dict) and api:
        lines += api_markdown(api)
    lines += ingest_1m_markdown(results.get("ingest_1m") or {})
    for title, key in (
        ("Inference", "inference"),
        ("Model quality", "model"),
        ("Weather reduction: bytes read", "weather_bytes_read"),
    ):
        value = results.get(key)
        if value is None:
            continue
        lines += [f"## {title}", ""]
        lines += _table(value)
        lines.append("")
    proj = results.get("projection")
    if proj:
        figures = projection.figures_from_dict(proj["figures"])
        lines += projection.markdown(figures, projection.project_all(figures))
    if results.get("check"):
        lines += ["## Check", "", *[f"- FAILED: {p}" for p in results["check"]], ""]
    else:
        lines += [
            "## Check",
            "",
            (
                "- default-mode requests per ride are below the baseline's at every size; every shape at "
                f"<= {MAX_REQUESTS_PER_RIDE} requests and <= {MAX_OBJECTS_PER_RIDE} objects per ride; the "
                f"workshop file in processed/ within {MAX_WORKSHOP_SECONDS} s: passed"
            )
            if results.get("requests_per_ride", {}).get("default")
            else "- ETL not measured",
            "",
        ]
    return "\n".join(lines)


SHAPE_TITLES = {
    "dense": "dense (one month)",
    "two_year": "two_year (the demo's 2017-2018 spread)",
    "workshop": "workshop (ride_data.json's shape: 10 years)",
}


def shape_markdown(shapes: dict) -> list[str]:
    """The per-shape table: requests and objects per ride, time to processed/, default vs baseline."""
    if not shapes:
        return []
    lines = [
        "",
        "### By file shape",
        "",
        (
            "The same ETL on three shapes of file (issue 13's goal: <= "
            f"{MAX_REQUESTS_PER_RIDE} requests and <= {MAX_OBJECTS_PER_RIDE} S3 objects written per ride, "
            f"the workshop file fully in processed/ within {MAX_WORKSHOP_SECONDS} s of its upload). Objects "
            "written = every PUT under processed/ whatever the partition name: the pipeline's PutObject calls "
            "less the upload and the manifests/ and quarantine/ objects (the prefixes are emptied before each "
            "run); seconds = upload to the LastModified of "
            "the object that completed processed/. The baseline's requests per ride do not depend on the "
            "shape; --quick runs it on fewer rides of the sparse shapes (the rides column says how many). "
            "requests/ride = the file's billed requests: every billed request in the run's window except the "
            "event source mappings' empty polls (SQS's own NumberOfEmptyReceives metric, read after the run). "
            "Those are billed by the minute of polling, with or without files (LocalStack's pollers poll "
            "every second and back off to 10 s when idle; AWS's long-poll for up to 20 s), so they are listed "
            "beside, not spread over the rides; the column with them is what the window cost in total."
        ),
        "",
        "| shape | mode | rides | requests/ride | with empty polls | empty polls | objects/ride | "
        "objects written | seconds to processed/ | bytes stored/ride | cost per 1M rides (USD) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for shape in SHAPES:
        for mode in ("default", "baseline"):
            r = (shapes.get(shape) or {}).get(mode)
            if not r:
                continue
            lines.append(
                f"| {SHAPE_TITLES[shape]} | {mode} | {r['rides_in']:,} | {r['requests_per_ride']:.4f} | "
                f"{r.get('requests_per_ride_with_empty_polls', r['requests_per_ride']):.4f} | "
                f"{r.get('empty_receives', 0):,} | "
                f"{r['objects_per_ride']:.4f} | {r['objects_written']:,} | {r['seconds']:.1f} | "
                f"{r['bytes_stored_per_ride']:,.0f} | {r['cost_per_million_rides_usd']:.2f} |"
            )
    lambda_rows = []
    for shape in SHAPES:
        r = (shapes.get(shape) or {}).get("default")
        if not r or not r.get("lambda"):
            continue
        rides = max(r["rides_in"], 1)
        cells = [
            f"{f['invocations']:,} / {f['gb_seconds'] / rides * 1e6:,.1f}"
            for f in (
                r["lambda"].get(fn, {"invocations": 0, "gb_seconds": 0.0}) for fn in ETL_FUNCTION_OUTPUTS
            )
        ]
        lambda_rows.append(f"| {shape} | " + " | ".join(cells) + " |")
    scan_rows = [
        f"| {shape} | {scan['months']:,} | {scan['full_table_bytes']:,} | "
        f"{scan['one_day_query_bytes_busiest_month']:,} | {scan['one_day_query_bytes_median_month']:,} | "
        f"{scan['pruned_fraction_busiest_month']:.2%} |"
        for shape in SHAPES
        for scan in [((shapes.get(shape) or {}).get("default") or {}).get("athena_scan")]
        if scan
    ]
    if scan_rows:
        lines += [
            "",
            "Athena bytes read per query over processed/ (default mode; `athena_scan`: CSV is read whole, so a "
            "query reads every object of the `ride_month` partitions its predicate keeps, and projection "
            "keeps only the months it names). A one-day query reads its month; a query with no month reads "
            f"the whole table. Athena bills at least {ATHENA_MIN_BYTES_PER_QUERY // 2**20} MB per query.",
            "",
            "| shape | months | whole table (bytes) | one-day query, busiest month | one-day query, median month "
            "| busiest month / whole table |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *scan_rows,
        ]
    if lambda_rows:
        lines += [
            "",
            "Lambda per function, default mode (invocations / GB-seconds per million rides; billed duration x "
            "configured memory from the REPORT lines):",
            "",
            "| shape | ingest | enrich | writer |",
            "| --- | ---: | ---: | ---: |",
            *lambda_rows,
        ]
    return lines


def api_markdown(api: dict) -> list[str]:
    lines = [
        "## Inference API under concurrency (through LocalStack)",
        "",
        (
            "`bench/api_concurrency.py` (alone: `.venv/bin/python -m bench.api_concurrency`): the "
            "inference function per engine behind a REST API with an API key on LocalStack, warmed up with as "
            "many clients as the highest level, then N client threads send the workshop request. CPU "
            "columns: CPU time per request of LocalStack's process, of the Lambda workers (/proc) and of the "
            "bench's own client (one keep-alive connection per client); LocalStack serves all requests in one "
            "GIL-bound process, so 1000 / its CPU ms per request bounds requests/s at any concurrency "
            "(docs/localstack.md). Goal (issue 16, numpy): requests/s at 4 clients >= 3x at 1, p99 at 4 <= "
            "200 ms."
        ),
        "",
        "| engine | clients | p50 ms | p99 ms | requests/s | × 1 client | LocalStack CPU ms/req | "
        "LocalStack bound req/s | LocalStack cores used | workers CPU ms/req | client CPU ms/req | load avg | "
        "non-200 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, levels in api.items():
        one = levels.get("1", {}).get("requests_per_s")
        for level, r in levels.items():
            if not level.isdigit():
                continue
            ratio = f"{r['requests_per_s'] / one:.2f}" if one else ""
            lines.append(
                f"| {engine} | {level} | {r['p50_ms']} | {r['p99_ms']} | {r['requests_per_s']} | "
                f"{ratio} | {r.get('localstack_cpu_ms_per_request', '')} | "
                f"{r.get('localstack_bound_requests_per_s', '')} | {r.get('localstack_cores_used', '')} | "
                f"{r.get('workers_cpu_ms_per_request', '')} | {r.get('client_cpu_ms_per_request', '')} | "
                f"{r.get('load_average_1m', '')} | "
                f"{r.get('non_200', '')} |"
            )
    for engine, levels in api.items():
        goal = levels.get("goal") or {}
        if goal:
            lines.append(
                f"\n{engine}: 4 clients / 1 client = {goal['speedup_4_over_1']}x (goal 3x: "
                f"{'met' if goal['speedup_met'] else 'NOT met'}; at most "
                f"{goal.get('speedup_ceiling_4_over_1', '?')}x with the CPU each request cost at 4 clients); "
                f"p99 at 4 clients {'<=' if goal['p99_at_4_met'] else '>'} 200 ms."
            )
    lines.append("")
    return lines


def _table(value) -> list[str]:
    """A generic rendering of a nested JSON section: one row per leaf path."""
    if isinstance(value, dict) and "error" in value:
        return [f"Not measured: {value['error']}"]
    rows: list[tuple[str, object]] = []

    def walk(prefix: str, v) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), sub)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, sub in enumerate(v):
                walk(f"{prefix}[{i}]", sub)
        else:
            rows.append((prefix, v))

    walk("", value)
    out = ["| figure | value |", "| --- | ---: |"]
    for k, v in rows:
        out.append(f"| {k} | {f'{v:.4g}' if isinstance(v, float) else v} |")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes for development (1k/5k rides ...)")
    p.add_argument("--sizes", type=int, nargs="+", help="ETL ride counts (default 10k 100k; --quick 1k 5k)")
    p.add_argument(
        "--baseline-sizes",
        type=int,
        nargs="*",
        help="dense ETL sizes also run in baseline mode (default: the smallest); the baseline sends one "
        "message per ride per hop, so 100k takes hours on LocalStack's single event-source poller",
    )
    p.add_argument(
        "--baseline-rides",
        type=int,
        help="rides of the two_year and workshop baseline runs (default: the shape's size; --quick "
        f"{BASELINE_RIDES_QUICK}; 0 skips them)",
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", DEFAULT_PORT)))
    p.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["etl", "rss", "ingest_1m", "inference", "api", "model", "weather"],
    )
    p.add_argument("--keep-running", action="store_true", help="leave the bench's LocalStack running")
    p.add_argument(
        "--report-only", action="store_true", help="regenerate docs/benchmarks.md from results.json"
    )
    a = p.parse_args(argv)
    if a.report_only:
        results = json.loads(RESULTS.read_text())
        DOC.write_text(markdown(results))
        return 1 if results.get("check") else 0
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    settings = demo.Settings(
        port=a.port,
        moto_port=a.port + 1,
        rides=0,
        seed=SEED,
        state_dir=BENCH_DIR / "state",
        quiet_progress=True,
        bucket_name_prefix="wildrydes-bench",
        tf_vars={},
    )
    t0 = time.monotonic()
    results: dict = {
        "command": "make bench"
        + (f" BENCH_ARGS='{' '.join(argv or sys.argv[1:])}'" if (argv or sys.argv[1:]) else ""),
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": a.quick,
    }
    # Merge with a previous run's sections that are skipped this time, so the doc stays complete.
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    try:
        if "etl" not in a.skip:
            sizes = a.sizes or (SIZES_QUICK if a.quick else SIZES_FULL)
            shape_rides = {
                "two_year": TWO_YEAR_RIDES_QUICK if a.quick else TWO_YEAR_RIDES_FULL,
                "workshop": WORKSHOP_RIDES,
            }
            cap = (
                a.baseline_rides
                if a.baseline_rides is not None
                else (BASELINE_RIDES_QUICK if a.quick else None)
            )
            etl = bench_etl(
                settings,
                sizes,
                [min(sizes)] if a.baseline_sizes is None else a.baseline_sizes,
                shape_rides,
                {k: n if cap is None else min(n, cap) for k, n in shape_rides.items()},
            )
            results["etl"] = etl
            results.update(shape_results(etl["shapes"]))
            results["requests_per_ride"] = {
                m: {s: r["requests_per_ride"] for s, r in etl[m].items()} for m in ("default", "baseline")
            }
            results["throughput_rides_per_s"] = {
                m: {s: r["rides_per_s"] for s, r in etl[m].items()} for m in ("default", "baseline")
            }
        if "rss" not in a.skip:
            results["ingest_peak_rss_mb"] = bench_rss(
                settings, RSS_SIZES_QUICK if a.quick else RSS_SIZES_FULL
            )
        if "ingest_1m" not in a.skip:  # bench/ingest_1m.py (--quick: 100k rides, labelled)
            results["ingest_1m"] = bench_ingest_1m(settings, a.quick)
        if "inference" not in a.skip:
            results["inference"] = bench_inference(settings, a.quick)
            cold = bench_cold_start(settings, a.quick)
            results["cold_start"] = cold
            results["cold_start_ms"] = cold.get("cold_start_ms")  # {engine: {"pyc": ms, "no_pyc": ms}}
            results["layer_unzipped_mb"] = cold.get("layer_unzipped_mb")
        if "api" not in a.skip:
            results["api_concurrency"] = bench_api(settings, a.quick)
        if "model" not in a.skip:
            results["model"] = bench_model(settings, MODEL_SIZES_QUICK if a.quick else MODEL_SIZES_FULL)
        if "weather" not in a.skip:
            results["weather_bytes_read"] = bench_weather(settings, WEATHER_RIDES)
    finally:
        if not a.keep_running:
            subprocess.run(
                ["make", "--no-print-directory", "localstack-down", *settings.make_vars],
                cwd=ROOT,
                capture_output=True,
                check=False,
            )
    for key in (
        "etl",
        *SHAPE_KEYS,
        "projection",
        "requests_per_ride",
        "throughput_rides_per_s",
        "ingest_peak_rss_mb",
        "ingest_1m",
        "inference",
        "model",
        "weather_bytes_read",
        "cold_start",
        "cold_start_ms",
        "layer_unzipped_mb",
        "api_concurrency",
    ):
        if key not in results and key in previous:
            results[key] = previous[key]
    results["total_s"] = time.monotonic() - t0
    results["check"] = check(results)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=False))
    DOC.write_text(markdown(results))
    log(f"wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    for problem in results["check"]:
        log(f"CHECK FAILED: {problem}")
    return 1 if results["check"] else 0


if __name__ == "__main__":
    sys.exit(main())
