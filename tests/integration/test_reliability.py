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

For the fault test the ground-station queue's visibility timeout is lowered for the duration of the test
(SetQueueAttributes, restored afterwards; the root module derives it as 6x the writer timeout = 180 s, and
no root variable can lower it below 6x), so each retry takes seconds. maxReceiveCount is the deployed one.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

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
from reliability_pipeline import Outputs, Results, Rule, S3FaultProxy, wait_until

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
# After the counts match, the queues must stay drained for this long (catches late duplicates).
SETTLE_S = 3
# Fault test: queue visibility while faults are injected; function timeout while it is made to die.
FAULT_VISIBILITY_S = 6
CRASH_TIMEOUT_S = 4
CRASH_HOLD_S = CRASH_TIMEOUT_S + 4  # the held PUT outlives the invocation
FAULT_PHASE_WAIT_S = 120
# LocalStack reports SQS metrics to CloudWatch every 60 s and evaluates a 60 s alarm once per period.
ALARM_WAIT_S = 200
# botocore "standard" retries in the functions (wildrydes_lambda.aws): total attempts per S3 call.
WRITER_SDK_ATTEMPTS = etl_aws.clients.BOTO_CONFIG.retries["max_attempts"]
# Fault partitions: each fault's rides carry their own ride_date, so the proxy can target them.
DATE_PARTIAL, DATE_THROTTLE, DATE_DENY, DATE_CRASH = "2031-01-01", "2031-01-02", "2031-01-03", "2031-01-04"
CLI = Path(sys.executable).parent / "wildrydes"


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


def s3_event(bucket: str, keys: list[str]) -> dict:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
            }
            for key in keys
        ]
    }


