"""Reliability suite (issue 8) on LocalStack: bad ride input and injected faults lose nothing, duplicate nothing.

One root apply per session (the ``tf_local`` fixture, default variables); every case uses its own raw/ key
and ride names (``rel.<run>.<case>.<n>``), so all files are uploaded first and the suite waits once.

Bad input: every case's manifest, quarantine lines and processed rows are checked against the outcome
docs/design.md documents, and the count invariant in = processed + quarantined + duplicates (lost = 0)
holds per file. Faults (on the writer stage, through an S3 proxy the writer is pointed at): one message
failing deterministically next to good ones, S3 throttling, a denied processed/ prefix, a function dying
mid-batch, redelivery, a poison message reaching the DLQ and its alarm, and ``wildrydes redrive``.

Each case becomes one row of build/reliability/results.json -> docs/reliability.md (``make reliability``).
The large-file case has WILDRYDES_RELIABILITY_LARGE_RIDES rides (default 20,000 for ``make test``;
``make reliability`` uses 1,000,000).

For the fault tests the ground-station queue's visibility timeout is lowered for the duration of the tests
(SetQueueAttributes, restored afterwards; the root module derives it as 6x the writer timeout = 180 s, and
no root variable can lower it below 6x), so each retry takes seconds. maxReceiveCount is the deployed one.

How the tests are split (one test per check, so each fails on its own, with its name):

- Bad input: the module fixture ``bad_input_run`` uploads every file, invokes ingest directly (two files in
  one event; keys it must skip), waits once and snapshots what it observed; five tests check the snapshot
  (the per-file outcomes that write the ``bad_input`` rows, the two direct invokes, the DLQs, the CSV rows).
- Faults: the steps build on each other's state (the poison and denied messages of step A sit in the DLQ that
  step C redrives; step D re-sends step A's good messages), so each step is a module fixture that requests
  the step before it: ``fault_env`` (writer on the proxy, visibility lowered) -> ``batch_step`` (A: throttling,
  then one batch of good, poison and denied-prefix messages) -> ``crash_step`` (B) -> ``redrive_step`` (C)
  -> ``redelivery_step`` (D) -> ``faults_done`` (configuration restored). A step runs once per module and
  snapshots what it observed right after its wait; a test only checks a snapshot and writes its ``faults``
  row. Fixtures rather than test order, so any one test also runs alone (``-k redrive`` runs A, B, C first);
  in a full run the tests are in step order anyway (file order), which keeps the rows in docs/reliability.md
  in the order partial_batch, s3_throttling, poison, crash_mid_batch, denied_then_redrive, redelivery,
  dlq_alarm. The bad-input tests come first in the file, so their DLQ check runs before any fault.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from reliability_cases import (
    Case,
    Expect,
    Rides,
    attribute,
    bad_input_cases,
    large_expect,
    large_file_chunks,
    two_file_cases,
)
from reliability_pipeline import (
    CSV_HEADER,
    LONG_KEY_MANIFEST_DIR,
    MANIFEST_PREFIX,
    S3_MAX_KEY_BYTES,
    Invocation,
    Outputs,
    Results,
    Rule,
    S3FaultProxy,
    invocations_by_key,
    source_key_hash,
    wait_until,
)

from wildrydes_dev.lambda_report import log_messages, parse_reports, request_ids_naming, worker_stats
from wildrydes_dev.opencsv import opencsv_parse_line
from wildrydes_lambda import aws as etl_aws
from wildrydes_lambda.contracts.envelope import Source, encode_message
from wildrydes_lambda.etl.enrichment import enrich_ride
from wildrydes_lambda.etl.ingestion import ingest_file
from wildrydes_lambda.etl.quarantine import QuarantineWriter
from wildrydes_lambda.etl.rides import validate_ride

pytestmark = pytest.mark.localstack

RUN = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
LARGE_RIDES_ENV = "WILDRYDES_RELIABILITY_LARGE_RIDES"
DEFAULT_LARGE_RIDES = 20_000
LARGE_RIDES = int(os.environ.get(LARGE_RIDES_ENV) or DEFAULT_LARGE_RIDES)

# Waits: a fixed budget for the small files plus time per ride of the large one (2 cores, LocalStack).
BAD_INPUT_BASE_WAIT_S = 180
LARGE_RIDES_PER_SECOND_FLOOR = 800
# Large file: ingest must finish in one attempt with at least 40 % of its timeout left (issue 14), at the
# deployed (default) memory under the executor's limits.
LARGE_MAX_TIMEOUT_FRACTION = 0.6
# After the counts match, the queues must stay drained for this long (catches late duplicates).
SETTLE_S = 3
# LocalStack ships a function's log to CloudWatch Logs after the invocation: how long to wait for the REPORT
# lines of every ingested file.
LOG_WAIT_S = 90
# Fault test: queue visibility while faults are injected; function timeout while it is made to die.
FAULT_VISIBILITY_S = 6
CRASH_TIMEOUT_S = 4
CRASH_HOLD_S = CRASH_TIMEOUT_S + 4  # the held PUT outlives the invocation
FAULT_PHASE_WAIT_S = 120
# LocalStack reports SQS metrics to CloudWatch every 60 s and evaluates a 60 s alarm once per period.
ALARM_WAIT_S = 200
# botocore "standard" retries in the functions (wildrydes_lambda.aws): total attempts per S3 call.
WRITER_SDK_ATTEMPTS = etl_aws.clients.BOTO_CONFIG.retries["max_attempts"]
# Fault partitions: each fault's rides fall in their own ride_month, so the proxy can target them.
DATE_PARTIAL, DATE_THROTTLE, DATE_DENY, DATE_CRASH = "2031-01-01", "2031-02-01", "2031-03-01", "2031-04-01"


def month(date: str) -> str:
    """The processed partition (ride_month=YYYY-MM) of a date: what the proxy's rules are keyed by."""
    return date[:7]


