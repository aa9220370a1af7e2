#!/usr/bin/env python3
"""Ingest of one 1M-ride file under Lambda's limits: time and peak memory as fractions of the function's.

The ingest function of the deployed stack (root defaults: ``ingest_memory_mb``, ``ingest_timeout_seconds``)
runs on LocalStack's ``process`` executor with its Lambda-faithful limits on (a cgroup per worker: memory =
MemorySize, CPU = MemorySize/1769 of a vCPU; docs/localstack.md). One dense file of ``wildrydes generate``
(a month of rides, the bench's seed) is uploaded to ``raw/``; the S3 notification invokes ingest as it
would on AWS. Its ``REPORT`` line (written by the executor's worker, shipped to CloudWatch Logs) gives

- ``seconds``: the handler's Duration (Lambda's timeout applies to it), and ``timeout_fraction`` of the
  function's Timeout; the issue asks for at least 40 % of the timeout left (fraction <= 0.6);
- ``peak_rss_mb``: "Max Memory Used" (the worker's VmHWM: a fresh worker is forced by a configuration
  update, so it is this invocation's peak), and ``memory_fraction`` of MemorySize.

Only ingest is measured: the enrich function's event source mapping is disabled while the file is ingested
(enrich and writer would otherwise compete for the same two cores), then the ingest queue is purged and the
mapping re-enabled. ``attempts`` counts the invocations (START lines): more than one means a timeout or a
crash was retried, and ``seconds`` is then the successful one's.

Standalone: ``python bench/ingest_1m.py [--rides N] [--memory-mb M] [--timeout-seconds T]`` prints the
JSON (a memory/timeout other than the defaults is set on the function for the run and restored after);
``make bench`` calls :func:`bench_ingest_1m` for results.json key ``ingest_1m``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC
from pathlib import Path
from urllib.parse import quote_plus

from wildrydes_dev import demo, localaws
from wildrydes_dev.lambda_report import log_messages, parse_reports, worker_stats
from wildrydes_lambda.etl.ingestion import versions_dir

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "build" / "bench"
DEFAULT_PORT = 4586  # the bench's LocalStack (bench/run.py); moto on +1
RIDES_FULL = 1_000_000
RIDES_QUICK = 100_000  # --quick: labelled as such in results.json and docs/benchmarks.md
SEED = 11
DAYS = ("2017-06-01", "2017-06-30")  # dense: a month of rides in one file (~33k rides a day at 1M)
# The bar: at least 40 % of the timeout left.
MAX_TIMEOUT_FRACTION = 0.6
# Lambda's list price (x86, us-east-1) per GB-second, for the cost per million rides.
PRICE_PER_GB_SECOND_USD = 0.0000166667
MB_PER_VCPU = 1769  # Lambda: one vCPU at 1,769 MB
MIB_PER_GB = 1024
# Waits: ingest retries a failed attempt twice (async invoke); the log reaches CloudWatch shortly after.
ATTEMPTS_MAX = 3
LOG_WAIT_S = 120
POLL_S = 3
# LocalStack 4.14 once dropped the S3 notification's asynchronous invoke that came 0.8 s after the function's
# configuration update (the new version's event poller replaced the old one's queue). Ingest writes its
# `sending` marker under manifests/<key>.versions/ before it reads the file; none after this long means the
# event was lost, and the bench sends the same S3 event again (recorded as `event_resent`).
LOST_EVENT_S = 60
ENRICH_MAPPING_WAIT_S = 60


def log(msg: str) -> None:
    print(f"[bench ingest_1m {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def settings_for(port: int) -> demo.Settings:
    """The bench's stack (bench/run.py's settings): its own port, state and bucket name."""
    return demo.Settings(
        port=port,
        moto_port=port + 1,
        rides=0,
        seed=SEED,
        state_dir=BENCH_DIR / "state",
        quiet_progress=True,
        bucket_name_prefix="wildrydes-bench",
        tf_vars={},
    )


def ride_file(rides: int, settings: demo.Settings) -> Path:
    """One dense generated file of ``rides`` rides (cached by size)."""
    out = BENCH_DIR / "data" / f"ingest-{rides}"
    if not out.exists() or not demo.ride_files(out):
        demo.wildrydes(
            ["generate", "--rides", str(rides), "--seed", str(SEED), "--out", str(out)]
            + ["--start", DAYS[0], "--end", DAYS[1]],
            settings,
            capture=True,
        )
    return max(demo.ride_files(out), key=lambda p: p.stat().st_size)


def summarize(report: dict, timeout_s: int, rides: int, attempts: int) -> dict:
    """results.json's ``ingest_1m`` from the successful invocation's REPORT line (pure, unit-tested)."""
    seconds, memory_mb = report["seconds"], report["memory_mb"]
    gb_seconds = memory_mb / MIB_PER_GB * seconds
    per_million = 1_000_000 / rides
    return {
        "seconds": round(seconds, 1),
        "timeout_fraction": round(seconds / timeout_s, 3),
        "peak_rss_mb": report["peak_rss_mb"],
        "memory_fraction": round(report["peak_rss_mb"] / memory_mb, 3),
        "memory_mb": memory_mb,
        "timeout_seconds": timeout_s,
        "cpu_vcpu": round(memory_mb / MB_PER_VCPU, 3),
        "rides": rides,
        "attempts": attempts,
        "gb_seconds": round(gb_seconds, 1),
        "usd_per_million_rides": round(gb_seconds * per_million * PRICE_PER_GB_SECOND_USD, 5),
        "passed": attempts == 1 and seconds / timeout_s <= MAX_TIMEOUT_FRACTION,
    }


def executor_limits(settings: demo.Settings) -> str:
    marker = ROOT / "build" / "localstack" / str(settings.port) / "executor-active.json"
    try:
        return str(json.loads(marker.read_text()).get("limits", "unknown"))
    except (OSError, ValueError):
        return "unknown"


class IngestRun:
    """One measured ingest on the deployed stack; restores what it changed (function config, mapping)."""

    def __init__(self, settings: demo.Settings, outputs: dict) -> None:
        self.settings, self.outputs = settings, outputs
        client = lambda service: localaws.boto3_client(service, settings.port, settings.moto_port)  # noqa: E731
        self.s3, self.sqs, self.lam, self.logs = (client(s) for s in ("s3", "sqs", "lambda", "logs"))
        self.fn = outputs["ingest_function_name"]
        self.bucket = outputs["data_bucket_name"]
        self.queue = outputs["ingest_queue_url"]
        self.event_resent = False

    def _enrich_mappings(self) -> list[str]:
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        found = self.lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
        return [m["UUID"] for m in found]

    def _set_mappings(self, uuids: list[str], enabled: bool) -> None:
        for mapping in uuids:
            self.lam.update_event_source_mapping(UUID=mapping, Enabled=enabled)
        wanted = "Enabled" if enabled else "Disabled"
        deadline = time.monotonic() + ENRICH_MAPPING_WAIT_S
        while time.monotonic() < deadline:
            states = [self.lam.get_event_source_mapping(UUID=m)["State"] for m in uuids]
            if all(state == wanted for state in states):
                return
            time.sleep(1)
        log(f"event source mappings not {wanted} after {ENRICH_MAPPING_WAIT_S} s: {states}")

    def _reports(self, since_ms: int) -> tuple[list[dict], int]:
        messages = log_messages(self.logs, self.fn, since_ms)
        starts = sum(1 for m in messages if m.startswith("START RequestId:"))
        return parse_reports(messages), starts

    def measure(self, path: Path, rides: int, memory_mb: int | None, timeout_s: int | None) -> dict:
        original = self.lam.get_function_configuration(FunctionName=self.fn)
        env = dict(original.get("Environment", {}).get("Variables", {}))
        # Any configuration update closes the function's warm pool: the invocation gets a fresh worker, so
        # its VmHWM ("Max Memory Used") is this file's peak, not an earlier invocation's.
        update: dict = {"Environment": {"Variables": {**env, "BENCH_RUN": uuid.uuid4().hex[:8]}}}
        if memory_mb is not None:
            update["MemorySize"] = memory_mb
        if timeout_s is not None:
            update["Timeout"] = timeout_s
        config = localaws.update_function_configuration(self.lam, self.fn, **update)
        mappings = self._enrich_mappings()
        self._set_mappings(mappings, enabled=False)
        key = f"{demo.RAW_PREFIX}bench-ingest-1m/{uuid.uuid4().hex[:8]}-{path.name}"
        manifest_key = f"{demo.MANIFEST_PREFIX}{key}.json"
        try:
            load_before = os.getloadavg()[0]
            since_ms = int(time.time() * 1000) - 1000
            log(
                f"{rides:,} rides ({path.stat().st_size / 2**20:.0f} MB) -> {key}: ingest at "
                f"{config['MemorySize']} MB / {config['Timeout']} s, executor limits {executor_limits(self.settings)}"
            )
            self.s3.upload_file(str(path), self.bucket, key)
            manifest = self._wait_manifest(manifest_key, config["Timeout"], raw_key=key)
            reports, starts = self._wait_reports(since_ms)
            load_after = os.getloadavg()[0]
            cpu = worker_stats(self.settings.port, self.fn)
        finally:
            self.sqs.purge_queue(QueueUrl=self.queue)
            self._set_mappings(mappings, enabled=True)
            restore = {"Environment": {"Variables": env}}
            restore.update(MemorySize=original["MemorySize"], Timeout=original["Timeout"])
            localaws.update_function_configuration(self.lam, self.fn, **restore)
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        if manifest.get("rides_in") != rides:
            raise SystemExit(f"bench ingest_1m: manifest rides_in {manifest.get('rides_in')} != {rides}")
        if manifest["rides_in"] != manifest["valid"] + manifest["quarantined"] + manifest["duplicates"]:
            raise SystemExit(f"bench ingest_1m: manifest breaks the count invariant: {manifest}")
        result = summarize(reports[-1], config["Timeout"], rides, max(starts, len(reports)))
        share = result["cpu_vcpu"]
        result.update(
            **(cpu or {"cpu_seconds": None, "throttled_seconds": None, "contention_seconds": None}),
            # What the quota alone implies (no waiting for a contended machine or LocalStack): CPU / share.
            seconds_at_quota=None if cpu is None else round(cpu["cpu_seconds"] / share, 1),
            # The Duration without the time other work held the cores (the quota's hold-backs stay in).
            seconds_uncontended=None
            if cpu is None
            else round(result["seconds"] - cpu["contention_seconds"], 1),
            file_mb=round(path.stat().st_size / 2**20, 1),
            messages=manifest["messages"],
            event_resent=self.event_resent,
            executor_limits=executor_limits(self.settings),
            load_average=[round(load_before, 1), round(load_after, 1)],
            method="S3 upload -> ingest (async, as on AWS) on the process executor with Lambda's limits; "
            "Duration and Max Memory Used from the invocation's REPORT line; enrich's mapping disabled meanwhile",
        )
        return result

    def _wait_manifest(self, key: str, timeout_s: int, raw_key: str | None = None) -> dict:
        """The manifest object ``key``; with ``raw_key``, the S3 event is re-sent once if ingest has not
        written its marker for that file LOST_EVENT_S after the upload."""
        deadline = time.monotonic() + ATTEMPTS_MAX * (timeout_s + LOG_WAIT_S)
        lost_check = None if raw_key is None else time.monotonic() + LOST_EVENT_S
        while time.monotonic() < deadline:
            try:
                return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            except self.s3.exceptions.NoSuchKey:
                if lost_check is not None and time.monotonic() > lost_check:
                    lost_check = None
                    marker_dir = versions_dir(demo.MANIFEST_PREFIX, raw_key)
                    if not self.s3.list_objects_v2(Bucket=self.bucket, Prefix=marker_dir).get("KeyCount", 0):
                        self._resend_event(raw_key)
                time.sleep(POLL_S)
        raise SystemExit(f"bench ingest_1m: no manifest {key} after {ATTEMPTS_MAX} attempts' time")

    def _resend_event(self, raw_key: str) -> None:
        """The S3 ObjectCreated event of ``raw_key``'s current version, sent to ingest as S3 sends it."""
        head = self.s3.head_object(Bucket=self.bucket, Key=raw_key)
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventTime": head["LastModified"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "eventName": "ObjectCreated:CompleteMultipartUpload",
            "s3": {
                "bucket": {"name": self.bucket},
                "object": {
                    "key": quote_plus(raw_key),
                    "size": head["ContentLength"],
                    "versionId": head.get("VersionId"),
                },
            },
        }
        log(f"no ingest started {LOST_EVENT_S} s after the upload: the S3 event was lost, sending it again")
        self.lam.invoke(
            FunctionName=self.fn, InvocationType="Event", Payload=json.dumps({"Records": [record]})
        )
        self.event_resent = True

    def _wait_reports(self, since_ms: int) -> tuple[list[dict], int]:
        deadline = time.monotonic() + LOG_WAIT_S
        while True:
            reports, starts = self._reports(since_ms)
            if reports and len(reports) >= starts:
                return reports, starts
            if time.monotonic() > deadline:
                if not reports:
                    raise SystemExit("bench ingest_1m: no REPORT line of ingest in CloudWatch Logs")
                return reports, starts
            time.sleep(POLL_S)


