"""Each ride once for readers, on LocalStack through the real bucket notification and the deployed functions
(issue 13, "Must show" (4) and (6)).

The reader view is the Athena view `rides_unique` that modules/athena installs in the Glue catalog (moto):
this file reads the installed text back from Glue, checks it is sql/rides_unique.sql, and runs that text on
DuckDB over the CSVs the writer put in processed/ (moto's Athena runs no SQL):
- (4) the same bytes uploaded under a short and a 200-character key, then a retry of the short key's event
  after RIDES_PER_MESSAGE of the ingest function changed -> each ride once in the view, from the newer upload;
- (6) two files sharing 10 rides -> the view and the training input (the join training reads) count each
  ride once, and training reports the 10 duplicate rows it dropped.
Expected ride ids are computed here from the ride fields (not with wildrydes_lambda).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from wildrydes import training as train
from wildrydes import weather as w
from wildrydes_dev import localaws

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
ZIPS = [REPO_ROOT / "build" / f"{name}.zip" for name in ("ingest", "enrich", "writer")]
LONG_KEY_CHARS = 200
CHANGED_RIDES_PER_MESSAGE = "3"  # the retry groups rides differently from the first attempt
PIPELINE_TIMEOUT_SECONDS = 600
POLL_SECONDS = 3
QUIET_POLLS_NEEDED = 3
WORK_QUEUE_OUTPUTS = ("ingest_queue_url", "groundstation_queue_url")
PRESTO_VIEW_PREFIX, PRESTO_VIEW_SUFFIX = "/* Presto View: ", " */"
STATION = "USW00094728"  # Central Park: every ride below is near it


# ------------------------------------------------------------------------------- independent truth
def expected_ride_id(ride: dict) -> str:
    identity = f"{ride['Name']}|{ride['StatusTime']}|{float(ride['Latitude'])!r}|{float(ride['Longitude'])!r}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def rides(token: str, numbers: range) -> list[dict]:
    """Rides over three months (so several ride_month partitions), all near Central Park."""
    return [
        {
            "Name": f"{token}-{i}",
            "StatusTime": f"2018-{3 + i % 3:02d}-{1 + i % 27:02d} 12:{i % 60:02d}:00.000",
            "Latitude": 40.78 + i * 1e-4,
            "Longitude": -73.97,
            "Distance": 1.5,
            "HealthPoints": 100,
            "MagicPoints": float(40 * (i % 4)),
        }
        for i in numbers
    ]


def body(ride_list: list[dict]) -> bytes:
    return json.dumps(ride_list).encode()


# ------------------------------------------------------------------------------- pipeline helpers
def queue_backlog(sqs, url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, 0)) for n in names)


def source_objects(s3, bucket: str, source_keys: tuple[str, ...]) -> list[str]:
    """The processed/ objects written from these source files: their names start with the source key's hash.
    The stack is shared with every other test, so reading all of processed/ on each poll (and copying it for
    the training input) grew with whatever ran before: 373 s for this module's test (6) in one CI run."""
    hashes = {key_hash(key) for key in source_keys}
    return [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="processed/")
        for obj in page.get("Contents", [])
        if obj["Key"].rsplit("/", 1)[-1].split("-", 1)[0] in hashes
    ]


def processed_rows(s3, bucket: str, ride_ids: set[str], source_keys: tuple[str, ...]) -> list[dict]:
    """Every row these source files put in processed/ whose ride is one of ``ride_ids``."""
    rows = []
    for key in source_objects(s3, bucket, source_keys):
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        rows += [
            {**r, "_key": key}
            for r in csv.DictReader(io.StringIO(text), escapechar="\\")
            if r["ride_id"] in ride_ids
        ]
    return rows


