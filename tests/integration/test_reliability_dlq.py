"""Dead letters on LocalStack (issue 14, "nothing expires unseen"): an S3 event that fails in ingest is replayed
by ``wildrydes redrive`` exactly once, and a DLQ whose oldest message gets old raises its alarm, which notifies
the alarm topic. Part of ``make reliability``; rows go to the ``dead_letters`` section of docs/reliability.md.

Replay: ingest is broken by pointing it (INGEST_QUEUE_URL) at a queue that does not exist; a file uploaded to
raw/ then fails, and after Lambda's asynchronous retries (LocalStack: 1 s apart, ``LAMBDA_RETRY_BASE_DELAY``) its
S3 event lands in the ingest-events DLQ. The configuration is restored, ``wildrydes redrive --dlq <that DLQ>``
re-invokes ingest with the event; the file is then processed once (count invariant per file) and a second
redrive finds nothing to do. A second file fails the same way, but a newer version of it is uploaded after the
fix and before the redrive: its replayed event is recorded as SUPERSEDED, only the newer version's rides count.

Age alarm: LocalStack 4.14 reports only message counts of SQS queues to CloudWatch, not
``ApproximateAgeOfOldestMessage``, so the test publishes that metric itself (put_metric_data of the measured age
of the DLQ's oldest message, from its SentTimestamp, as SQS does each minute) against the deployed alarm, whose
threshold the test stack lowers to 60 s (``dlq_max_message_age_seconds``, tests/conftest.py). LocalStack evaluates
the alarm (period 60 s, one evaluation period); a queue subscribed to the alarm topic receives the notification.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from reliability_cases import Rides, attribute
from reliability_pipeline import MANIFEST_PREFIX, Outputs, Results, wait_until

from wildrydes_dev import localaws
from wildrydes_lambda.etl.ingestion import manifest_key

pytestmark = pytest.mark.localstack

RUN = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
CLI = Path(sys.executable).parent / "wildrydes"
# The test stack's age threshold (tests/conftest.py TEST_STACK_VARIABLES).
AGE_THRESHOLD_S = 60
# The replayed file: good rides, one without a Distance, one repeated exactly.
GOOD_RIDES = 5
# The file replaced by a newer upload before the redrive: rides of its failed and of its newer version.
SUPERSEDED_V1_RIDES, SUPERSEDED_V2_RIDES = 3, 2
# Waits: the failing event's retries (two, seconds apart locally) and the pipeline after the redrive.
DLQ_WAIT_S = 120
PIPELINE_WAIT_S = 180
SETTLE_S = 5
# The alarm: the message must age past the threshold, then LocalStack evaluates once per 60 s period.
ALARM_WAIT_S = AGE_THRESHOLD_S + 3 * 60
METRIC_PUBLISH_INTERVAL_S = 10
MS = 1000
REDRIVE_TIMEOUT_S = 120


def attribute_run(name: str) -> str | None:
    return attribute(name, RUN)


@pytest.fixture(scope="module")
def stack(localstack, tf_local):
    outputs = {name: value["value"] for name, value in tf_local.apply().items()}

    class Stack:
        bucket = outputs["data_bucket_name"]
        s3, sqs, lam, cloudwatch, sns = (
            localstack.client(s) for s in ("s3", "sqs", "lambda", "cloudwatch", "sns")
        )
        events_dlq = outputs["ingest_events_dlq_url"]
        ingest_dlq = outputs["ingest_dlq_url"]
        ingest_fn = outputs["ingest_function_name"]
        topic = outputs["alarm_topic_arn"]
        commands = outputs["dlq_redrive_commands"]
        env = {**os.environ, **localstack.env}

    Stack.outputs = Outputs(Stack.s3, Stack.bucket)
    return Stack


@pytest.fixture(scope="module")
def results():
    collected = Results({"dlq_max_message_age_seconds": AGE_THRESHOLD_S})
    yield collected
    collected.write()


@pytest.fixture(scope="module", autouse=True)
def age_canary(stack):
    """A message in the ingest DLQ from the module's start, and a queue subscribed to the alarm topic: the age
    alarm needs the message to age past the threshold and LocalStack a period to evaluate, which overlaps the
    replay test. Both are removed at the end."""
    s = stack
    inbox = s.sqs.create_queue(QueueName=f"alarm-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    inbox_arn = s.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscription = s.sns.subscribe(TopicArn=s.topic, Protocol="sqs", Endpoint=inbox_arn)["SubscriptionArn"]
    body = f"age canary {RUN}: not an envelope"
    s.sqs.send_message(QueueUrl=s.ingest_dlq, MessageBody=body)
    canary = {"body": body, "sent": time.monotonic(), "inbox": inbox}
    yield canary
    s.sns.unsubscribe(SubscriptionArn=subscription)
    s.sqs.delete_queue(QueueUrl=inbox)
    for _ in range(5):
        for m in s.sqs.receive_message(
            QueueUrl=s.ingest_dlq, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", []):
            if m["Body"] == body:
                s.sqs.delete_message(QueueUrl=s.ingest_dlq, ReceiptHandle=m["ReceiptHandle"])


def messages_of_run(s, url: str) -> list[dict]:
    """This run's messages in a queue, without taking them (visibility 0), deduplicated by id."""
    seen = {}
    for _ in range(5):
        for m in s.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", []):
            if RUN in m["Body"]:
                seen[m["MessageId"]] = m
    return list(seen.values())