def uncontended_within(result: dict) -> bool:
    """Whether the Duration less the time other work held the cores is within MAX_TIMEOUT_FRACTION of the
    timeout (False when the worker's CPU figures are unknown)."""
    seconds = result.get("seconds_uncontended")
    return seconds is not None and seconds / result["timeout_seconds"] <= MAX_TIMEOUT_FRACTION


def bench_ingest_1m(
    settings: demo.Settings,
    quick: bool = False,
    rides: int | None = None,
    memory_mb: int | None = None,
    timeout_s: int | None = None,
) -> dict:
    """results.json's ``ingest_1m`` (on the bench's stack; starts the emulators and applies if needed)."""
    rides = rides or (RIDES_QUICK if quick else RIDES_FULL)
    path = ride_file(rides, settings)
    demo.start_emulators(settings)
    outputs = demo.apply_terraform(settings)
    result = IngestRun(settings, outputs).measure(path, rides, memory_mb, timeout_s)
    result["quick"] = rides != RIDES_FULL
    log(
        f"{rides:,} rides: {result['seconds']} s = {result['timeout_fraction']:.0%} of {result['timeout_seconds']} s, "
        f"peak {result['peak_rss_mb']} MB = {result['memory_fraction']:.0%} of {result['memory_mb']} MB, "
        f"{result['attempts']} attempt(s), {result['gb_seconds']} GB-s"
    )
    return result


