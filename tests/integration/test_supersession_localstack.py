"""Exactly once per file version on LocalStack (issue 13, "Must show" 2 and 3), through the real bucket
notification and the deployed functions:

(2) v1 then a corrected v2 on the same key -> processed/ holds exactly v2's valid rides, once; both versions'
    manifests (manifests/<key>.versions/<versionId>.json) and quarantine lines (quarantine/<key hash>/v-<id>/)
    are present;
(3) v1's S3 event delivered (ingest invoked with it) after v2 exists -> v1's manifest says SUPERSEDED and
    nothing of v1 is written.

Expected values are computed here (own sha256 of the key, own counts), not with wildrydes_lambda.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import uuid
from datetime import UTC, datetime

import pytest

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

TIMEOUT_SECONDS = 600
POLL_SECONDS = 3
QUIET_POLLS_NEEDED = 3
V1_VALID = 150


def ride(token: str, i: int, **overrides) -> dict:
    month, day = 1 + i % 5, 1 + i % 28  # five months of 2019, so versions span several partitions
    base = {
        "Name": f"Sup-{token}-{i}",
        "StatusTime": f"2019-{month:02d}-{day:02d} 10:{i // 60 % 60:02d}:{i % 60:02d}.000",
        "Latitude": 40.75,
        "Longitude": -73.95,
        "Distance": 1.0 + i % 7,
        "HealthPoints": 100,
        "MagicPoints": 60,
    }
    base.update(overrides)
    return base


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def list_keys(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def read_json(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def rows_of(s3, bucket: str, source_key: str) -> tuple[list[dict], list[str]]:
    """Every processed row (and object key) of one source: names start with its key hash."""
    keys = [
        k
        for k in list_keys(s3, bucket, "processed/")
        if k.rsplit("/", 1)[-1].startswith(key_hash(source_key))
    ]
    rows = []
    for key in keys:
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        rows += list(csv.DictReader(io.StringIO(text), escapechar="\\", doublequote=False))
    return rows, keys


def backlog(sqs, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, 0)) for n in names)


def wait_for(s3, sqs, outputs, manifest: str, expected_rows: int, source_key: str) -> None:
    """Until ``manifest`` says done, the work queues are idle and the source has ``expected_rows`` rows."""
    bucket = outputs["data_bucket_name"]
    queues = [outputs["ingest_queue_url"], outputs["groundstation_queue_url"]]
    deadline, quiet = time.monotonic() + TIMEOUT_SECONDS, 0
    while True:
        try:
            done = read_json(s3, bucket, manifest).get("state") == "done"
        except s3.exceptions.NoSuchKey:
            done = False
        idle = done and all(backlog(sqs, q) == 0 for q in queues)
        rows = len(rows_of(s3, bucket, source_key)[0]) if idle else -1
        quiet = quiet + 1 if rows == expected_rows else 0
        if quiet >= QUIET_POLLS_NEEDED:
            return
        assert time.monotonic() < deadline, f"{manifest}: not settled (done={done}, rows={rows})"
        time.sleep(POLL_SECONDS)


@pytest.fixture(scope="module")
def deployed(localstack, tf_local):
    outputs = {name: value["value"] for name, value in tf_local.apply().items()}
    return outputs, localstack.client("s3"), localstack.client("sqs"), localstack.client("lambda")


@pytest.fixture(scope="module")
def corrected(deployed):
    """v1 (150 valid + 2 invalid rides) then v2 (v1's valid rides, one corrected, one new, one invalid)."""
    outputs, s3, sqs, _ = deployed
    bucket = outputs["data_bucket_name"]
    token = uuid.uuid4().hex[:8]
    key = f"raw/it-supersede-{token}/rides.json"
    v1_rides = [ride(token, i) for i in range(V1_VALID)]
    v1_bad = [ride(token, 900, Distance=-1), ride(token, 901, Latitude=95.0)]
    v2_rides = [*v1_rides[:-1], ride(token, V1_VALID - 1, Distance=2.5), ride(token, 1000)]
    v2_bad = [ride(token, 902, StatusTime="tomorrow")]
    v1 = s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"travel_data": v1_rides + v1_bad}).encode())
    v1_manifest = f"manifests/{key}.versions/{v1['VersionId']}.json"
    wait_for(s3, sqs, outputs, v1_manifest, V1_VALID, key)
    v2 = s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"travel_data": v2_rides + v2_bad}).encode())
    v2_manifest = f"manifests/{key}.versions/{v2['VersionId']}.json"
    wait_for(s3, sqs, outputs, v2_manifest, len(v2_rides), key)
    return {
        "key": key,
        "v1": v1["VersionId"],
        "v2": v2["VersionId"],
        "v2_rides": v2_rides,
        "manifests": (v1_manifest, v2_manifest),
    }