def update_ingest(s, variables: dict[str, str]) -> None:
    """Set ingest's environment and wait until LocalStack serves it and the replaced event poller is gone (an
    event that arrives while the function version is being replaced can be dropped)."""
    localaws.update_function_configuration(s.lam, s.ingest_fn, Environment={"Variables": variables})


def redrive(s) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), "redrive", "--dlq", s.events_dlq],
        check=False,
        env=s.env,
        capture_output=True,
        text=True,
        timeout=REDRIVE_TIMEOUT_S,
    )


def said(proc: subprocess.CompletedProcess) -> str:
    """'re-invoked <function> with N event(s)' from the redrive's output (or its exit status)."""
    match = re.search(r"re-invoked \S+ with \d+ event\(s\)", proc.stdout)
    return match.group(0) if match else f"exit {proc.returncode}"


def row(results, rid: str, kind: str, outcome: str, observed: str, counts: dict, problems: list[str]) -> None:
    results.add(
        "dead_letters",
        {
            "id": rid,
            "input": kind,
            "outcome": outcome,
            "observed": observed,
            "whole_file": counts.get("whole_file", False),
            "doubled": counts.get("doubled", 0),
            "passed": not problems,
            "problems": problems,
            **{k: counts.get(k, 0) for k in ("rides_in", "processed", "quarantined", "duplicates", "lost")},
        },
    )


