"""ingest, enrich and writer handlers against moto (mock_aws) with a fake LambdaContext."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from etl_fixtures import file_bytes, make_ride
from moto import mock_aws

from wildrydes_lambda import aws as aws_adapters
from wildrydes_lambda.contracts.envelope import Source, decode_message, encode_message
from wildrydes_lambda.etl.quarantine import source_key_hash
from wildrydes_lambda.etl.rides import is_heavy, validate_ride
from wildrydes_lambda.etl.stations import nearest_station
from wildrydes_lambda.settings import ConfigError

LAMBDA_SRC = Path(__file__).resolve().parents[3] / "lambda_src"
BUCKET = "wildrydes-test-data"


@dataclass
class FakeContext:
    function_name: str = "test-fn"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def cloud(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_SERVICE_NAME": "etl-test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        aws_adapters.reset_clients()
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("ingest", "groundstation")}
        yield {"s3": s3, "sqs": sqs, "queues": queues, "monkeypatch": monkeypatch}
    aws_adapters.reset_clients()


def load_handler(cloud, function: str, **env):
    """Import lambda_src/<function>/handler.py fresh with the given environment (cold start)."""
    for name, value in env.items():
        cloud["monkeypatch"].setenv(name, str(value))
    spec = importlib.util.spec_from_file_location(
        f"{function}_handler_under_test", LAMBDA_SRC / function / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def s3_event(*keys: str, event_time: str | None = None) -> dict:
    """An S3 notification; its eventTime is now unless given (a later upload has a later time)."""
    event_time = event_time or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": event_time,
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": key.replace(" ", "+")}},
            }
            for key in keys
        ]
    }


def drain(cloud, queue: str) -> list[dict]:
    """Receive every message of a queue as an SQS Lambda event record (and delete it)."""
    sqs, url = cloud["sqs"], cloud["queues"][queue]
    records = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return records
        for message in batch:
            records.append(sqs_record(message["Body"], message["MessageId"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def sqs_record(body: str, message_id: str) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "awsRegion": "us-east-1",
    }


def ingest_env(cloud, **extra):
    return {"DATA_BUCKET": BUCKET, "INGEST_QUEUE_URL": cloud["queues"]["ingest"], **extra}


def get_json(cloud, key):
    return json.loads(cloud["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())


def keys_under(cloud, prefix):
    pages = cloud["s3"].get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def processed_rows(cloud):
    rows = []
    for key in keys_under(cloud, "processed/"):
        body = cloud["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        rows += list(csv.DictReader(io.StringIO(body)))
    return rows


GOOD_A = [make_ride(i, day=1 + i % 3) for i in range(25)]
GOOD_B = [make_ride(1000 + i, day=5) for i in range(7)]
BAD = [make_ride(500, Distance=0), make_ride(501, Latitude=-73.9, Longitude=40.7), "not a ride"]


def test_ingest_fans_out_quarantines_and_writes_manifests(cloud):
    s3 = cloud["s3"]
    s3.put_object(Bucket=BUCKET, Key="raw/a file.json", Body=file_bytes(GOOD_A + BAD + [GOOD_A[0]]))
    s3.put_object(Bucket=BUCKET, Key="raw/b.json", Body=file_bytes(GOOD_B, wrapped=False))
    s3.put_object(Bucket=BUCKET, Key="raw/broken.json", Body=b"\xef\xbb\xbf{oops")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/c.json", Body=file_bytes(GOOD_B))
    handler = load_handler(cloud, "ingest", **ingest_env(cloud, RIDES_PER_MESSAGE=10))

    result = handler.lambda_handler(
        s3_event("raw/a file.json", "raw/b.json", "raw/broken.json", "elsewhere/c.json", "raw/notes.txt"),
        FakeContext(),
    )

    assert [f["source"]["key"] for f in result["files"]] == [
        "raw/a file.json",
        "raw/b.json",
        "raw/broken.json",
        "raw/notes.txt",
    ]
    notes = get_json(cloud, "manifests/raw/notes.txt.json")
    assert (
        notes["file_reason"] == "UNSUPPORTED_OBJECT" and notes["rides_in"] == 0
    )  # an object not ignored silently
    manifest_a = get_json(cloud, "manifests/raw/a file.json.json")
    assert {k: manifest_a[k] for k in ("rides_in", "valid", "quarantined", "duplicates")} == {
        "rides_in": 29,
        "valid": 25,
        "quarantined": 3,
        "duplicates": 1,
    }
    assert manifest_a["reasons"] == {"LAT_LON_SWAPPED": 1, "NON_POSITIVE_DISTANCE": 1, "NOT_AN_OBJECT": 1}
    assert get_json(cloud, "manifests/raw/b.json.json")["valid"] == 7
    assert get_json(cloud, "manifests/raw/broken.json.json")["file_reason"] == "NOT_JSON"
    assert "manifests/elsewhere/c.json.json" not in keys_under(cloud, "manifests/")

    records = drain(cloud, "ingest")
    rides = [r for rec in records for r in decode_message(rec["body"])["rides"]]
    assert len(rides) == len({r["ride_id"] for r in rides}) == 32
    assert all(len(decode_message(rec["body"])["rides"]) <= 10 for rec in records)
    assert len(records) == manifest_a["messages"] + get_json(cloud, "manifests/raw/b.json.json")["messages"]

    quarantine_a = keys_under(cloud, f"quarantine/{source_key_hash('raw/a file.json')}/")
    lines = [
        json.loads(line)
        for key in quarantine_a
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    ]
    assert [line["reason"] for line in lines] == ["NON_POSITIVE_DISTANCE", "LAT_LON_SWAPPED", "NOT_AN_OBJECT"]
    assert lines[2]["record"] == "not a ride" and lines[0]["source"]["key"] == "raw/a file.json"
    [broken_key] = keys_under(cloud, f"quarantine/{source_key_hash('raw/broken.json')}/")
    [broken] = [json.loads(s3.get_object(Bucket=BUCKET, Key=broken_key)["Body"].read())]
    assert broken["record"] is None and broken["raw_object"] == "raw/broken.json"


def test_ingest_reingest_is_idempotent(cloud):
    cloud["s3"].put_object(Bucket=BUCKET, Key="raw/a.json", Body=file_bytes(GOOD_A + BAD))
    handler = load_handler(cloud, "ingest", **ingest_env(cloud))
    event = s3_event("raw/a.json")  # S3 retries and redeliveries repeat the same event (and eventTime)
    handler.lambda_handler(event, FakeContext())
    first = sorted(rec["body"] for rec in drain(cloud, "ingest"))
    quarantine_first = keys_under(cloud, "quarantine/")
    handler.lambda_handler(event, FakeContext())
    assert sorted(rec["body"] for rec in drain(cloud, "ingest")) == first
    assert keys_under(cloud, "quarantine/") == quarantine_first


def test_ingest_cold_start_refuses_bad_config(cloud):
    with pytest.raises(ConfigError, match="INGEST_QUEUE_URL"):
        load_handler(cloud, "ingest", DATA_BUCKET=BUCKET, INGEST_QUEUE_URL="")
    with pytest.raises(ConfigError, match="RIDES_PER_MESSAGE"):
        load_handler(cloud, "ingest", **ingest_env(cloud, RIDES_PER_MESSAGE="0"))


def enrich_handler(cloud):
    return load_handler(
        cloud, "enrich", DATA_BUCKET=BUCKET, OUTPUT_QUEUE_URL=cloud["queues"]["groundstation"]
    )


def writer_handler(cloud, mode="batched"):
    return load_handler(cloud, "writer", DATA_BUCKET=BUCKET, WRITER_MODE=mode)


def envelope_record(rides, chunk, message_id):
    normalized = [validate_ride(r) for r in rides]
    return sqs_record(encode_message(Source(BUCKET, "raw/a.json"), chunk, normalized), message_id)


def test_enrich_reports_only_the_failed_record(cloud):
    handler = enrich_handler(cloud)
    event = {
        "Records": [
            envelope_record(GOOD_A[:5], 0, "m-0"),
            sqs_record("{not json", "m-bad"),
            envelope_record(GOOD_A[5:9], 1, "m-1"),
        ]
    }
    result = handler.lambda_handler(event, FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    forwarded = [decode_message(rec["body"]) for rec in drain(cloud, "groundstation")]
    assert sorted(env["source"]["chunk"] for env in forwarded) == [0, 1]
    for ride in (r for env in forwarded for r in env["rides"]):
        assert ride["groundstation"] == nearest_station(ride["latitude"], ride["longitude"])[0]
        assert ride["heavy_utilization"] == is_heavy(ride["magicpoints"], ride["distance"])
        assert ride["station_distance_miles"] == nearest_station(ride["latitude"], ride["longitude"])[1]


def test_enrich_limit_quarantines_far_rides_as_no_station_in_range(cloud):
    far = dict(GOOD_A[0], Latitude=42.86, Longitude=-73.95)  # ~144 miles north of the stations
    handler = load_handler(
        cloud,
        "enrich",
        DATA_BUCKET=BUCKET,
        OUTPUT_QUEUE_URL=cloud["queues"]["groundstation"],
        MAX_STATION_DISTANCE_MILES="100",
    )
    handler.lambda_handler({"Records": [envelope_record([far, GOOD_A[1]], 3, "m-far")]}, FakeContext())
    [forwarded] = [decode_message(rec["body"]) for rec in drain(cloud, "groundstation")]
    assert [r["name"] for r in forwarded["rides"]] == [GOOD_A[1]["Name"]]
    [key] = keys_under(cloud, "quarantine/")
    [line] = [
        json.loads(x) for x in cloud["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()
    ]
    assert line["reason"] == "NO_STATION_IN_RANGE" and line["record"]["latitude"] == 42.86
    with pytest.raises(ConfigError, match="MAX_STATION_DISTANCE_MILES"):
        load_handler(
            cloud, "enrich", DATA_BUCKET=BUCKET, OUTPUT_QUEUE_URL="q", MAX_STATION_DISTANCE_MILES="-1"
        )


def enriched_record(rides, chunk, message_id):
    from wildrydes_lambda.etl.enrichment import enrich_rides

    enriched, _ = enrich_rides([validate_ride(r) for r in rides])
    return sqs_record(encode_message(Source(BUCKET, "raw/a.json"), chunk, enriched), message_id)


def test_writer_partial_failure_and_redelivery_overwrites(cloud):
    handler = writer_handler(cloud)
    day1 = [r for r in GOOD_A if r["StatusTime"].startswith("2017-06-01")]
    day2 = [r for r in GOOD_A if r["StatusTime"].startswith("2017-06-02")]
    first = handler.lambda_handler(
        {"Records": [enriched_record(day1, 0, "w-0"), sqs_record("[]", "w-bad")]}, FakeContext()
    )
    assert first == {"batchItemFailures": [{"itemIdentifier": "w-bad"}]}
    keys_after_first = keys_under(cloud, "processed/")
    assert len(keys_after_first) == 1 and keys_after_first[0].startswith("processed/ride_month=2017-06/")

    # Redelivery of the same message inside a differently composed batch: same key, no new rides.
    second = handler.lambda_handler(
        {"Records": [enriched_record(day2, 1, "w-1"), enriched_record(day1, 0, "w-0b")]}, FakeContext()
    )
    assert second == {"batchItemFailures": []}
    rows = processed_rows(cloud)
    assert len(rows) == len({row["ride_id"] for row in rows}) == len(day1) + len(day2)
    assert len(keys_under(cloud, "processed/")) == 2


def test_writer_per_ride_baseline_mode(cloud):
    handler = writer_handler(cloud, mode="per_ride")
    handler.lambda_handler({"Records": [enriched_record(GOOD_A[:6], 0, "p-0")]}, FakeContext())
    assert len(keys_under(cloud, "processed/")) == 6 and len(processed_rows(cloud)) == 6


def test_pipeline_end_to_end_on_moto(cloud):
    records = GOOD_A + GOOD_B + BAD + [GOOD_B[0]]
    cloud["s3"].put_object(Bucket=BUCKET, Key="raw/all.json", Body=file_bytes(records))
    ingest = load_handler(cloud, "ingest", **ingest_env(cloud, RIDES_PER_MESSAGE=8))
    ingest.lambda_handler(s3_event("raw/all.json"), FakeContext())
    assert enrich_handler(cloud).lambda_handler({"Records": drain(cloud, "ingest")}, FakeContext()) == {
        "batchItemFailures": []
    }
    writer_handler(cloud).lambda_handler({"Records": drain(cloud, "groundstation")}, FakeContext())

    manifest = get_json(cloud, "manifests/raw/all.json.json")
    rows = processed_rows(cloud)
    assert len(rows) == len({row["ride_id"] for row in rows}) == manifest["valid"] == 32
    assert manifest["rides_in"] == manifest["valid"] + manifest["quarantined"] + manifest["duplicates"]
    expected = {}
    for raw in GOOD_A + GOOD_B:  # independent computation of station and label
        ride = validate_ride(raw)
        expected[ride["ride_id"]] = (
            nearest_station(raw["Latitude"], raw["Longitude"])[0],
            str(int(raw["MagicPoints"] > 50 * raw["Distance"])),
        )
    assert {row["ride_id"]: (row["groundstation"], row["heavy_utilization"]) for row in rows} == expected
    for key in keys_under(cloud, "processed/"):  # every row sits in its own month's partition
        body = cloud["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        partition_month = key.split("/")[1].removeprefix("ride_month=")
        assert {row["statustime"][:7] for row in csv.DictReader(io.StringIO(body))} == {partition_month}
    # lineage: the source's key hash, "null" (moto's bucket is unversioned) and the event's time
    assert {(r["source_key_hash"], r["source_version"], r["ingested_at"]) for r in rows} == {
        (source_key_hash("raw/all.json"), "null", manifest["source"]["ingested_at"])
    }


def test_ingest_reads_every_supported_format_and_records_the_rest(cloud):
    import gzip

    s3 = cloud["s3"]
    lines = "\n".join(json.dumps(r) for r in GOOD_B).encode() + b"\n"
    objects = {
        "raw/upper.JSON": file_bytes(GOOD_B),
        "raw/packed.json.gz": gzip.compress(file_bytes(GOOD_B, wrapped=False)),
        "raw/lines.ndjson.gz": gzip.compress(lines),
        "raw/lines.JSONL": lines,
        "raw/x.csv": b"Name,Distance\nA,1\n",
    }
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    handler = load_handler(cloud, "ingest", **ingest_env(cloud))
    handler.lambda_handler(s3_event(*objects), FakeContext())
    manifests = {key: get_json(cloud, f"manifests/{key}.json") for key in objects}
    assert {k: (m["format"], m["valid"], m["file_reason"]) for k, m in manifests.items()} == {
        "raw/upper.JSON": ("json", 7, None),
        "raw/packed.json.gz": ("json", 7, None),
        "raw/lines.ndjson.gz": ("ndjson", 7, None),
        "raw/lines.JSONL": ("ndjson", 7, None),
        "raw/x.csv": (None, 0, "UNSUPPORTED_OBJECT"),
    }


def versioned_event(key: str, version_id: str) -> dict:
    event = s3_event(key)
    event["Records"][0]["s3"]["object"]["versionId"] = version_id
    return event


def test_ingest_reads_the_version_the_event_names_and_records_superseded_ones(cloud):
    s3 = cloud["s3"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = "raw/corrected.json"
    v1 = s3.put_object(Bucket=BUCKET, Key=key, Body=file_bytes(GOOD_A[:5] + BAD))["VersionId"]
    handler = load_handler(cloud, "ingest", **ingest_env(cloud))
    handler.lambda_handler(versioned_event(key, v1), FakeContext())
    first = drain(cloud, "ingest")
    v2 = s3.put_object(Bucket=BUCKET, Key=key, Body=file_bytes(GOOD_A[:6] + BAD[:1]))["VersionId"]

    handler.lambda_handler(versioned_event(key, v1), FakeContext())  # v1's event redelivered after v2 exists
    assert drain(cloud, "ingest") == []  # nothing of v1 processed again
    late = get_json(cloud, f"manifests/{key}.versions/{v1}.json")
    assert late["file_reason"] == "SUPERSEDED" and late["source"]["version_id"] == v1

    handler.lambda_handler(versioned_event(key, v2), FakeContext())
    second = [r for rec in drain(cloud, "ingest") for r in decode_message(rec["body"])["rides"]]
    assert len(second) == 6 and len([r for rec in first for r in decode_message(rec["body"])["rides"]]) == 5
    assert get_json(cloud, f"manifests/{key}.versions/{v2}.json")["valid"] == 6
    assert get_json(cloud, f"manifests/{key}.json")["source"]["version_id"] == v2  # the key's latest
    # Each version's quarantine lines live apart: v2's did not overwrite v1's.
    by_version = {v: keys_under(cloud, f"quarantine/{source_key_hash(key)}/v-{v}/") for v in (v1, v2)}
    assert all(by_version.values()) and not set(by_version[v1]) & set(by_version[v2])


def test_an_event_for_a_deleted_key_is_superseded(cloud):
    s3 = cloud["s3"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = "raw/gone.json"
    v1 = s3.put_object(Bucket=BUCKET, Key=key, Body=file_bytes(GOOD_A[:3]))["VersionId"]
    s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker is now current
    handler = load_handler(cloud, "ingest", **ingest_env(cloud))
    handler.lambda_handler(versioned_event(key, v1), FakeContext())
    assert drain(cloud, "ingest") == []
    manifest = get_json(cloud, f"manifests/{key}.versions/{v1}.json")
    assert manifest["file_reason"] == "SUPERSEDED" and manifest["rides_in"] == 0
    assert "manifests/raw/gone.json.json" not in keys_under(cloud, "manifests/")


def test_an_enriched_message_over_the_sqs_limit_travels_in_parts_and_lands_once(cloud):
    """A message that fits SQS on the ingest queue but not once enriched (names of random letters compress
    badly, so the ~19 compressed bytes enrich adds per ride push it over): enrich sends numbered parts, the
    writer names their objects apart, and every ride lands exactly once."""
    import random
    import string

    from wildrydes_lambda.contracts.envelope import SQS_MAX_MESSAGE_BYTES

    rng = random.Random(5)
    pool = [
        make_ride(i, Name="".join(rng.choices(string.ascii_letters, k=250)), day=1 + i % 2)
        for i in range(1200)
    ]

    def body_of(n):
        return encode_message(Source(BUCKET, "raw/a.json"), 0, [validate_ride(r) for r in pool[:n]])

    low, high = 1, len(pool)  # the most rides whose ingest-queue message still fits SQS
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if len(body_of(mid).encode()) <= SQS_MAX_MESSAGE_BYTES else (low, mid - 1)
    n = low
    assert n < len(pool)
    result = enrich_handler(cloud).lambda_handler(
        {"Records": [sqs_record(body_of(n), "m-big")]}, FakeContext()
    )
    assert result == {"batchItemFailures": []}
    records = drain(cloud, "groundstation")
    parts = [decode_message(rec["body"]) for rec in records]
    assert len(parts) >= 2 and all(len(rec["body"].encode()) <= SQS_MAX_MESSAGE_BYTES for rec in records)
    assert sorted(p["source"]["part"] for p in parts) == list(range(len(parts)))
    assert sorted(r["ride_id"] for p in parts for r in p["rides"]) == sorted(
        validate_ride(r)["ride_id"] for r in pool[:n]
    )
    writer_handler(cloud).lambda_handler({"Records": records}, FakeContext())
    writer_handler(cloud).lambda_handler({"Records": records}, FakeContext())  # a redelivery: same keys
    keys = keys_under(cloud, "processed/")
    # one month: one object per part, named `<chunk>-<part>`
    assert sorted(k.rsplit("/", 1)[-1].split("-", 3)[3] for k in keys) == [
        f"00000-{part}.csv" for part in range(len(parts))
    ]
    rows = processed_rows(cloud)
    assert len(rows) == n and len({row["ride_id"] for row in rows}) == n