CLI = Path(sys.executable).parent / "wildrydes"
ROOT = Path(__file__).resolve().parents[2]


def attribute_run(name: str) -> str | None:
    return attribute(name, RUN)


@pytest.fixture(scope="module")
def pipeline(localstack, tf_local):
    outputs = {name: value["value"] for name, value in tf_local.apply().items()}

    class Pipeline:
        bucket = outputs["data_bucket_name"]
        s3, sqs, lam, cloudwatch = (localstack.client(s) for s in ("s3", "sqs", "lambda", "cloudwatch"))
        ingest_queue, gs_queue = outputs["ingest_queue_url"], outputs["groundstation_queue_url"]
        gs_dlq, ingest_dlq = outputs["groundstation_dlq_url"], outputs["ingest_dlq_url"]
        events_dlq = outputs["ingest_events_dlq_url"]
        ingest_fn, writer_fn = outputs["ingest_function_name"], outputs["writer_function_name"]
        port = localstack.port
        logs = localstack.client("logs")

    Pipeline.outputs = Outputs(Pipeline.s3, Pipeline.bucket)
    return Pipeline


@pytest.fixture(scope="module")
def results():
    collected = Results(
        {
            "run": RUN,
            "large_rides": LARGE_RIDES,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "fault_visibility_seconds": FAULT_VISIBILITY_S,
        }
    )
    yield collected
    collected.meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    collected.write()


@pytest.fixture(scope="module", autouse=True)
def alarm_canary(pipeline):
    """A message in the ground-station DLQ from the module's start: LocalStack reports queue depth to CloudWatch
    once a minute and evaluates the 60 s alarm once a period, so the alarm needs ~2 min to react; starting
    early lets that overlap the other tests. (The fault test's poison messages reach the same DLQ later.)"""
    body = f"alarm canary {time.time():.0f}: not an envelope"  # no RUN in it: not one of this run's rides
    pipeline.sqs.send_message(QueueUrl=pipeline.gs_dlq, MessageBody=body)
    pipeline.dlq_not_empty_since = time.monotonic()
    return body


def queue_busy(p, *urls) -> int:
    total = 0
    for url in urls:
        attrs = p.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        total += int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )
    return total


# Lowest ApproximateReceiveCount seen per DLQ message body: peeking receives too, so the first look is
# the one that tells how often the source queue delivered it (that count + 1).
FIRST_SEEN_RECEIVES: dict[str, int] = {}


def peek(p, url: str) -> list[dict]:
    """Messages of this run in a DLQ, without taking them (visibility 0), deduplicated by id."""
    seen = {}
    for _ in range(5):
        for message in p.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", []):
            if RUN in message["Body"]:
                seen[message["MessageId"]] = message
                count = int(message["Attributes"]["ApproximateReceiveCount"])
                FIRST_SEEN_RECEIVES[message["Body"]] = min(
                    count, FIRST_SEEN_RECEIVES.get(message["Body"], count)
                )
    return list(seen.values())


# ------------------------------------------------------------------------------------------- bad input
def large_case(tmp_path: Path) -> tuple[Case, Path]:
    path = tmp_path / "large.json"
    with path.open("wb") as out:
        for chunk in large_file_chunks(RUN, LARGE_RIDES):
            out.write(chunk)
    case = Case(
        "large",
        f"a large file: {LARGE_RIDES:,} records (every {1000}th bad, every 500th repeated)",
        "processed in memory-flat streaming; bad rides quarantined, repeats dropped",
        b"",
        LARGE_RIDES,
        large_expect(LARGE_RIDES),
    )
    return case, path


def s3_event(bucket: str, keys: list[str], versions: dict[str, str] | None = None) -> dict:
    """An S3 ObjectCreated event naming ``keys``; on a versioned bucket S3 names each object's version too."""
    versions = versions or {}
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": key, **({"versionId": versions[key]} if key in versions else {})},
                },
            }
            for key in keys
        ]
    }


def names_read_back(case: Case, out: Outputs, rows: list[tuple[str, str]]) -> list[str]:
    """Problems with the case's names as Athena would read them: each processed CSV holding its rides is
    split into lines and parsed with the Glue table's SerDe rules (a port of OpenCSVSerde), and read by
    DuckDB with the same quote/escape; both must give back exactly the names sent."""
    problems = []
    serde, duck = [], []
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in CSV_HEADER)
    name_at = CSV_HEADER.index("name")
    for key in sorted({k for _, k in rows}):
        data = out.get(key)
        for line in data.decode("utf-8").split("\n")[1:]:
            if line:
                cells = opencsv_parse_line(line)
                if len(cells) != len(CSV_HEADER):
                    problems.append(f"SerDe splits a row into {len(cells)} cells: {line[:120]!r}")
                elif attribute_run(cells[name_at]) == case.id:
                    serde.append(cells[name_at])
        with tempfile.NamedTemporaryFile(suffix=".csv") as local:
            local.write(data)
            local.flush()
            got = duckdb.sql(
                f"SELECT name FROM read_csv('{local.name}', header = true, auto_detect = false, "
                f"quote = '\"', escape = '\\', columns = {{{columns}}})"
            ).fetchall()
        duck.extend(name for (name,) in got if attribute_run(name) == case.id)
    for reader, names in (("SerDe", serde), ("DuckDB", duck)):
        if sorted(names) != sorted(case.names_read_back):
            problems.append(f"{reader} reads back {sorted(names)}, sent {sorted(case.names_read_back)}")
    return problems


def long_key_manifests(key: str, out: Outputs) -> list[str]:
    """Problems with where a long key's manifests went: under the hash-named key, every key <= 1,024 bytes."""
    problems = []
    hashed = f"{MANIFEST_PREFIX}{LONG_KEY_MANIFEST_DIR}{source_key_hash(key)}"
    found = out.keys(hashed)
    if f"{hashed}.json" not in found:
        problems.append(f"no manifest at {hashed}.json (found {found})")
    too_long = [k for k in found if len(k.encode("utf-8")) > S3_MAX_KEY_BYTES]
    if too_long:
        problems.append(f"manifest keys over {S3_MAX_KEY_BYTES} bytes: {too_long}")
    return problems


