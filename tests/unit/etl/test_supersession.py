"""Exactly once per file version (docs/design.md): lineage, object names, packing and the supersession
cleanup, through the real handlers on moto with a versioned bucket."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from etl_fixtures import file_bytes, make_ride
from test_etl_handlers import (
    BUCKET,
    FakeContext,
    cloud,  # noqa: F401  (the fixture)
    drain,
    enrich_handler,
    get_json,
    ingest_env,
    keys_under,
    load_handler,
    processed_rows,
    s3_event,
    writer_handler,
)

from wildrydes_lambda.contracts.envelope import Source, decode_message
from wildrydes_lambda.etl import naming
from wildrydes_lambda.etl.ingestion import manifest_key
from wildrydes_lambda.etl.supersession import Plan, clean_up, plan_cleanup

KEY = "raw/corrected.json"
# 150 rides over ~5 months (June..October 2017), so versions and groupings span several partitions.
V1 = [make_ride(i, day=1 + (i * 7) % 150) for i in range(150)]
V2 = V1 + [make_ride(10_000, day=3)]


@pytest.fixture
def versioned(cloud):  # noqa: F811
    cloud["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return cloud


def upload(aws_env, key: str, body: bytes) -> tuple[str, dict]:
    """Put a version and return (its version id, its S3 event with a fresh eventTime)."""
    version = aws_env["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
    event = s3_event(key)
    event["Records"][0]["s3"]["object"]["versionId"] = version
    return version, event


def run_ingest(aws_env, event, rides_per_message=40):
    handler = load_handler(aws_env, "ingest", **ingest_env(aws_env, RIDES_PER_MESSAGE=rides_per_message))
    return handler.lambda_handler(event, FakeContext())


def run_consumers(aws_env) -> None:
    assert enrich_handler(aws_env).lambda_handler({"Records": drain(aws_env, "ingest")}, FakeContext()) == {
        "batchItemFailures": []
    }
    assert writer_handler(aws_env).lambda_handler(
        {"Records": drain(aws_env, "groundstation")}, FakeContext()
    ) == {"batchItemFailures": []}


def test_a_corrected_version_replaces_the_earlier_one_exactly(versioned):
    """v1 = 150 rides, then v2 = v1 + 1 ride on the same key: processed/ holds exactly 151 rows, all v2."""
    v1, event1 = upload(versioned, KEY, file_bytes(V1))
    run_ingest(versioned, event1)
    run_consumers(versioned)
    assert len(processed_rows(versioned)) == 150
    v2, event2 = upload(versioned, KEY, file_bytes(V2))
    run_ingest(versioned, event2)
    run_consumers(versioned)

    rows = processed_rows(versioned)
    assert len(rows) == len({r["ride_id"] for r in rows}) == 151
    assert {r["source_version"] for r in rows} == {v2}
    assert {r["source_key_hash"] for r in rows} == {naming.source_key_hash(KEY)}
    m1 = get_json(versioned, manifest_key("manifests/", KEY, v1))
    m2 = get_json(versioned, manifest_key("manifests/", KEY, v2))
    assert m1["valid"] == 150 and m2["valid"] == 151 and m2["state"] == m1["state"] == "done"
    v1_objects = m2["superseded_objects_deleted"]
    assert 0 < v1_objects <= m1["messages"] + len(m1["months"])
    assert get_json(versioned, manifest_key("manifests/", KEY))["source"]["version_id"] == v2
    assert m1["source"]["ingested_at"] < m2["source"]["ingested_at"]
    # every object left carries v2's tag; names list per source per month
    tags = {naming.parse_object_name(k).tag for k in keys_under(versioned, "processed/")}
    assert tags == {m2["object_tag"]}
    for key in keys_under(versioned, "processed/"):
        month = key.split("/")[1].removeprefix("ride_month=")
        assert key.startswith(naming.source_month_prefix("processed/", month, KEY))


def test_a_retry_with_another_rides_per_message_leaves_each_ride_once(versioned):
    _, event = upload(versioned, KEY, file_bytes(V1))
    run_ingest(versioned, event, rides_per_message=40)
    run_consumers(versioned)
    first_tags = {naming.parse_object_name(k).tag for k in keys_under(versioned, "processed/")}
    run_ingest(versioned, event, rides_per_message=70)  # the same event, retried after a config change
    run_consumers(versioned)

    rows = processed_rows(versioned)
    assert len(rows) == len({r["ride_id"] for r in rows}) == 150
    tags = {naming.parse_object_name(k).tag for k in keys_under(versioned, "processed/")}
    assert len(tags) == 1 and tags.isdisjoint(first_tags)
    manifest = get_json(
        versioned, manifest_key("manifests/", KEY, event["Records"][0]["s3"]["object"]["versionId"])
    )
    assert len(manifest["generations"]) == 2 and manifest["superseded_objects_deleted"] > 0


def test_a_retry_after_a_failed_attempt_that_grouped_differently_is_cleaned(versioned, monkeypatch):
    """The first attempt sends its messages and dies before its final manifest: the `sending` record of
    its generation is enough for the retry (other RIDES_PER_MESSAGE) to delete its objects."""
    version, event = upload(versioned, KEY, file_bytes(V1))
    handler = load_handler(versioned, "ingest", **ingest_env(versioned, RIDES_PER_MESSAGE=40))
    monkeypatch.setattr(handler, "plan_cleanup", lambda *a: (_ for _ in ()).throw(RuntimeError("died")))
    with pytest.raises(RuntimeError):
        handler.lambda_handler(event, FakeContext())
    run_consumers(versioned)  # its messages were sent and are written
    assert get_json(versioned, manifest_key("manifests/", KEY, version))["state"] == "sending"
    run_ingest(versioned, event, rides_per_message=70)
    run_consumers(versioned)
    rows = processed_rows(versioned)
    assert len(rows) == len({r["ride_id"] for r in rows}) == 150


def test_an_identical_retry_overwrites_its_own_objects(versioned):
    _, event = upload(versioned, KEY, file_bytes(V1))
    run_ingest(versioned, event)
    run_consumers(versioned)
    before = keys_under(versioned, "processed/")
    run_ingest(versioned, event)
    run_consumers(versioned)
    assert keys_under(versioned, "processed/") == before and len(processed_rows(versioned)) == 150


def test_the_same_bytes_under_a_short_and_a_long_key_group_identically(versioned):
    long_key = "raw/" + "k" * 191 + ".json"
    assert len(long_key) == 200
    groupings = []
    for key in ("raw/a.json", long_key):
        _, event = upload(versioned, key, file_bytes(V1))
        run_ingest(versioned, event, rides_per_message=1000)
        groupings.append(
            [
                [r["ride_id"] for r in decode_message(rec["body"])["rides"]]
                for rec in drain(versioned, "ingest")
            ]
        )
    assert groupings[0] == groupings[1] and sum(map(len, groupings[0])) == 150


def test_an_old_event_after_a_newer_version_is_superseded_and_writes_nothing(versioned):
    v1, event1 = upload(versioned, KEY, file_bytes(V1))
    _, event2 = upload(versioned, KEY, file_bytes(V2))
    run_ingest(versioned, event2)
    run_consumers(versioned)
    before = keys_under(versioned, "processed/")
    run_ingest(versioned, event1)  # v1's event arrives late
    assert drain(versioned, "ingest") == []
    assert keys_under(versioned, "processed/") == before
    m1 = get_json(versioned, manifest_key("manifests/", KEY, v1))
    assert m1["file_reason"] == "SUPERSEDED" and m1["months"] == [] and m1["object_tag"] is None


def test_a_late_event_of_a_processed_version_keeps_its_record(versioned):
    """v1 processed, v2 processed, then v1's event again: v1's quarantine lines and its record of what it
    wrote (tag, months) survive beside the SUPERSEDED outcome, so a later cleanup can still find it."""
    v1, event1 = upload(versioned, KEY, file_bytes(V1 + [make_ride(1, Distance=0)]))
    run_ingest(versioned, event1)
    run_consumers(versioned)
    written = get_json(versioned, manifest_key("manifests/", KEY, v1))
    _, event2 = upload(versioned, KEY, file_bytes(V2))
    run_ingest(versioned, event2)
    run_consumers(versioned)
    run_ingest(versioned, event1)
    late = get_json(versioned, manifest_key("manifests/", KEY, v1))
    assert late["file_reason"] == "SUPERSEDED"
    assert (late["object_tag"], late["months"]) == (written["object_tag"], written["months"])
    lines = [
        json.loads(line)["reason"]
        for key in keys_under(versioned, f"quarantine/{naming.source_key_hash(KEY)}/v-{v1}/")
        for line in versioned["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    ]
    assert sorted(lines) == ["NON_POSITIVE_DISTANCE", "SUPERSEDED"]
    assert len(processed_rows(versioned)) == 151


def test_a_rejected_new_version_removes_the_older_rides(versioned):
    """The current version is a broken file: it has no valid rides, so processed/ holds none of the key."""
    _, event1 = upload(versioned, KEY, file_bytes(V1))
    run_ingest(versioned, event1)
    run_consumers(versioned)
    _, event2 = upload(versioned, KEY, b"{not json")
    result = run_ingest(versioned, event2)
    assert result["files"][0]["file_reason"] == "NOT_JSON"
    assert keys_under(versioned, "processed/") == []


def test_another_keys_objects_are_never_touched(versioned):
    _, other = upload(versioned, "raw/other.json", file_bytes(V1[:20]))
    run_ingest(versioned, other)
    _, e1 = upload(versioned, KEY, file_bytes(V1))
    run_ingest(versioned, e1)
    run_consumers(versioned)
    _, e2 = upload(versioned, KEY, file_bytes(V2))
    run_ingest(versioned, e2)
    run_consumers(versioned)
    per_source = Counter(r["source_key_hash"] for r in processed_rows(versioned))
    assert per_source == {naming.source_key_hash("raw/other.json"): 20, naming.source_key_hash(KEY): 151}


# ------------------------------------------------------------------------------ pure planning and naming
def manifest(version: str, at: str, generation: str, months: list[str]) -> dict:
    source = Source("b", KEY, version, at)
    return {
        "source": source.to_dict(),
        "generation": generation,
        "object_tag": naming.object_tag(source, generation),
        "months": months,
    }


def test_only_older_versions_and_other_generations_are_stale():
    v1 = manifest("v1", "2026-01-01T00:00:00.000000Z", "aaaaaaaa", ["2017-06", "2017-07"])
    v2 = manifest("v2", "2026-01-02T00:00:00.000000Z", "aaaaaaaa", ["2017-07"])
    v3 = manifest("v3", "2026-01-03T00:00:00.000000Z", "aaaaaaaa", ["2017-09"])
    plan = plan_cleanup(v2, [v1, v3], generations_before=["bbbbbbbb"])
    v2_regrouped = f"{naming.version_tag(Source('b', KEY, 'v2'))}-bbbbbbbb"
    assert plan == Plan(frozenset({v1["object_tag"], v2_regrouped}), ("2017-06", "2017-07"))
    assert plan_cleanup(v2, [v3, {"source": {}, "object_tag": None}], []) == Plan(frozenset(), ())
    # an older version retried with another grouping: both of its generations are stale
    v1["generations"] = ["aaaaaaaa", "cccccccc"]
    v1_other = f"{naming.version_tag(Source('b', KEY, 'v1'))}-cccccccc"
    assert plan_cleanup(v2, [v1], []).stale_tags == {v1["object_tag"], v1_other}


def test_clean_up_deletes_only_stale_names_of_the_key():
    v1 = manifest("v1", "2026-01-01T00:00:00.000000Z", "aaaaaaaa", ["2017-06"])
    keep_tag = naming.object_tag(Source("b", KEY, "v2"), "aaaaaaaa")
    kh = naming.source_key_hash(KEY)
    listed = [
        f"processed/ride_month=2017-06/{kh}-{v1['object_tag']}-00000.csv",
        f"processed/ride_month=2017-06/{kh}-{keep_tag}-00000.csv",
        f"processed/ride_month=2017-06/{kh}-notours.csv",
    ]
    deleted: list[list[str]] = []
    plan = Plan(frozenset({v1["object_tag"]}), ("2017-06",))
    n = clean_up(
        plan, "processed/", KEY, lambda prefix: [k for k in listed if k.startswith(prefix)], deleted.append
    )
    assert n == 1 and deleted == [[listed[0]]]


def test_object_names_parse_back():
    source = Source("b", KEY, "v1", "2026-01-01T00:00:00.000000Z")
    key = naming.processed_key("processed/", "2017-06", source, "0badcafe", naming.chunk_part(3))
    name = naming.parse_object_name(key)
    assert key.startswith(naming.source_month_prefix("processed/", "2017-06", KEY))
    assert name == (naming.source_key_hash(KEY), naming.version_tag(source), "0badcafe", "00003")
    assert naming.parse_object_name("processed/ride_date=2017-06-01/" + "a" * 64 + ".csv") is None
    # unversioned: each upload (event time) gets its own version tag
    assert naming.version_tag(Source("b", KEY, None, "t1")) != naming.version_tag(
        Source("b", KEY, None, "t2")
    )