def wait_for_pipeline(
    s3, sqs, outputs: dict, ride_ids: set[str], min_rows: int, source_keys: tuple[str, ...]
) -> list[dict]:
    """Until every ride is in processed/ (at least ``min_rows`` rows) and the work queues stay empty."""
    deadline, quiet, rows = time.monotonic() + PIPELINE_TIMEOUT_SECONDS, 0, []
    while time.monotonic() < deadline:
        rows = processed_rows(s3, outputs["data_bucket_name"], ride_ids, source_keys)
        idle = all(queue_backlog(sqs, outputs[name]) == 0 for name in WORK_QUEUE_OUTPUTS)
        done = {r["ride_id"] for r in rows} == ride_ids and len(rows) >= min_rows
        quiet = quiet + 1 if idle and done else 0
        if quiet >= QUIET_POLLS_NEEDED:
            return rows
        time.sleep(POLL_SECONDS)
    found = Counter(r["ride_id"] for r in rows)
    pytest.fail(
        f"pipeline not done in {PIPELINE_TIMEOUT_SECONDS}s: {len(found)}/{len(ride_ids)} rides, {len(rows)} rows"
    )


def reader_view(localstack, bucket: str, ride_ids: set[str]) -> list[dict]:
    """The view's rows for these rides: sql/rides_unique.sql run by DuckDB over the processed/ objects."""
    result = w.unique_rides_duckdb(f"s3://{bucket}/processed/", endpoint_url=localstack.endpoint_url)
    return [r for r in result.as_dicts() if r["ride_id"] in ride_ids]


def put(s3, bucket: str, key: str, data: bytes) -> dict:
    return s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def applied(localstack, tf_local):
    missing = [str(z) for z in ZIPS if not z.is_file()]
    assert not missing, f"Lambda packages missing ({missing}): run `make package` first"
    return {name: value["value"] for name, value in tf_local.apply().items()}


@pytest.fixture(autouse=True)
def emulator_environment(localstack, monkeypatch):
    """Credentials, region and endpoints of the emulators for the code under test that reads s3:// itself
    (the reader view and training use the environment's client settings, as on a workstation)."""
    for name, value in localstack.env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture()
def ingest_rides_per_message(localstack, applied):
    """Set RIDES_PER_MESSAGE of the deployed ingest function; restored afterwards (the stack is shared)."""
    lam, name = localstack.client("lambda"), applied["ingest_function_name"]
    original = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]

    def configure(variables: dict[str, str]) -> None:
        # Settled, so the next test's S3 event is not dropped by the replaced poller (6 min late, once).
        localaws.update_function_configuration(lam, name, Environment={"Variables": variables})

    yield lambda value: configure({**original, "RIDES_PER_MESSAGE": value})
    configure(original)


# ------------------------------------------------------------------------------- tests
def test_the_installed_view_is_the_shared_sql(localstack, applied):
    glue = localstack.client("glue")
    database = applied["glue_database_name"]
    table = glue.get_table(DatabaseName=database, Name="rides_unique")["Table"]
    assert table["TableType"] == "VIRTUAL_VIEW" and table["Parameters"]["presto_view"] == "true"
    text = table["ViewOriginalText"]
    assert text.startswith(PRESTO_VIEW_PREFIX) and text.endswith(PRESTO_VIEW_SUFFIX)
    view = json.loads(base64.b64decode(text[len(PRESTO_VIEW_PREFIX) : -len(PRESTO_VIEW_SUFFIX)]))
    assert view["originalSql"] == w.unique_rides_sql(f"{database}.rides")
    assert [c["name"] for c in view["columns"]] == list(w.READER_COLUMNS)
    rides_table = glue.get_table(DatabaseName=database, Name="rides")["Table"]
    table_columns = [c["Name"] for c in rides_table["StorageDescriptor"]["Columns"]]
    assert [*table_columns, *(k["Name"] for k in rides_table["PartitionKeys"])] == list(w.READER_COLUMNS)