def check_case(
    case: Case,
    key: str,
    out: Outputs,
    rows: list[tuple[str, str]],
    invocations: list[Invocation] | None = None,
    memory_mb: int | None = None,
) -> tuple[dict, list[str]]:
    """One table row and the problems found (empty = the documented outcome, nothing lost or doubled).
    ``invocations``: the ingest invocations that handled the file (peak RSS and duration per case); each
    must have stayed below the function's ``memory_mb``."""
    problems: list[str] = []
    manifest = out.manifest(key)
    lines = out.quarantine_lines(key)
    ride_ids = [ride_id for ride_id, _ in rows]
    expect = case.expect
    whole_file = expect.file_reason is not None
    if not case.ingested:
        if manifest is not None or lines or rows:
            problems.append(
                f"ignored object was ingested: manifest={manifest} lines={len(lines)} rows={len(rows)}"
            )
        if not out.exists(key):
            problems.append("the uploaded object is gone")
        observed = "ignored" if not problems else "INGESTED"
    elif manifest is None:
        problems.append("no manifest")
        observed = "no manifest"
    else:
        got = (
            manifest["valid"],
            manifest["duplicates"],
            manifest["reasons"],
            manifest["file_reason"],
            manifest["quarantined"],
        )
        want = (expect.valid, expect.duplicates, expect.reasons, expect.file_reason, expect.quarantined)
        if got != want:
            problems.append(
                f"manifest (valid, duplicates, reasons, file_reason, quarantined) {got} != {want}"
            )
        if manifest["rides_in"] != manifest["valid"] + manifest["quarantined"] + manifest["duplicates"]:
            problems.append(f"manifest breaks rides_in = valid + quarantined + duplicates: {manifest}")
        if not whole_file and manifest["rides_in"] != case.rides_in:
            problems.append(
                f"manifest rides_in {manifest['rides_in']} != {case.rides_in} records in the file"
            )
        if whole_file:
            ok = (
                len(lines) == 1
                and lines[0]["reason"] == expect.file_reason
                and lines[0]["record"] is None
                and lines[0].get("raw_object") == key
            )
            if not ok:
                problems.append(
                    f"expected one file-level quarantine line {expect.file_reason}, got {lines[:2]}"
                )
            if not out.exists(key):
                problems.append("rejected file no longer in raw/ (its rides would be lost)")
            observed = f"file quarantined: {manifest['file_reason']}"
        else:
            reasons = Counter(line["reason"] for line in lines)
            if reasons != Counter(expect.reasons):
                problems.append(f"quarantine reasons {dict(reasons)} != {expect.reasons}")
            if any(line["source"]["key"] != key for line in lines):
                problems.append("a quarantine line names another source key")
            indexes = [line["index"] for line in lines]
            if len(set(indexes)) != len(indexes) or not all(isinstance(i, int) for i in indexes):
                problems.append(f"quarantine indexes not distinct ints: {indexes[:10]}")
            observed = ", ".join(
                [f"{manifest['valid']} processed"]
                + [f"{n} {code}" for code, n in sorted(manifest["reasons"].items())]
                + ([f"{manifest['duplicates']} duplicates dropped"] if manifest["duplicates"] else [])
            )
            for reason, record in case.quarantined_records:
                if not any(line["reason"] == reason and line["record"] == record for line in lines):
                    problems.append(f"no {reason} quarantine line with the full record {record}")
        if case.names_read_back:
            problems.extend(names_read_back(case, out, rows))
        if case.key_bytes is not None:
            problems.extend(long_key_manifests(key, out))
    if len(rows) != expect.valid:
        problems.append(f"{len(rows)} processed rows, expected {expect.valid}")
    doubled = len(ride_ids) - len(set(ride_ids))
    if doubled:
        problems.append(f"{doubled} ride(s) appear more than once in processed/")
    duplicates = manifest["duplicates"] if manifest else 0
    quarantined = case.rides_in if whole_file and lines else len(lines)
    processed = len(set(ride_ids))
    lost = case.rides_in - processed - quarantined - duplicates
    if lost:
        problems.append(f"lost {lost} ride(s)")
    peak = max((i.peak_rss_mb for i in invocations or []), default=None)
    seconds = max((i.seconds for i in invocations or []), default=None)
    if case.ingested and peak is None:
        problems.append("no REPORT line of an ingest invocation for this file")
    if peak is not None and memory_mb is not None and peak >= memory_mb:
        problems.append(f"ingest peak RSS {peak} MB reached MemorySize {memory_mb} MB")
    row = {
        "id": case.id,
        "input": case.kind,
        "peak_rss_mb": peak,
        "seconds": None if seconds is None else round(seconds, 2),
        "outcome": case.outcome,
        "observed": observed,
        "rides_in": case.rides_in,
        "processed": processed,
        "quarantined": quarantined,
        "whole_file": whole_file,
        "duplicates": duplicates,
        "doubled": doubled,
        "lost": lost,
        "passed": not problems,
        "problems": problems,
    }
    return row, problems


@dataclass(frozen=True)
class BadInputRun:
    """Everything observed once the bad-input files went through the pipeline (snapshots, so the tests
    that read them do not depend on what later tests add to the bucket or the DLQs)."""

    every: list[Case]
    pair_keys: list[str]
    pair_response: dict
    pair_answer: dict
    ignored_answer: dict
    counted: bool | None
    rows: dict[str, list[tuple[str, str]]]
    stray: list[str]
    bad_rows: list[str]
    invocations: dict[str, list[Invocation]]
    memory_mb: int
    large_ingest: dict