def check_case(case: Case, key: str, out: Outputs, rows: list[tuple[str, str]]) -> tuple[dict, list[str]]:
    """One table row and the problems found (empty = the documented outcome, nothing lost or doubled)."""
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
    row = {
        "id": case.id,
        "input": case.kind,
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


def test_bad_inputs_are_processed_or_quarantined_never_lost(pipeline, results, tmp_path):
    p, out = pipeline, pipeline.outputs
    cases = bad_input_cases(RUN)
    pairs = two_file_cases(RUN)
    large, large_path = large_case(tmp_path)
    began = time.monotonic()

    for case in [*cases, *pairs]:
        p.s3.put_object(Bucket=p.bucket, Key=case.key(RUN), Body=case.body)
    p.s3.upload_file(str(large_path), p.bucket, large.key(RUN))  # multipart for big files, like the CLI
    upload_s = time.monotonic() - began

    # Two files in one notification: ingest invoked with a two-record S3 event (their own uploads also
    # notified ingest; the outputs are deterministic, so being ingested twice must change nothing).
    pair_keys = [case.key(RUN) for case in pairs]
    response = p.lam.invoke(FunctionName=p.ingest_fn, Payload=json.dumps(s3_event(p.bucket, pair_keys)))
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, answer
    assert [f["source"]["key"] for f in answer["files"]] == pair_keys
    # The handler's own guard: keys outside raw/ or without .json are skipped even if an event names them.
    ignored = [case.key(RUN) for case in cases if not case.ingested]
    response = p.lam.invoke(FunctionName=p.ingest_fn, Payload=json.dumps(s3_event(p.bucket, ignored)))
    assert json.loads(response["Payload"].read()) == {"files": []}

    every = [*cases, *pairs, large]
    expected_rows = {case.id: case.expect.valid for case in every}
    deadline = began + BAD_INPUT_BASE_WAIT_S + LARGE_RIDES / LARGE_RIDES_PER_SECOND_FLOOR

    def all_counted():
        if any(out.manifest(case.key(RUN)) is None for case in every if case.ingested):
            return False
        rows = out.processed(attribute_run)
        return all(len(rows.get(cid, [])) >= n for cid, n in expected_rows.items())

    counted = wait_until(all_counted, deadline, interval=3)
    wait_until(lambda: queue_busy(p, p.ingest_queue, p.gs_queue) == 0, deadline)
    time.sleep(SETTLE_S)
    pipeline_s = time.monotonic() - began

    rows = out.processed(attribute_run)
    failures = []
    for case in every:
        row, problems = check_case(case, case.key(RUN), out, rows.get(case.id, []))
        results.add("bad_input", row)
        failures.extend(f"{case.id}: {problem}" for problem in problems)
    results.meta.update(
        bad_input_upload_seconds=round(upload_s, 1), bad_input_pipeline_seconds=round(pipeline_s, 1)
    )
    stray = [m["Body"][:200] for url in (p.ingest_dlq, p.gs_dlq, p.events_dlq) for m in peek(p, url)]
    assert not stray, f"messages of this run in a DLQ: {stray}"
    assert not out.bad_rows, f"malformed processed rows: {out.bad_rows[:5]}"
    assert counted, "deadline passed before every file was counted:\n" + "\n".join(failures)
    assert not failures, "\n".join(failures)
    assert len(every) >= 25


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


def test_faults_retry_only_what_failed_and_lose_nothing(pipeline, results, localstack):
    p, out = pipeline, pipeline.outputs
    failures: list[str] = []
    writer = p.lam.get_function_configuration(FunctionName=p.writer_fn)
    original_env = writer.get("Environment", {}).get("Variables", {})
    attrs = p.sqs.get_queue_attributes(QueueUrl=p.gs_queue, AttributeNames=["All"])["Attributes"]
    original_visibility = attrs["VisibilityTimeout"]
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

    proxy = S3FaultProxy(localstack.port).start()
    try:
        update_writer(p, Environment={"Variables": {**original_env, "AWS_ENDPOINT_URL_S3": proxy.url}})
        p.sqs.set_queue_attributes(
            QueueUrl=p.gs_queue, Attributes={"VisibilityTimeout": str(FAULT_VISIBILITY_S)}
        )

        # ---- phase A: S3 throttling; one batch with good messages, poison and a denied prefix
        proxy.rules[DATE_THROTTLE] = Rule("throttle", count=WRITER_SDK_ATTEMPTS)
        proxy.rules[DATE_DENY] = Rule("deny")
        # One throttled message: all its SDK retries (backoff up to ~15 s) fit in one invocation's timeout.
        send(p, p.gs_queue, [envelope(p, "throttle", DATE_THROTTLE, range(2))])
        deadline = time.monotonic() + FAULT_PHASE_WAIT_S
        wait_until(lambda: any(DATE_THROTTLE in k for k in proxy.put_attempts), deadline, 0.2)
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
        dead_bodies = {m["Body"] for m in dead}
        # Deliveries from the source queue before the move (the first peek itself is one more receive).
        deliveries = FIRST_SEEN_RECEIVES.get(poison_text, 0) - 1

        partial_keys = keys_of(p, "partial")
        partial_versions = [out.versions(k) for k in partial_keys]
        problems = []
        if len(rows_of(p, "partial")) != 6 or len(partial_keys) != 3:
            problems.append(
                f"good messages: {len(rows_of(p, 'partial'))} rows in {len(partial_keys)} objects, want 6 in 3"
            )
        if partial_versions != [1, 1, 1]:
            problems.append(
                f"good messages were written {partial_versions} times: more than the failed item was retried"
            )
        if {poison_text, poison_unwritable} - dead_bodies:
            problems.append("the failing messages are not in the DLQ")
        fault_row(
            results,
            "partial_batch",
            "writer failure for part of a batch (2 of 5 messages fail "
            "deterministically: not an envelope / rides without groundstation)",
            "only the failed items retried; good items written once; failed ones -> DLQ",
            f"good objects written {partial_versions} times; failing messages in DLQ",
            6 + 2,
            len({r for r, _ in rows_of(p, "partial")}),
            2 * (poison_unwritable in dead_bodies),
            problems,
        )
        failures += [f"partial_batch: {x}" for x in problems]

        problems = []
        throttle_keys = keys_of(p, "throttle")
        attempts = [proxy.put_attempts[k] for k in throttle_keys]
        if len(rows_of(p, "throttle")) != 2 or [out.versions(k) for k in throttle_keys] != [1]:
            problems.append(
                f"throttled: rows {len(rows_of(p, 'throttle'))}, versions {[out.versions(k) for k in throttle_keys]}"
            )
        if any(a <= WRITER_SDK_ATTEMPTS for a in attempts):
            problems.append(f"throttled PUT attempts {attempts}: the SQS retry never happened")
        fault_row(
            results,
            "s3_throttling",
            f"S3 throttling: 503 SlowDown for the first {WRITER_SDK_ATTEMPTS} "
            "PUTs of each object (all SDK retries of the first delivery)",
            "SDK retries, then SQS redelivers; each object lands once",
            f"PUT attempts per object {attempts}; written once each",
            2,
            len({r for r, _ in rows_of(p, "throttle")}),
            0,
            problems,
        )
        failures += [f"s3_throttling: {x}" for x in problems]

        problems = []
        if poison_text not in dead_bodies:
            problems.append("poison message not in the DLQ")
        elif deliveries < max_receive:
            problems.append(f"poison moved after {deliveries} deliveries < maxReceiveCount {max_receive}")
        fault_row(
            results,
            "poison",
            "poison message (body not JSON) on the ground-station queue",
            f"retried maxReceiveCount={max_receive} times, then in the DLQ",
            f"in DLQ after {deliveries} deliveries",
            0,
            0,
            0,
            problems,
        )
        failures += [f"poison: {x}" for x in problems]

        # ---- phase B: the function dies mid-batch (timeout kills it while one PUT hangs)
        update_writer(p, Timeout=CRASH_TIMEOUT_S)
        proxy.rules[DATE_CRASH] = Rule("hold", count=2, hold_seconds=CRASH_HOLD_S)
        send(p, p.gs_queue, [envelope(p, "crash", DATE_CRASH, range(i, i + 2)) for i in (0, 2, 4)])
        deadline = time.monotonic() + FAULT_PHASE_WAIT_S
        wait_until(lambda: len(rows_of(p, "crash")) >= 6 and queue_busy(p, p.gs_queue) == 0, deadline)
        update_writer(p, Timeout=writer["Timeout"])
        crash_keys = keys_of(p, "crash")
        written = [proxy.put_forwarded[k] for k in crash_keys]
        problems = []
        if not proxy.held:
            problems.append("no PUT was held: the crash was not injected")
        if len(rows_of(p, "crash")) != 6 or len(crash_keys) != 3:
            problems.append(
                f"crash: {len(rows_of(p, 'crash'))} rows in {len(crash_keys)} objects, want 6 in 3"
            )
        if max(written, default=0) < 2:
            problems.append(f"objects written {written} times: the batch was not redelivered after the crash")
        fault_row(
            results,
            "crash_mid_batch",
            f"Lambda dies mid-batch (a PUT hangs past the {CRASH_TIMEOUT_S} s "
            "timeout; the runtime is killed after part of the batch was written)",
            "whole batch redelivered; rewritten objects are identical (same keys), no duplicate rows",
            f"objects written {written} times; {len(rows_of(p, 'crash'))} rows",
            6,
            len({r for r, _ in rows_of(p, "crash")}),
            0,
            problems,
            doubled=len(rows_of(p, "crash")) - len({r for r, _ in rows_of(p, "crash")}),
        )
        failures += [f"crash_mid_batch: {x}" for x in problems]

        # ---- phase C: restore the denied prefix, replay the DLQ with `wildrydes redrive`
        denied_before = len(rows_of(p, "denied"))
        denied_in_dlq = sum(1 for body in denied if body in dead_bodies)
        proxy.rules[DATE_DENY].active = False
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
                and {poison_text, poison_unwritable} <= {m["Body"] for m in peek(p, p.gs_dlq)}
            ),
            deadline,
        )
        denied_keys = keys_of(p, "denied")
        problems = []
        if redrive.returncode != 0:
            problems.append(f"wildrydes redrive exit {redrive.returncode}: {redrive.stderr.strip()[-300:]}")
        if denied_before or denied_in_dlq != 2:
            problems.append(
                f"denied prefix: {denied_before} rows before restore, {denied_in_dlq}/2 messages in DLQ"
            )
        if len(rows_of(p, "denied")) != 4 or [out.versions(k) for k in denied_keys] != [1, 1]:
            problems.append(
                f"after redrive: {len(rows_of(p, 'denied'))} rows, versions {[out.versions(k) for k in denied_keys]}"
            )
        back = {m["Body"] for m in peek(p, p.gs_dlq)}
        if {poison_text, poison_unwritable} - back or set(denied) & back:
            problems.append("after redrive the DLQ should hold exactly the poison messages of this run")
        fault_row(
            results,
            "denied_then_redrive",
            "S3 errors: processed/ partition denied (403 AccessDenied) until "
            "fixed; then `wildrydes redrive` replays the DLQ",
            "messages reach the DLQ after maxReceiveCount; after the fix and redrive each lands once; "
            "poison goes back to the DLQ",
            f"{denied_in_dlq} messages in DLQ during the outage; `wildrydes redrive` "
            f"{' '.join(redrive.stdout.split()[1:4])}; landed once",
            4,
            len({r for r, _ in rows_of(p, "denied")}),
            0,
            problems,
        )
        failures += [f"denied_then_redrive: {x}" for x in problems]

        # ---- phase D: redelivery of already-processed batches (writer input, ingest output, S3 event)
        before = {k: out.versions(k) for k in partial_keys}
        send(p, p.gs_queue, good)
        bodies: list[str] = []
        ingest_file(
            Source(p.bucket, redeliver.key(RUN)),
            lambda: io.BytesIO(redeliver.body),
            bodies.append,
            QuarantineWriter(lambda k, b: None, "quarantine/", Source(p.bucket, redeliver.key(RUN))),
        )
        redeliver_keys = keys_of(p, "redeliver")
        redeliver_before = {k: out.versions(k) for k in redeliver_keys}
        send(p, p.ingest_queue, bodies)
        deadline = time.monotonic() + FAULT_PHASE_WAIT_S
        wait_until(
            lambda: all(out.versions(k) > v for k, v in {**before, **redeliver_before}.items()), deadline
        )
        problems = []
        if not redeliver_keys:
            problems.append("the redelivery file was never processed")
        if not all(out.versions(k) > v for k, v in {**before, **redeliver_before}.items()):
            problems.append("a redelivered message was not written again")
        rows = rows_of(p, "partial") + rows_of(p, "redeliver")
        doubled = len(rows) - len({r for r, _ in rows})
        if doubled or len(rows) != 6 + 3:
            problems.append(f"after redelivery: {len(rows)} rows, {doubled} doubled")
        fault_row(
            results,
            "redelivery",
            "redelivery of already-processed batches (3 writer messages, the "
            "ingest messages of a processed file)",
            "objects overwritten with identical content: no duplicate rows",
            f"objects rewritten; {len(rows)} rows, {doubled} doubled",
            9,
            len({r for r, _ in rows}),
            0,
            problems,
            doubled=doubled,
        )
        failures += [f"redelivery: {x}" for x in problems]
    finally:
        update_writer(p, Environment={"Variables": original_env}, Timeout=writer["Timeout"])
        p.sqs.set_queue_attributes(QueueUrl=p.gs_queue, Attributes={"VisibilityTimeout": original_visibility})
        proxy.stop()

    # ---- phase E: the DLQ alarm
    dlq_name = p.gs_dlq.rstrip("/").rsplit("/", 1)[-1]
    alarms = [
        a
        for a in p.cloudwatch.describe_alarms()["MetricAlarms"]
        if {"Name": "QueueName", "Value": dlq_name} in a.get("Dimensions", [])
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
    failures += [f"dlq_alarm: {x}" for x in problems]
    assert not failures, "\n".join(failures)