def test_a_corrected_upload_leaves_exactly_its_valid_rides_once(deployed, corrected):
    outputs, s3, _, _ = deployed
    rows, keys = rows_of(s3, outputs["data_bucket_name"], corrected["key"])
    names = {r["Name"] for r in corrected["v2_rides"]}
    assert len(rows) == len({r["ride_id"] for r in rows}) == len(corrected["v2_rides"])
    assert {r["name"] for r in rows} == names
    assert {r["source_version"] for r in rows} == {corrected["v2"]}
    assert {r["source_key_hash"] for r in rows} == {key_hash(corrected["key"])}
    corrected_row = next(r for r in rows if r["name"] == corrected["v2_rides"][V1_VALID - 2]["Name"])
    assert float(corrected_row["distance"]) == 2.5  # the corrected value, not v1's
    assert all(k.startswith("processed/ride_month=2019-0") for k in keys)


def test_both_versions_keep_their_manifests_and_quarantine_lines(deployed, corrected):
    outputs, s3, _, _ = deployed
    bucket = outputs["data_bucket_name"]
    m1, m2 = (read_json(s3, bucket, m) for m in corrected["manifests"])
    assert (m1["valid"], m1["quarantined"], m1["file_reason"]) == (V1_VALID, 2, None)
    assert (m2["valid"], m2["quarantined"], m2["file_reason"]) == (V1_VALID + 1, 1, None)
    assert m1["source"]["ingested_at"] < m2["source"]["ingested_at"]
    assert m2["superseded_objects_deleted"] >= len(m1["months"]) == 5
    assert (
        read_json(s3, bucket, f"manifests/{corrected['key']}.json")["source"]["version_id"] == corrected["v2"]
    )
    for version, reasons in (
        (corrected["v1"], {"NON_POSITIVE_DISTANCE", "LAT_OUT_OF_RANGE"}),
        (corrected["v2"], {"BAD_TIMESTAMP"}),
    ):
        prefix = f"quarantine/{key_hash(corrected['key'])}/v-{version}/"
        lines = [
            json.loads(line)
            for k in list_keys(s3, bucket, prefix)
            for line in s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode().splitlines()
        ]
        assert {line["reason"] for line in lines} == reasons, prefix


def test_an_old_versions_event_after_the_new_one_is_superseded(deployed, corrected):
    outputs, s3, _, lam = deployed
    bucket, key = outputs["data_bucket_name"], corrected["key"]
    before = sorted(rows_of(s3, bucket, key)[1])
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "versionId": corrected["v1"]}},
            }
        ]
    }
    response = lam.invoke(FunctionName=outputs["ingest_function_name"], Payload=json.dumps(event).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    m1 = read_json(s3, bucket, corrected["manifests"][0])
    assert m1["file_reason"] == "SUPERSEDED" and m1["messages"] == 0
    time.sleep(2 * POLL_SECONDS)  # anything it had sent would be through enrich and writer by now
    rows, keys = rows_of(s3, bucket, key)
    assert sorted(keys) == before and {r["source_version"] for r in rows} == {corrected["v2"]}
    assert read_json(s3, bucket, f"manifests/{key}.json")["source"]["version_id"] == corrected["v2"]
    # v1's own quarantine lines are kept beside the SUPERSEDED record
    reasons = {
        json.loads(line)["reason"]
        for k in list_keys(s3, bucket, f"quarantine/{key_hash(key)}/v-{corrected['v1']}/")
        for line in s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode().splitlines()
    }
    assert reasons == {"NON_POSITIVE_DISTANCE", "LAT_OUT_OF_RANGE", "SUPERSEDED"}