@pytest.fixture(scope="module")
def bad_input_run(pipeline, results, tmp_path_factory) -> BadInputRun:
    """Upload every bad-input file, invoke ingest directly twice, wait once until all files are counted."""
    p, out = pipeline, pipeline.outputs
    cases = bad_input_cases(RUN)
    pairs = two_file_cases(RUN)
    large, large_path = large_case(tmp_path_factory.mktemp("large"))
    began = time.monotonic()
    began_ms = int(time.time() * 1000) - 1000

    versions: dict[str, str] = {}
    for case in [*cases, *pairs]:
        put = p.s3.put_object(Bucket=p.bucket, Key=case.key(RUN), Body=case.body)
        versions[case.key(RUN)] = put["VersionId"]  # the data bucket is versioned
    p.s3.upload_file(str(large_path), p.bucket, large.key(RUN))  # multipart for big files, like the CLI
    upload_s = time.monotonic() - began

    # Two files in one notification: ingest invoked with a two-record S3 event (their own uploads also
    # notified ingest; the outputs are deterministic, so being ingested twice must change nothing).
    pair_keys = [case.key(RUN) for case in pairs]
    pair_response = p.lam.invoke(
        FunctionName=p.ingest_fn, Payload=json.dumps(s3_event(p.bucket, pair_keys, versions))
    )
    pair_answer = json.loads(pair_response["Payload"].read())
    # The handler's own guard: keys outside raw/ are skipped even if an event names them (an object under
    # raw/ that is no ride file gets an UNSUPPORTED_OBJECT manifest instead: the csvsuffix case).
    ignored = [case.key(RUN) for case in cases if not case.ingested]
    response = p.lam.invoke(FunctionName=p.ingest_fn, Payload=json.dumps(s3_event(p.bucket, ignored)))
    ignored_answer = json.loads(response["Payload"].read())

    every = [*cases, *pairs, large]
    expected_rows = {case.id: case.expect.valid for case in every}
    # The ingest worker's CPU and waits, read once the large file's manifest exists: the worker idles out
    # (WILDRYDES_EXECUTOR_IDLE_SECONDS, 10 min) long before enrich and writer finish a 1M-ride file.
    large_worker: dict = {}
    deadline = began + BAD_INPUT_BASE_WAIT_S + LARGE_RIDES / LARGE_RIDES_PER_SECOND_FLOOR

    def all_counted():
        if not large_worker and out.manifest(large.key(RUN)) is not None:
            large_worker.update(worker_stats(p.port, p.ingest_fn) or {})
        if any(out.manifest(case.key(RUN)) is None for case in every if case.ingested):
            return False
        rows = out.processed(attribute_run)
        return all(len(rows.get(cid, [])) >= n for cid, n in expected_rows.items())

    counted = wait_until(all_counted, deadline, interval=3)
    wait_until(lambda: queue_busy(p, p.ingest_queue, p.gs_queue) == 0, deadline)
    time.sleep(SETTLE_S)
    pipeline_s = time.monotonic() - began

    rows = out.processed(attribute_run)
    results.meta.update(
        bad_input_upload_seconds=round(upload_s, 1), bad_input_pipeline_seconds=round(pipeline_s, 1)
    )
    stray = [m["Body"][:200] for url in (p.ingest_dlq, p.gs_dlq, p.events_dlq) for m in peek(p, url)]
    log_group = f"/aws/lambda/{p.ingest_fn}"
    ingested = [case.key(RUN) for case in every if case.ingested]
    invocations = wait_until(
        lambda: (
            (found := invocations_by_key(p.logs, log_group, began_ms))
            and all(k in found for k in ingested)
            and found
        ),
        time.monotonic() + LOG_WAIT_S,
        interval=5,
    ) or invocations_by_key(p.logs, log_group, began_ms)
    memory_mb = p.lam.get_function_configuration(FunctionName=p.ingest_fn)["MemorySize"]
    results.meta["ingest_memory_mb"] = memory_mb
    large_ingest = large_ingest_cost(p, large.key(RUN), began_ms, large_worker)
    results.meta["large_ingest"] = large_ingest
    return BadInputRun(
        every,
        pair_keys,
        {k: v for k, v in pair_response.items() if k != "Payload"},
        pair_answer,
        ignored_answer,
        counted,
        rows,
        stray,
        list(out.bad_rows),
        invocations,
        memory_mb,
        large_ingest,
    )


def large_ingest_cost(p, key: str, since_ms: int, stats: dict) -> dict:
    """The large file's ingest invocation(s): REPORT lines (Duration, Max Memory Used) and the ingest
    workers' CPU, quota hold-back and contention wait (wildrydes_dev.lambda_report), with the function's limits."""
    config = p.lam.get_function_configuration(FunctionName=p.ingest_fn)
    messages = log_messages(p.logs, p.ingest_fn, since_ms)
    ids = request_ids_naming(messages, key)
    reports = [r for r in parse_reports(messages) if r["request_id"] in ids]
    marker = ROOT / "build" / "localstack" / str(p.port) / "executor-active.json"
    limits = json.loads(marker.read_text()).get("limits") if marker.exists() else None
    seconds = reports[-1]["seconds"] if reports else None
    return {
        "rides": LARGE_RIDES,
        "memory_mb": config["MemorySize"],
        "timeout_seconds": config["Timeout"],
        "executor_limits": limits,
        "attempts": len(reports),
        "seconds": seconds,
        "timeout_fraction": None if seconds is None else round(seconds / config["Timeout"], 3),
        "peak_rss_mb": reports[-1]["peak_rss_mb"] if reports else None,
        **(stats or {"cpu_seconds": None, "throttled_seconds": None, "contention_seconds": None}),
    }


def test_bad_inputs_are_processed_or_quarantined_never_lost(pipeline, results, bad_input_run):
    run = bad_input_run
    failures = []
    for case in run.every:
        key = case.key(RUN)
        row, problems = check_case(
            case, key, pipeline.outputs, run.rows.get(case.id, []), run.invocations.get(key), run.memory_mb
        )
        results.add("bad_input", row)
        failures.extend(f"{case.id}: {problem}" for problem in problems)
    assert run.counted, "deadline passed before every file was counted:\n" + "\n".join(failures)
    assert not failures, "\n".join(failures)
    assert len(run.every) >= 25