def markdown(result: dict) -> list[str]:
    """The docs/benchmarks.md section of ``ingest_1m``."""
    if not result:
        return []
    label = "" if not result.get("quick") else f" (--quick: {result['rides']:,} rides, not 1M)"
    ok = "yes" if result.get("passed") else "**no**"
    return [
        f"## Ingest of one {result['rides']:,}-ride file under Lambda's limits{label}",
        "",
        "One dense `wildrydes generate` file (a month of rides) uploaded to `raw/`; ingest runs at the root "
        "defaults on the process executor with its limits on (memory = MemorySize, CPU = MemorySize/1769 "
        f"of a vCPU; mode `{result.get('executor_limits')}`). Duration and Max Memory Used from the REPORT "
        "line; enrich's mapping is disabled meanwhile so only ingest runs (`bench/ingest_1m.py`).",
        "",
        "| rides | file MB | memory MB (vCPU) | timeout s | seconds | of timeout | peak RSS MB | of memory "
        "| attempts | GB-s | USD per 1M rides | ≥ 40 % of the timeout left |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {result['rides']:,} | {result['file_mb']} | {result['memory_mb']} ({result['cpu_vcpu']}) "
        f"| {result['timeout_seconds']} | {result['seconds']} | {result['timeout_fraction']:.0%} "
        f"| {result['peak_rss_mb']} | {result['memory_fraction']:.0%} | {result['attempts']} "
        f"| {result['gb_seconds']} | {result['usd_per_million_rides']} | {ok} |",
        "",
        f"The worker's own CPU: {result.get('cpu_seconds')} s ({result.get('seconds_at_quota')} s at its quota of "
        f"{result['cpu_vcpu']} vCPU); held back by the quota {result.get('throttled_seconds')} s; runnable but "
        f"waiting for a core held by other work {result.get('contention_seconds')} s (load average before/after "
        f"{result.get('load_average')}). Without that wait: {result.get('seconds_uncontended')} s "
        f"({'within' if uncontended_within(result) else 'beyond'} {MAX_TIMEOUT_FRACTION:.0%} of the timeout). "
        "The rest of the "
        "Duration is the quota and LocalStack's latency, so the measured seconds are an "
        "upper bound of Lambda's; GB-s and cost are computed from the measured seconds.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rides", type=int, default=RIDES_FULL)
    p.add_argument("--memory-mb", type=int, help="ingest MemorySize for this run (default: the deployed)")
    p.add_argument("--timeout-seconds", type=int, help="ingest Timeout for this run (default: the deployed)")
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", DEFAULT_PORT)))
    a = p.parse_args(argv)
    result = bench_ingest_1m(
        settings_for(a.port), rides=a.rides, memory_mb=a.memory_mb, timeout_s=a.timeout_seconds
    )
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