def test_a_failed_s3_event_is_replayed_by_redrive_once(stack, results):
    s, out = stack, stack.outputs
    rides = Rides(RUN, "dlqreplay")
    records = [rides.ride(n) for n in range(GOOD_RIDES)]
    records += [rides.ride(GOOD_RIDES, Distance=Rides.DROP), rides.ride(0)]  # MISSING_FIELD, exact repeat
    key = f"raw/reliability/{RUN}/dlqreplay.json"
    # A second file whose failed version is replaced by a newer upload before the redrive.
    old_key = f"raw/reliability/{RUN}/dlqsuperseded.json"
    older = Rides(RUN, "dlqsuperseded")
    old_v1 = [older.ride(n) for n in range(SUPERSEDED_V1_RIDES)]
    old_v2 = [older.ride(n) for n in range(SUPERSEDED_V1_RIDES, SUPERSEDED_V1_RIDES + SUPERSEDED_V2_RIDES)]
    config = s.lam.get_function_configuration(FunctionName=s.ingest_fn)
    deployed = config["Environment"]["Variables"]
    broken_queue = deployed["INGEST_QUEUE_URL"].rstrip("/").rsplit("/", 1)[0] + f"/missing-{RUN}"
    problems: list[str] = []

    update_ingest(s, {**deployed, "INGEST_QUEUE_URL": broken_queue})
    try:
        s.s3.put_object(Bucket=s.bucket, Key=key, Body=json.dumps({"travel_data": records}).encode())
        v1 = s.s3.put_object(Bucket=s.bucket, Key=old_key, Body=json.dumps({"travel_data": old_v1}).encode())
        landed = wait_until(
            lambda: len(messages_of_run(s, s.events_dlq)) >= 2, time.monotonic() + DLQ_WAIT_S, interval=2
        )
    finally:
        update_ingest(s, deployed)  # the fix
    dead = messages_of_run(s, s.events_dlq)
    dead_keys = sorted(r["s3"]["object"]["key"] for m in dead for r in json.loads(m["Body"])["Records"])
    if not landed or dead_keys != sorted([key, old_key]):
        problems.append(
            f"S3 events of this run in the ingest-events DLQ name {dead_keys}, want both files once"
        )
    # The newer version of the second file arrives after the fix and is ingested normally.
    s.s3.put_object(Bucket=s.bucket, Key=old_key, Body=json.dumps({"travel_data": old_v2}).encode())
    wait_until(lambda: out.manifest(old_key) is not None, time.monotonic() + PIPELINE_WAIT_S, interval=3)
    manifest_before, rows_before = out.manifest(key), out.processed(attribute_run).get("dlqreplay", [])
    if manifest_before is not None or rows_before:
        problems.append(f"the failing file was ingested: manifest {manifest_before}, {len(rows_before)} rows")
    if s.commands["ingest-events-dlq"] != f"wildrydes redrive --dlq {s.events_dlq.rsplit('/', 1)[-1]}":
        problems.append(f"root output dlq_redrive_commands names {s.commands['ingest-events-dlq']!r}")

    first = redrive(s)
    if first.returncode != 0 or f"re-invoked {s.ingest_fn} with 2 event(s)" not in first.stdout:
        problems.append(
            f"redrive exit {first.returncode}: {first.stdout.strip()} {first.stderr.strip()[-300:]}"
        )

    v1_manifest_key = manifest_key(MANIFEST_PREFIX, old_key, v1["VersionId"])

    def processed():
        manifest = out.manifest(key)
        rows = out.processed(attribute_run).get("dlqreplay", [])
        return manifest is not None and len(rows) >= GOOD_RIDES and out.exists(v1_manifest_key)

    wait_until(processed, time.monotonic() + PIPELINE_WAIT_S, interval=3)
    second = redrive(s)
    if second.returncode != 0 or "with 0 event(s)" not in second.stdout:
        problems.append(f"second redrive: exit {second.returncode}: {second.stdout.strip()}")
    time.sleep(SETTLE_S)

    manifest = out.manifest(key) or {}
    rows = out.processed(attribute_run).get("dlqreplay", [])
    lines = out.quarantine_lines(key)
    ride_ids = [ride_id for ride_id, _ in rows]
    got = (
        manifest.get("rides_in"),
        manifest.get("valid"),
        manifest.get("duplicates"),
        manifest.get("reasons"),
    )
    want = (len(records), GOOD_RIDES, 1, {"MISSING_FIELD": 1})
    if got != want:
        problems.append(f"manifest (rides_in, valid, duplicates, reasons) {got} != {want}")
    if (
        manifest
        and manifest["rides_in"] != manifest["valid"] + manifest["quarantined"] + manifest["duplicates"]
    ):
        problems.append(f"manifest breaks rides_in = valid + quarantined + duplicates: {manifest}")
    doubled = len(ride_ids) - len(set(ride_ids))
    if len(set(ride_ids)) != GOOD_RIDES or doubled:
        problems.append(f"{len(rows)} processed rows ({doubled} doubled), want {GOOD_RIDES} once each")
    if [line["reason"] for line in lines] != ["MISSING_FIELD"]:
        problems.append(f"quarantine lines {[line['reason'] for line in lines]}, want one MISSING_FIELD")
    if messages_of_run(s, s.events_dlq):
        problems.append("an event of this run is back in the ingest-events DLQ")
    lost = len(records) - len(set(ride_ids)) - len(lines) - manifest.get("duplicates", 0)
    row(
        results,
        "ingest_events_replay",
        "an S3 event fails in ingest (its queue URL broken) until fixed; then `wildrydes redrive --dlq "
        "<prefix>-ingest-events-dlq` (twice)",
        "the event lands in the ingest-events DLQ after Lambda's retries; after the fix the redrive re-invokes "
        "ingest once; the file is processed once; the second redrive does nothing",
        f"its event in the DLQ (with the superseded file's); first redrive: {said(first)}; second: {said(second)}; "
        f"manifest rides_in {got[0]} = valid {got[1]} + quarantined {len(lines)} + duplicates {got[2]}",
        {
            "rides_in": len(records),
            "processed": len(set(ride_ids)),
            "quarantined": len(lines),
            "duplicates": manifest.get("duplicates", 0),
            "lost": lost,
            "doubled": doubled,
        },
        problems,
    )
    assert not problems, "\n".join(problems)
    superseded_row(s, results, old_key, v1_manifest_key, len(old_v1), len(old_v2))