def check_row(results, check: str, problems: list[str]) -> None:
    """One row of the run-wide checks table (a check over the whole bad-input run, not one file)."""
    results.add("checks", {"id": check, "input": check, "passed": not problems, "problems": problems})


def test_two_files_in_one_s3_event_are_both_ingested(results, bad_input_run):
    run = bad_input_run
    problems = []
    if "FunctionError" in run.pair_response:
        problems.append(f"ingest failed: {run.pair_answer}")
    elif [f["source"]["key"] for f in run.pair_answer["files"]] != run.pair_keys:
        problems.append(f"files ingested {[f['source']['key'] for f in run.pair_answer['files']]}")
    check_row(results, "one invocation with a two-record S3 event ingests both files", problems)
    assert not problems, problems


def test_ingest_skips_keys_outside_raw_even_when_an_event_names_them(results, bad_input_run):
    answer = bad_input_run.ignored_answer
    problems = [] if answer == {"files": []} else [f"ingest answered {answer}"]
    check_row(results, "an event naming keys outside raw/ ingests nothing", problems)
    assert not problems, problems


def test_no_message_of_the_bad_input_run_in_a_dlq(results, bad_input_run):
    problems = [f"messages of this run in a DLQ: {bad_input_run.stray}"] if bad_input_run.stray else []
    check_row(
        results,
        "no message of the bad-input run in any DLQ (ingest, ground-station, ingest-events)",
        problems,
    )
    assert not problems, problems


def test_large_file_is_ingested_in_one_attempt_within_the_time_budget(bad_input_run):
    """The large file (1M rides in `make reliability`) at the deployed default memory, with the executor's
    memory and CPU limits on: one attempt, no retry, at least 40 % of the timeout left. Time the worker spent
    runnable within its CPU quota while other work held the machine's cores (schedstat run delay minus the
    cgroup's throttled time) is not the function's and is taken out; time held back by the quota stays in."""
    cost = bad_input_run.large_ingest
    assert str(cost["executor_limits"]).startswith("cgroup"), f"executor limits not enforced: {cost}"
    assert cost["attempts"] == 1, f"the large file's ingest ran {cost['attempts']} times: {cost}"
    assert cost["seconds"] < cost["timeout_seconds"], cost
    own_seconds = cost["seconds"] - (cost["contention_seconds"] or 0.0)
    assert own_seconds / cost["timeout_seconds"] <= LARGE_MAX_TIMEOUT_FRACTION, cost
    assert cost["peak_rss_mb"] < cost["memory_mb"], cost


def test_processed_rows_are_well_formed(results, bad_input_run):
    bad = bad_input_run.bad_rows
    problems = [f"malformed processed rows: {bad[:5]}"] if bad else []
    check_row(results, "every processed CSV has the header and well-formed ride_id, station, label", problems)
    assert not problems, problems


# ------------------------------------------------------------------------------------------- faults
def envelope(p, case_id: str, date: str, numbers: range, enrich: bool = True) -> str:
    """A ground-station-queue message (the writer's input) of rides of one case and date."""
    rides = Rides(RUN, case_id)
    normalized = [
        validate_ride(rides.ride(n, StatusTime=f"{date} 10:{n // 60 % 60:02d}:{n % 60:02d}.000"))
        for n in numbers
    ]
    body = [enrich_ride(r) for r in normalized] if enrich else normalized
    return encode_message(Source(p.bucket, f"raw/reliability/{RUN}/{case_id}.json"), numbers[0], body)