def test_same_bytes_under_two_keys_and_a_retry_with_other_grouping_read_once(
    localstack, applied, ingest_rides_per_message
):
    """Must show (4)."""
    s3, sqs, lam = localstack.client("s3"), localstack.client("sqs"), localstack.client("lambda")
    bucket = applied["data_bucket_name"]
    token = uuid.uuid4().hex[:8]
    ride_list = rides(token, range(40))
    data = body(ride_list)
    ride_ids = {expected_ride_id(r) for r in ride_list}
    assert len(ride_ids) == len(ride_list)
    short_key = f"raw/{token}.json"
    long_key = f"raw/{token}-" + "k" * (LONG_KEY_CHARS - len(f"raw/{token}-.json")) + ".json"
    assert len(long_key) == LONG_KEY_CHARS

    sources = (short_key, long_key)
    short = put(s3, bucket, short_key, data)
    wait_for_pipeline(s3, sqs, applied, ride_ids, len(ride_ids), sources)
    put(s3, bucket, long_key, data)
    rows = wait_for_pipeline(s3, sqs, applied, ride_ids, 2 * len(ride_ids), sources)
    by_source = Counter(r["source_key_hash"] for r in rows)
    assert by_source == {key_hash(short_key): len(ride_ids), key_hash(long_key): len(ride_ids)}

    # The retry: the short key's event again (same version, same event time), after RIDES_PER_MESSAGE changed.
    short_rows = [r for r in rows if r["source_key_hash"] == key_hash(short_key)]
    (ingested_at,) = {r["ingested_at"] for r in short_rows}
    assert {r["source_version"] for r in short_rows} == {short["VersionId"]}
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": ingested_at,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": short_key,
                        "size": len(data),
                        "eTag": short["ETag"].strip('"'),
                        "versionId": short["VersionId"],
                    },
                },
            }
        ]
    }
    ingest_rides_per_message(CHANGED_RIDES_PER_MESSAGE)
    answer = lam.invoke(
        FunctionName=applied["ingest_function_name"],
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    assert "FunctionError" not in answer, answer["Payload"].read().decode()
    rows = wait_for_pipeline(s3, sqs, applied, ride_ids, 2 * len(ride_ids), sources)
    assert {r["ingested_at"] for r in rows if r["source_key_hash"] == key_hash(short_key)} == {ingested_at}

    view = reader_view(localstack, bucket, ride_ids)
    assert sorted(r["ride_id"] for r in view) == sorted(ride_ids)  # each ride once
    assert {r["source_key_hash"] for r in view} == {key_hash(long_key)}  # the newer upload wins
    print(f"(4) processed rows for the {len(ride_ids)} rides: {len(rows)}; reader view: {len(view)}")


def test_two_files_sharing_ten_rides_count_once_for_the_view_and_training(localstack, applied, tmp_path):
    """Must show (6)."""
    s3, sqs = localstack.client("s3"), localstack.client("sqs")
    bucket = applied["data_bucket_name"]
    token = uuid.uuid4().hex[:8]
    first, second = rides(token, range(0, 30)), rides(token, range(20, 50))  # rides 20..29 in both
    ride_ids = {expected_ride_id(r) for r in first + second}
    assert len(ride_ids) == 50
    sources = (f"raw/{token}-a.json", f"raw/{token}-b.json")
    put(s3, bucket, sources[0], body(first))
    put(s3, bucket, sources[1], body(second))
    rows = wait_for_pipeline(s3, sqs, applied, ride_ids, 60, sources)
    assert len(rows) == 60  # stored once per file

    view = reader_view(localstack, bucket, ride_ids)
    assert sorted(r["ride_id"] for r in view) == sorted(ride_ids)

    # The training input: the join training reads, over these two files' processed/ objects (the view above
    # read the whole processed/ of the shared bucket from S3 itself).
    days = sorted({r["StatusTime"][:10] for r in first + second})
    weather = tmp_path / "weather.csv"
    weather.write_text(
        "station_id,date,tmin,tmax,prcp\n" + "".join(f"{STATION},{d},10,200,5\n" for d in days)
    )
    for key in source_objects(s3, bucket, sources):
        target = tmp_path / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    processed = str(tmp_path / "processed")
    joined_rows, report = w.join_duckdb(processed, str(weather))
    assert sorted(r[0] for r in joined_rows) == sorted(ride_ids)  # each of the 50 rides once
    assert report.rides == 50
    everything = w.unique_rides_duckdb(processed)
    assert report.duplicate_rows == everything.duplicate_rows == 10  # 60 rows, 50 rides
    joined = train.load_joined(processed, str(weather))
    dataset = train.build_dataset(joined, train.DEFAULT_FEATURES)
    assert set(ride_ids) <= set(dataset.ride_ids) and len(set(dataset.ride_ids)) == len(dataset.ride_ids)
    assert dataset.excluded["duplicate_ride_id"] == report.duplicate_rows
    print(
        f"(6) processed rows for the 50 rides: {len(rows)}; view: {len(view)}; training excluded {dataset.excluded}"
    )