def superseded_row(s, results, old_key: str, v1_manifest_key: str, v1_rides: int, v2_rides: int) -> None:
    """The replayed event of a version replaced since: recorded as SUPERSEDED in that version's manifest; the
    key's plain manifest and processed/ keep the newer version's rides only."""
    out, problems = s.outputs, []
    try:
        v1_manifest = json.loads(out.get(v1_manifest_key))
    except s.s3.exceptions.NoSuchKey:
        v1_manifest = {}
    current = out.manifest(old_key) or {}
    rows = out.processed(attribute_run).get("dlqsuperseded", [])
    names = sorted({ride_id for ride_id, _ in rows})
    if v1_manifest.get("file_reason") != "SUPERSEDED":
        problems.append(f"the replayed old version's manifest: {v1_manifest}")
    if (current.get("rides_in"), current.get("valid"), current.get("file_reason")) != (
        v2_rides,
        v2_rides,
        None,
    ):
        problems.append(f"the key's manifest is not the newer version's: {current}")
    if len(rows) != v2_rides or len(names) != v2_rides:
        problems.append(
            f"{len(rows)} processed rows of the superseded file, want the newer version's {v2_rides}"
        )
    row(
        results,
        "superseded_replay",
        "a failed S3 event whose object was uploaded again (a newer version) before `wildrydes redrive`",
        "the replayed event is recorded as SUPERSEDED in its version's manifest; only the newer version's rides "
        "are processed (the old version stays in the bucket as a noncurrent version)",
        f"old version: {v1_manifest.get('file_reason')}; key's manifest: {current.get('valid')} valid",
        {
            "rides_in": v1_rides + v2_rides,
            "processed": len(names),
            "quarantined": v1_rides if v1_manifest.get("file_reason") == "SUPERSEDED" else 0,
            "whole_file": True,
            "lost": v1_rides + v2_rides - len(names) - (v1_rides if v1_manifest.get("file_reason") else 0),
        },
        problems,
    )
    assert not problems, "\n".join(problems)


def oldest_age_seconds(s, url: str) -> float | None:
    """Age of the oldest message in a queue, from SentTimestamp (what SQS reports as ApproximateAgeOfOldestMessage)."""
    sent = [
        int(m["Attributes"]["SentTimestamp"])
        for _ in range(3)
        for m in s.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["SentTimestamp"]
        ).get("Messages", [])
    ]
    return time.time() - min(sent) / MS if sent else None


def test_the_dlq_age_alarm_fires_and_notifies_the_alarm_topic(stack, results, age_canary):
    s = stack
    dlq_name = s.ingest_dlq.rstrip("/").rsplit("/", 1)[-1]
    alarms = [
        a
        for a in s.cloudwatch.describe_alarms()["MetricAlarms"]
        if {"Name": "QueueName", "Value": dlq_name} in a.get("Dimensions", [])
        and a["MetricName"] == "ApproximateAgeOfOldestMessage"
    ]
    problems: list[str] = []
    assert len(alarms) == 1, f"{len(alarms)} age alarms watch {dlq_name}"
    alarm = alarms[0]
    shape = (alarm["Namespace"], alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"])
    if shape != ("AWS/SQS", "Maximum", "GreaterThanThreshold", AGE_THRESHOLD_S):
        problems.append(f"age alarm shape {shape}")
    if alarm["AlarmActions"] != [s.topic] or alarm["OKActions"] != [s.topic]:
        problems.append(f"age alarm actions {alarm['AlarmActions']} / {alarm['OKActions']}, want the topic")
    if f"`wildrydes redrive --dlq {dlq_name}`" not in alarm["AlarmDescription"]:
        problems.append(f"description names no redrive command: {alarm['AlarmDescription']}")

    def state() -> str | None:
        age = oldest_age_seconds(s, s.ingest_dlq)
        if age is not None:  # stand in for SQS's per-minute metric (LocalStack 4.14 does not publish it)
            s.cloudwatch.put_metric_data(
                Namespace="AWS/SQS",
                MetricData=[
                    {
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": dlq_name}],
                        "Value": round(age),
                        "Unit": "Seconds",
                    }
                ],
            )
        found = s.cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"][0]["StateValue"]
        return found if found == "ALARM" else None

    reached = wait_until(state, age_canary["sent"] + ALARM_WAIT_S, interval=METRIC_PUBLISH_INTERVAL_S)
    seconds = round(time.monotonic() - age_canary["sent"], 1)
    results.meta["dlq_age_alarm_seconds"] = seconds
    if reached != "ALARM":
        problems.append(f"age alarm not in ALARM {seconds} s after the DLQ got its message")

    def notified():
        for m in s.sqs.receive_message(QueueUrl=age_canary["inbox"], MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            body = json.loads(m["Body"])
            message = json.loads(body.get("Message", "{}"))
            if message.get("AlarmName") == alarm["AlarmName"] and message.get("NewStateValue") == "ALARM":
                return message
        return None

    notice = (
        wait_until(notified, time.monotonic() + METRIC_PUBLISH_INTERVAL_S * 3, interval=2)
        if reached
        else None
    )
    if reached and not notice:
        problems.append("no ALARM notification reached the queue subscribed to the alarm topic")
    row(
        results,
        "dlq_age_alarm",
        f"a message ages in {dlq_name}; age alarm threshold {AGE_THRESHOLD_S} s (default one day)",
        "the DLQ-age alarm goes to ALARM and notifies the alarm topic; its text names `wildrydes redrive --dlq`",
        f"ALARM after {seconds} s; topic notified: {bool(notice)}",
        {},
        problems,
    )
    assert not problems, "\n".join(problems)