def send(p, url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        assert not p.sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def rows_of(p, case_id: str) -> list[tuple[str, str]]:
    return p.outputs.processed(attribute_run).get(case_id, [])


def keys_of(p, case_id: str) -> list[str]:
    return sorted({key for _, key in rows_of(p, case_id)})


def update_writer(p, **config) -> None:
    p.lam.update_function_configuration(FunctionName=p.writer_fn, **config)
    deadline = time.monotonic() + 60
    while p.lam.get_function_configuration(FunctionName=p.writer_fn).get("LastUpdateStatus") == "InProgress":
        assert time.monotonic() < deadline, "writer configuration update did not finish"
        time.sleep(0.5)


def fault_row(
    results,
    fid: str,
    fault: str,
    outcome: str,
    observed: str,
    rides_in: int,
    processed: int,
    dlq: int,
    problems: list[str],
    doubled: int = 0,
) -> None:
    results.add(
        "faults",
        {
            "id": fid,
            "input": fault,
            "outcome": outcome,
            "observed": observed,
            "rides_in": rides_in,
            "processed": processed,
            "quarantined": dlq,
            "whole_file": False,
            "duplicates": 0,
            "doubled": doubled,
            "lost": rides_in - processed - dlq,
            "passed": not problems,
            "problems": problems,
        },
    )


@dataclass
class FaultEnv:
    """The writer pointed at the fault proxy and the ground-station queue's visibility lowered; ``restore``
    puts the deployed configuration back (once: the alarm step calls it, module teardown again)."""

    pipeline: type
    proxy: S3FaultProxy
    writer: dict  # the writer's deployed configuration
    original_env: dict[str, str]
    original_visibility: str
    max_receive: int
    redeliver: Case
    restored: bool = False

    def restore(self) -> None:
        if self.restored:
            return
        self.restored = True
        p = self.pipeline
        update_writer(p, Environment={"Variables": self.original_env}, Timeout=self.writer["Timeout"])
        p.sqs.set_queue_attributes(
            QueueUrl=p.gs_queue, Attributes={"VisibilityTimeout": self.original_visibility}
        )
        self.proxy.stop()


@pytest.fixture(scope="module")
def fault_env(pipeline, results, localstack):
    p = pipeline
    writer = p.lam.get_function_configuration(FunctionName=p.writer_fn)
    original_env = writer.get("Environment", {}).get("Variables", {})
    attrs = p.sqs.get_queue_attributes(QueueUrl=p.gs_queue, AttributeNames=["All"])["Attributes"]
    max_receive = json.loads(attrs["RedrivePolicy"])["maxReceiveCount"]
    results.meta["max_receive_count"] = max_receive

    # Redelivery through the whole pipeline: a normal file first (processed before the faults start).
    redeliver = Case(
        "redeliver",
        "",
        "",
        json.dumps({"travel_data": [Rides(RUN, "redeliver").ride(i) for i in range(3)]}).encode(),
        3,
        Expect(valid=3),
    )
    p.s3.put_object(Bucket=p.bucket, Key=redeliver.key(RUN), Body=redeliver.body)

    env = FaultEnv(
        p,
        S3FaultProxy(localstack.port).start(),
        writer,
        original_env,
        attrs["VisibilityTimeout"],
        max_receive,
        redeliver,
    )
    try:
        update_writer(p, Environment={"Variables": {**original_env, "AWS_ENDPOINT_URL_S3": env.proxy.url}})
        p.sqs.set_queue_attributes(
            QueueUrl=p.gs_queue, Attributes={"VisibilityTimeout": str(FAULT_VISIBILITY_S)}
        )
        yield env
    finally:
        env.restore()


@dataclass(frozen=True)
class BatchStep:
    """Step A: S3 throttling, then one batch with good messages, poison and a denied prefix."""

    good: list[str]
    poison_text: str
    poison_unwritable: str
    denied: list[str]
    dead_bodies: set[str]
    deliveries: int  # deliveries of the poison message from the source queue before it moved
    partial_rows: list[tuple[str, str]]
    partial_keys: list[str]
    partial_versions: list[int]
    throttle_rows: list[tuple[str, str]]
    throttle_versions: list[int]
    throttle_attempts: list[int]


@pytest.fixture(scope="module")
def batch_step(pipeline, fault_env) -> BatchStep:
    p, out, proxy = pipeline, pipeline.outputs, fault_env.proxy
    proxy.rules[month(DATE_THROTTLE)] = Rule("throttle", count=WRITER_SDK_ATTEMPTS)
    proxy.rules[month(DATE_DENY)] = Rule("deny")
    # One throttled message: all its SDK retries (backoff up to ~15 s) fit in one invocation's timeout.
    send(p, p.gs_queue, [envelope(p, "throttle", DATE_THROTTLE, range(2))])
    deadline = time.monotonic() + FAULT_PHASE_WAIT_S
    wait_until(
        lambda: any(f"ride_month={month(DATE_THROTTLE)}/" in k for k in proxy.put_attempts), deadline, 0.2
    )
    good = [envelope(p, "partial", DATE_PARTIAL, range(i, i + 2)) for i in (0, 2, 4)]
    poison_text = f"poison {RUN}: not an envelope"
    poison_unwritable = envelope(p, "poison", DATE_PARTIAL, range(2), enrich=False)  # no groundstation
    denied = [envelope(p, "denied", DATE_DENY, range(2)), envelope(p, "denied", DATE_DENY, range(2, 4))]
    send(p, p.gs_queue, [good[0], poison_text, good[1], poison_unwritable, good[2], *denied])

    wait_until(
        lambda: (
            len(rows_of(p, "throttle")) >= 2
            and len(rows_of(p, "partial")) >= 6
            and len(peek(p, p.gs_dlq)) >= 4
        ),
        deadline,
    )
    dead = peek(p, p.gs_dlq)
    # Deliveries from the source queue before the move (the first peek itself is one more receive).
    deliveries = FIRST_SEEN_RECEIVES.get(poison_text, 0) - 1
    partial_keys = keys_of(p, "partial")
    throttle_keys = keys_of(p, "throttle")
    return BatchStep(
        good,
        poison_text,
        poison_unwritable,
        denied,
        {m["Body"] for m in dead},
        deliveries,
        rows_of(p, "partial"),
        partial_keys,
        [out.versions(k) for k in partial_keys],
        rows_of(p, "throttle"),
        [out.versions(k) for k in throttle_keys],
        [proxy.put_attempts[k] for k in throttle_keys],
    )


@dataclass(frozen=True)
class CrashStep:
    """Step B: the function dies mid-batch (timeout kills it while one PUT hangs)."""

    held: list[str]
    rows: list[tuple[str, str]]
    keys: list[str]
    written: list[int]  # PUTs forwarded to S3 per object


@pytest.fixture(scope="module")
def crash_step(pipeline, fault_env, batch_step) -> CrashStep:
    p, proxy = pipeline, fault_env.proxy
    update_writer(p, Timeout=CRASH_TIMEOUT_S)
    try:
        proxy.rules[month(DATE_CRASH)] = Rule("hold", count=2, hold_seconds=CRASH_HOLD_S)
        send(p, p.gs_queue, [envelope(p, "crash", DATE_CRASH, range(i, i + 2)) for i in (0, 2, 4)])
        deadline = time.monotonic() + FAULT_PHASE_WAIT_S
        wait_until(lambda: len(rows_of(p, "crash")) >= 6 and queue_busy(p, p.gs_queue) == 0, deadline)
    finally:
        update_writer(p, Timeout=fault_env.writer["Timeout"])
    crash_keys = keys_of(p, "crash")
    return CrashStep(
        list(proxy.held), rows_of(p, "crash"), crash_keys, [proxy.put_forwarded[k] for k in crash_keys]
    )


@dataclass(frozen=True)
class RedriveStep:
    """Step C: restore the denied prefix, replay the DLQ with ``wildrydes redrive``."""

    denied_before: int  # rows of the denied messages before the fix
    denied_in_dlq: int  # denied messages in the DLQ during the outage
    redrive: subprocess.CompletedProcess
    rows: list[tuple[str, str]]
    versions: list[int]
    back: set[str]  # this run's DLQ bodies after the redrive


@pytest.fixture(scope="module")
def redrive_step(pipeline, fault_env, localstack, batch_step, crash_step) -> RedriveStep:
    p, out = pipeline, pipeline.outputs
    batch = batch_step
    denied_before = len(rows_of(p, "denied"))
    denied_in_dlq = sum(1 for body in batch.denied if body in batch.dead_bodies)
    fault_env.proxy.rules[month(DATE_DENY)].active = False
    redrive = subprocess.run(
        [str(CLI), "redrive", "--dlq", p.gs_dlq],
        check=False,
        env={**os.environ, **localstack.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    deadline = time.monotonic() + FAULT_PHASE_WAIT_S
    wait_until(
        lambda: (
            len(rows_of(p, "denied")) >= 4
            and {batch.poison_text, batch.poison_unwritable} <= {m["Body"] for m in peek(p, p.gs_dlq)}
        ),
        deadline,
    )
    denied_keys = keys_of(p, "denied")
    return RedriveStep(
        denied_before,
        denied_in_dlq,
        redrive,
        rows_of(p, "denied"),
        [out.versions(k) for k in denied_keys],
        {m["Body"] for m in peek(p, p.gs_dlq)},
    )


@dataclass(frozen=True)
class RedeliveryStep:
    """Step D: redelivery of already-processed batches (writer input, ingest output, S3 event)."""

    redeliver_keys: list[str]
    rewritten: bool  # every object of the redelivered messages got a new version
    rows: list[tuple[str, str]]


@pytest.fixture(scope="module")
def redelivery_step(pipeline, fault_env, batch_step, redrive_step) -> RedeliveryStep:
    p, out, redeliver = pipeline, pipeline.outputs, fault_env.redeliver
    before = {k: out.versions(k) for k in batch_step.partial_keys}
    send(p, p.gs_queue, batch_step.good)
    bodies: list[str] = []
    # The same messages ingest sent: the same version and event time (its manifest's source), so the same
    # object names (docs/design.md "Exactly once per file version").
    sent_from = (out.manifest(redeliver.key(RUN)) or {}).get("source", {})
    source = Source(
        p.bucket,
        redeliver.key(RUN),
        version_id=sent_from.get("version_id"),
        ingested_at=sent_from.get("ingested_at"),
    )
    ingest_file(
        source,
        lambda: io.BytesIO(redeliver.body),
        bodies.append,
        QuarantineWriter(lambda k, b: None, "quarantine/", source),
    )
    redeliver_keys = keys_of(p, "redeliver")
    redeliver_before = {k: out.versions(k) for k in redeliver_keys}
    send(p, p.ingest_queue, bodies)
    deadline = time.monotonic() + FAULT_PHASE_WAIT_S
    wait_until(lambda: all(out.versions(k) > v for k, v in {**before, **redeliver_before}.items()), deadline)
    rewritten = all(out.versions(k) > v for k, v in {**before, **redeliver_before}.items())
    return RedeliveryStep(redeliver_keys, rewritten, rows_of(p, "partial") + rows_of(p, "redeliver"))


@pytest.fixture(scope="module")
def faults_done(fault_env, redelivery_step) -> None:
    """Steps A-D have run; the writer and the queue have their deployed configuration again."""
    fault_env.restore()


def report(fid: str, problems: list[str]) -> str:
    return "\n".join(f"{fid}: {x}" for x in problems)


def test_partial_batch_retries_only_the_failed_messages(results, batch_step):
    step = batch_step
    problems = []
    if len(step.partial_rows) != 6 or len(step.partial_keys) != 3:
        problems.append(
            f"good messages: {len(step.partial_rows)} rows in {len(step.partial_keys)} objects, want 6 in 3"
        )
    if step.partial_versions != [1, 1, 1]:
        problems.append(
            f"good messages were written {step.partial_versions} times: more than the failed item was retried"
        )
    if {step.poison_text, step.poison_unwritable} - step.dead_bodies:
        problems.append("the failing messages are not in the DLQ")
    fault_row(
        results,
        "partial_batch",
        "writer failure for part of a batch (2 of 5 messages fail "
        "deterministically: not an envelope / rides without groundstation)",
        "only the failed items retried; good items written once; failed ones -> DLQ",
        f"good objects written {step.partial_versions} times; failing messages in DLQ",
        6 + 2,
        len({r for r, _ in step.partial_rows}),
        2 * (step.poison_unwritable in step.dead_bodies),
        problems,
    )
    assert not problems, report("partial_batch", problems)


def test_s3_throttling_is_retried_until_each_object_lands_once(results, batch_step):
    step = batch_step
    problems = []
    if len(step.throttle_rows) != 2 or step.throttle_versions != [1]:
        problems.append(f"throttled: rows {len(step.throttle_rows)}, versions {step.throttle_versions}")
    if any(a <= WRITER_SDK_ATTEMPTS for a in step.throttle_attempts):
        problems.append(f"throttled PUT attempts {step.throttle_attempts}: the SQS retry never happened")
    fault_row(
        results,
        "s3_throttling",
        f"S3 throttling: 503 SlowDown for the first {WRITER_SDK_ATTEMPTS} "
        "PUTs of each object (all SDK retries of the first delivery)",
        "SDK retries, then SQS redelivers; each object lands once",
        f"PUT attempts per object {step.throttle_attempts}; written once each",
        2,
        len({r for r, _ in step.throttle_rows}),
        0,
        problems,
    )
    assert not problems, report("s3_throttling", problems)


def test_poison_message_reaches_the_dlq_after_max_receive_count(results, fault_env, batch_step):
    step, max_receive = batch_step, fault_env.max_receive
    problems = []
    if step.poison_text not in step.dead_bodies:
        problems.append("poison message not in the DLQ")
    elif step.deliveries < max_receive:
        problems.append(f"poison moved after {step.deliveries} deliveries < maxReceiveCount {max_receive}")
    fault_row(
        results,
        "poison",
        "poison message (body not JSON) on the ground-station queue",
        f"retried maxReceiveCount={max_receive} times, then in the DLQ",
        f"in DLQ after {step.deliveries} deliveries",
        0,
        0,
        0,
        problems,
    )
    assert not problems, report("poison", problems)


def test_crash_mid_batch_redelivers_the_batch_without_duplicate_rows(results, crash_step):
    step = crash_step
    problems = []
    if not step.held:
        problems.append("no PUT was held: the crash was not injected")
    if len(step.rows) != 6 or len(step.keys) != 3:
        problems.append(f"crash: {len(step.rows)} rows in {len(step.keys)} objects, want 6 in 3")
    if max(step.written, default=0) < 2:
        problems.append(
            f"objects written {step.written} times: the batch was not redelivered after the crash"
        )
    distinct = len({r for r, _ in step.rows})
    fault_row(
        results,
        "crash_mid_batch",
        f"Lambda dies mid-batch (a PUT hangs past the {CRASH_TIMEOUT_S} s "
        "timeout; the runtime is killed after part of the batch was written)",
        "whole batch redelivered; rewritten objects are identical (same keys), no duplicate rows",
        f"objects written {step.written} times; {len(step.rows)} rows",
        6,
        distinct,
        0,
        problems,
        doubled=len(step.rows) - distinct,
    )
    assert not problems, report("crash_mid_batch", problems)


def test_denied_prefix_then_redrive_lands_each_message_once(results, batch_step, redrive_step):
    step, batch = redrive_step, batch_step
    problems = []
    if step.redrive.returncode != 0:
        problems.append(
            f"wildrydes redrive exit {step.redrive.returncode}: {step.redrive.stderr.strip()[-300:]}"
        )
    if step.denied_before or step.denied_in_dlq != 2:
        problems.append(
            f"denied prefix: {step.denied_before} rows before restore, {step.denied_in_dlq}/2 messages in DLQ"
        )
    if len(step.rows) != 4 or step.versions != [1, 1]:
        problems.append(f"after redrive: {len(step.rows)} rows, versions {step.versions}")
    if {batch.poison_text, batch.poison_unwritable} - step.back or set(batch.denied) & step.back:
        problems.append("after redrive the DLQ should hold exactly the poison messages of this run")
    fault_row(
        results,
        "denied_then_redrive",
        "S3 errors: processed/ partition denied (403 AccessDenied) until "
        "fixed; then `wildrydes redrive` replays the DLQ",
        "messages reach the DLQ after maxReceiveCount; after the fix and redrive each lands once; "
        "poison goes back to the DLQ",
        f"{step.denied_in_dlq} messages in DLQ during the outage; `wildrydes redrive` "
        f"{' '.join(step.redrive.stdout.split()[1:4])}; landed once",
        4,
        len({r for r, _ in step.rows}),
        0,
        problems,
    )
    assert not problems, report("denied_then_redrive", problems)


def test_redelivery_overwrites_objects_with_identical_content(results, redelivery_step):
    step = redelivery_step
    problems = []
    if not step.redeliver_keys:
        problems.append("the redelivery file was never processed")
    if not step.rewritten:
        problems.append("a redelivered message was not written again")
    doubled = len(step.rows) - len({r for r, _ in step.rows})
    if doubled or len(step.rows) != 6 + 3:
        problems.append(f"after redelivery: {len(step.rows)} rows, {doubled} doubled")
    fault_row(
        results,
        "redelivery",
        "redelivery of already-processed batches (3 writer messages, the "
        "ingest messages of a processed file)",
        "objects overwritten with identical content: no duplicate rows",
        f"objects rewritten; {len(step.rows)} rows, {doubled} doubled",
        9,
        len({r for r, _ in step.rows}),
        0,
        problems,
        doubled=doubled,
    )
    assert not problems, report("redelivery", problems)


def test_dlq_alarm_fires_while_messages_sit_in_the_dlq(pipeline, results, faults_done):
    p = pipeline
    dlq_name = p.gs_dlq.rstrip("/").rsplit("/", 1)[-1]
    alarms = [
        a
        for a in p.cloudwatch.describe_alarms()["MetricAlarms"]
        if {"Name": "QueueName", "Value": dlq_name} in a.get("Dimensions", [])
        and a["MetricName"] == "ApproximateNumberOfMessagesVisible"  # the DLQ also has an age alarm
    ]
    problems = []
    if len(alarms) != 1:
        problems.append(f"{len(alarms)} alarms watch {dlq_name}")
        state = "missing"
    else:
        alarm = alarms[0]
        shape = (alarm["Namespace"], alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"])
        if (
            shape[:3] != ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold")
            or shape[3] >= 1
        ):
            problems.append(f"alarm does not fire on one message: {shape}")

        def alarm_state():
            found = p.cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"][0]
            return found["StateValue"] if found["StateValue"] == "ALARM" else None

        state = (
            wait_until(alarm_state, p.dlq_not_empty_since + ALARM_WAIT_S, interval=5)
            or p.cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"][0]["StateValue"]
        )
        if state != "ALARM":
            problems.append(f"alarm state {state} {ALARM_WAIT_S} s after the DLQ got its first message")
    results.meta["alarm_seconds_after_dlq_not_empty"] = round(time.monotonic() - p.dlq_not_empty_since, 1)
    fault_row(
        results,
        "dlq_alarm",
        f"DLQ alarm on {dlq_name} (ApproximateNumberOfMessagesVisible > 0)",
        "alarm goes to ALARM while messages sit in the DLQ (LocalStack evaluates it once a minute)",
        f"state {state}",
        0,
        0,
        0,
        problems,
    )
    assert not problems, report("dlq_alarm", problems)
