"""End to end ETL on LocalStack: `terraform apply` of the root module, then ride files through
S3 raw/ -> ingest -> SQS -> enrich -> SQS -> writer -> processed/ (issue 3, "Must show").

Uploads, in one go: the two committed sample files at the same time, a file with duplicate
timestamps (and one exact duplicate ride), a file mixing valid and invalid rides, and a file that
is not JSON. Then it asserts, from the bucket alone:
- every valid ride is in processed/ exactly once, with the ground station and heavy label that an
  independent computation here (own haversine, own rule) gives;
- invalid rides and the broken file are in quarantine/ with their reason codes;
- per file, rides_in = valid + quarantined + duplicates, and processed rows = valid;
- nothing is left in any dead-letter queue.

Expected values are computed in this file (not with wildrydes_lambda) so the test can disagree
with the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RIDES = sorted((REPO_ROOT / "data" / "sample" / "rides").glob("*.json"))
SAMPLE_TRUTH = REPO_ROOT / "data" / "sample" / "truth" / "rides_truth.csv"
ZIPS = [REPO_ROOT / "build" / f"{name}.zip" for name in ("ingest", "enrich", "writer")]

# docs/design.md: the four GHCN ground stations and the heavy-utilization rule.
STATIONS = {
    "US1NYNY0074": (40.7969, -73.9330),
    "USW00014732": (40.7794, -73.8803),
    "USW00094728": (40.7789, -73.9692),
    "USW00094789": (40.6386, -73.7622),
}
HEAVY_MAGIC_PER_MILE = 50
CSV_COLUMNS = [
    "ride_id",
    "name",
    "statustime",
    "latitude",
    "longitude",
    "distance",
    "healthpoints",
    "magicpoints",
    "groundstation",
    "heavy_utilization",
    "station_distance_miles",
    "source_key_hash",
    "source_version",
    "ingested_at",
]
# Mean Earth radius in statute miles (IUGG), for the expected station_distance_miles.
EARTH_RADIUS_MILES = 3958.7613
# processed/ride_month=M/<source key hash>-<version tag>-<grouping generation>-<chunk>.csv (docs/design.md)
PROCESSED_KEY = re.compile(
    r"^processed/ride_month=(\d{4}-\d{2})/(?P<key_hash>[0-9a-f]{32})-[0-9a-f]{12}-[0-9a-f]{8}-\d{5}\.csv$"
)

# How long the pipeline may take for ~5,000 rides on a shared 2-core machine, and how we decide it
# is done: manifests for every file and both work queues empty on consecutive polls.
PIPELINE_TIMEOUT_SECONDS = 900
POLL_SECONDS = 3
QUIET_POLLS_NEEDED = 3
WORK_QUEUE_OUTPUTS = ("ingest_queue_url", "groundstation_queue_url")
DLQ_OUTPUTS = ("ingest_dlq_url", "groundstation_dlq_url", "ingest_events_dlq_url")


# ------------------------------------------------------------------------------- independent truth
def central_angle(lat: float, lon: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * math.asin(math.sqrt(a))


def nearest_station(lat: float, lon: float) -> str:
    """Nearest station by great-circle distance (the radius does not change the argmin)."""
    return min(STATIONS, key=lambda sid: central_angle(lat, lon, *STATIONS[sid]))


def expected_ride_id(name: str, statustime: str, lat: float, lon: float) -> str:
    identity = f"{name}|{statustime}|{float(lat)!r}|{float(lon)!r}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def expected_row(ride: dict) -> dict:
    lat, lon = float(ride["Latitude"]), float(ride["Longitude"])
    return {
        "ride_id": expected_ride_id(ride["Name"], ride["StatusTime"], lat, lon),
        "statustime": ride["StatusTime"],
        "groundstation": nearest_station(lat, lon),
        "station_distance_miles": EARTH_RADIUS_MILES
        * central_angle(lat, lon, *STATIONS[nearest_station(lat, lon)]),
        "heavy_utilization": int(float(ride["MagicPoints"]) > HEAVY_MAGIC_PER_MILE * float(ride["Distance"])),
    }


# ------------------------------------------------------------------------------- test input files
def ride(
    name: str, ts: str, lat: float, lon: float, distance: float, magic: float, health: int = 100
) -> dict:
    return {
        "Name": name,
        "StatusTime": ts,
        "Latitude": lat,
        "Longitude": lon,
        "Distance": distance,
        "HealthPoints": health,
        "MagicPoints": magic,
    }


def duplicate_timestamp_file(token: str) -> tuple[list, list[dict], int]:
    """Rides sharing timestamps (all kept) plus one exact repeat (dropped as a duplicate)."""
    ts = "2017-06-01 08:30:00.000"
    rides = [
        ride(f"Dup-{token}-A", ts, 40.7800, -73.9600, 2.0, 150),  # heavy: 150 > 100
        ride(f"Dup-{token}-B", ts, 40.6400, -73.7700, 3.0, 120),  # not heavy: 120 <= 150
        ride(f"Dup-{token}-C", ts, 40.7970, -73.9340, 1.0, 50),  # exactly 50/mile: not heavy
        ride(f"Dup-{token}-D", "2017-06-02 09:00:00.000", 40.7790, -73.8800, 0.5, 26),
        ride(f"Dup-{token}-D", "2017-06-02 09:00:00.000", 40.7790, -73.8800, 0.5, 26),  # exact repeat
    ]
    return {"travel_data": rides}, rides[:4], 1


def workshop_shaped_file() -> tuple[bytes, list[dict]]:
    """The workshop's ride_data.json shape (7,755 Shadowfax rides over ten years, 80 % north of 41.2 deg):
    every ride must land, each with its nearest station however far (the workshop's semantics)."""
    from wildrydes.workshop_shape import workshop_rides

    rides = list(workshop_rides())
    return json.dumps({"travel_data": rides}).encode(), rides


def format_files(token: str, prefix: str) -> dict[str, tuple[bytes, list[dict], int, dict]]:
    """One small file per input format (issue 13); unique rides, so none of them repeats another file's."""
    import gzip

    def rides(tag: str) -> list[dict]:
        return [
            ride(f"Fmt-{token}-{tag}-{i}", f"2018-05-0{i + 1} 12:00:00.000", 40.75, -73.95, 1.0 + i, 60)
            for i in range(3)
        ]

    def lines(rs: list[dict]) -> bytes:
        return "\n".join(json.dumps(r) for r in rs).encode() + b"\n"

    gz, ndgz, upper = rides("gz"), rides("ndgz"), rides("upper")
    return {
        f"{prefix}packed.json.gz": (gzip.compress(json.dumps({"travel_data": gz}).encode()), gz, 0, {}),
        f"{prefix}lines.ndjson.gz": (gzip.compress(lines(ndgz)), ndgz, 0, {}),
        f"{prefix}UPPER.JSON": (json.dumps(upper).encode(), upper, 0, {}),
        f"{prefix}x.csv": (b"Name,Distance\nA,1\n", [], 0, {}),
    }


def mixed_validity_file(token: str) -> tuple[list, list[dict], dict[int, str]]:
    """Valid rides between invalid ones; index -> the reason code the contract names."""
    valid = [
        ride(f"Ok-{token}-1", "2018-03-04 10:11:12.131", 40.7000, -73.9000, 4.2, 300),
        ride(f"Ok-{token}-2", "2018-03-04 23:59:59.999", 40.7500, -73.8500, 1.5, 10),
    ]
    missing_distance = ride(f"Bad-{token}-1", "2018-03-04 10:00:00.000", 40.75, -73.95, 1.0, 10)
    del missing_distance["Distance"]
    records = [
        valid[0],
        missing_distance,  # 1
        ride(None, "2018-03-04 10:00:00.000", 40.75, -73.95, 1.0, 10),  # 2
        ride(f"Bad-{token}-3", "2018-03-04 10:00:00.000", 40.75, -73.95, -2.0, 10),  # 3
        ride(f"Bad-{token}-4", "2018-03-04 10:00:00.000", 95.0, -73.95, 1.0, 10),  # 4
        ride(f"Bad-{token}-5", "yesterday at noon", 40.75, -73.95, 1.0, 10),  # 5
        42,  # 6
        ride(f"Bad-{token}-7", "2018-03-04 10:00:00.000", -73.95, 40.75, 1.0, 10),  # 7
        valid[1],
    ]
    reasons = {
        1: "MISSING_FIELD",
        2: "NULL_FIELD",
        3: "NON_POSITIVE_DISTANCE",
        4: "LAT_OUT_OF_RANGE",
        5: "BAD_TIMESTAMP",
        6: "NOT_AN_OBJECT",
        7: "LAT_LON_SWAPPED",
    }
    return records, valid, reasons


# ------------------------------------------------------------------------------- bucket helpers
def list_keys(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def read_text(s3, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")


def read_many(s3, bucket: str, keys: list[str]) -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(keys, pool.map(lambda k: read_text(s3, bucket, k), keys), strict=False))


def queue_backlog(sqs, url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, 0)) for n in names)


def manifest_key(source_key: str) -> str:
    return f"manifests/{source_key}.json"


# ------------------------------------------------------------------------------- the run
@pytest.fixture(scope="module")
def applied(localstack, tf_local):
    """Root module applied to the session's LocalStack; outputs as {name: value}."""
    missing = [str(z) for z in ZIPS if not z.is_file()]
    assert not missing, f"Lambda packages missing ({missing}): run `make package` first"
    return {name: value["value"] for name, value in tf_local.apply().items()}


@pytest.fixture(scope="module")
def pipeline_run(localstack, tf_local, applied):
    assert len(SAMPLE_RIDES) >= 2, f"the committed sample rides are missing in {SAMPLE_RIDES}"
    outputs = applied
    apply_seconds = tf_local.apply_seconds
    s3, sqs = localstack.client("s3"), localstack.client("sqs")
    bucket = outputs["data_bucket_name"]

    token = uuid.uuid4().hex[:8]
    prefix = f"raw/it-etl-{token}/"
    dup_doc, dup_valid, dup_repeats = duplicate_timestamp_file(token)
    mixed_doc, mixed_valid, mixed_reasons = mixed_validity_file(token)
    files = {
        # source key -> (bytes, valid rides, duplicates, {index: reason})
        f"{prefix}duplicate-timestamps.json": (json.dumps(dup_doc).encode(), dup_valid, dup_repeats, {}),
        f"{prefix}mixed-validity.json": (json.dumps(mixed_doc).encode(), mixed_valid, 0, mixed_reasons),
        f"{prefix}not-json.json": (b'{"travel_data": [{"Name": "x",', [], 0, {}),
    }
    workshop_bytes, workshop = workshop_shaped_file()
    files[f"{prefix}ride_data.json"] = (workshop_bytes, workshop, 0, {})
    files.update(format_files(token, prefix))
    for path in SAMPLE_RIDES[:2]:
        content = path.read_bytes()
        files[f"{prefix}{path.name}"] = (content, json.loads(content)["travel_data"], 0, {})

    began = time.monotonic()
    # The two sample files go up at the same moment, the rest right after.
    sample_keys = [k for k in files if k.endswith(tuple(p.name for p in SAMPLE_RIDES[:2]))]
    with ThreadPoolExecutor(max_workers=len(sample_keys)) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=files[k][0]), sample_keys))
    for key in files:
        if key not in sample_keys:
            s3.put_object(Bucket=bucket, Key=key, Body=files[key][0])

    # Done = a manifest for every file and both work queues empty for QUIET_POLLS_NEEDED polls.
    quiet_polls, deadline = 0, began + PIPELINE_TIMEOUT_SECONDS
    work_queues = [outputs[name] for name in WORK_QUEUE_OUTPUTS]
    while True:
        manifests_present = set(list_keys(s3, bucket, f"manifests/{prefix}"))
        all_manifests = all(manifest_key(k) in manifests_present for k in files)
        idle = all_manifests and all(queue_backlog(sqs, url) == 0 for url in work_queues)
        quiet_polls = quiet_polls + 1 if idle else 0
        if quiet_polls >= QUIET_POLLS_NEEDED:
            break
        if time.monotonic() > deadline:
            backlog = {url: queue_backlog(sqs, url) for url in work_queues}
            pytest.fail(
                f"pipeline not done after {PIPELINE_TIMEOUT_SECONDS}s: manifests "
                f"{len(manifests_present)}/{len(files)}, queue backlog {backlog}"
            )
        time.sleep(POLL_SECONDS)
    pipeline_seconds = time.monotonic() - began

    processed = read_many(s3, bucket, list_keys(s3, bucket, "processed/"))
    quarantine = read_many(s3, bucket, list_keys(s3, bucket, "quarantine/"))
    manifests = {k: json.loads(read_text(s3, bucket, manifest_key(k))) for k in files}
    total_rides = sum(len(f[1]) for f in files.values())
    print(
        f"\nETL on LocalStack: terraform apply {apply_seconds and round(apply_seconds, 1)} s; "
        f"{total_rides} valid rides in {len(files)} files through the pipeline in {pipeline_seconds:.1f} s"
    )
    return {
        "outputs": outputs,
        "bucket": bucket,
        "files": files,
        "manifests": manifests,
        "processed": processed,
        "quarantine": quarantine,
        "sqs": sqs,
        "apply_seconds": apply_seconds,
        "pipeline_seconds": pipeline_seconds,
    }


def processed_rows(run) -> list[dict]:
    rows = []
    for key, text in run["processed"].items():
        reader = csv.DictReader(io.StringIO(text), escapechar="\\", doublequote=False)
        assert reader.fieldnames == CSV_COLUMNS, f"{key}: header {reader.fieldnames}"
        match = PROCESSED_KEY.match(key)
        assert match, f"unexpected processed key {key}"
        for row in reader:
            assert row["statustime"][:7] == match.group(1), (
                f"{key}: ride of another month {row['statustime']}"
            )
            assert row["source_key_hash"] == match["key_hash"], f"{key}: row of another source"
            rows.append(row)
    return rows


def quarantine_lines(run, source_key: str) -> list[dict]:
    lines = []
    for text in run["quarantine"].values():
        for line in text.splitlines():
            entry = json.loads(line)
            if entry["source"]["key"] == source_key:
                lines.append(entry)
    return lines


# ------------------------------------------------------------------------------- assertions
def test_applied_bucket_is_encrypted_versioned_private_and_tls_only(localstack, applied):
    s3, bucket = localstack.client("s3"), applied["data_bucket_name"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    (target,) = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    filters = {r["Name"].lower(): r["Value"] for r in target["Filter"]["Key"]["FilterRules"]}
    assert filters == {"prefix": "raw/"}  # no suffix filter: .JSON, .json.gz, .ndjson arrive; ingest decides
    assert target["LambdaFunctionArn"].endswith(":function:" + applied["ingest_function_name"])


def test_applied_roles_grant_no_wildcard_actions_or_resources(localstack, applied):
    lam, iam = localstack.client("lambda"), localstack.client("iam")
    roles = set()
    for output in ("ingest_function_name", "enrich_function_name", "writer_function_name"):
        role = lam.get_function_configuration(FunctionName=applied[output])["Role"].rsplit("/", 1)[-1]
        roles.add(role)
        assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], (
            f"{role}: managed policies attached"
        )
        names = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert names, f"{role} has no inline policy"
        for name in names:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            for statement in document["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                assert all("*" not in a for a in actions), (role, name, actions)
                assert all(r != "*" for r in resources), (role, name, resources)
    assert len(roles) == 3, f"each function needs its own role: {roles}"


def test_root_module_applied_with_etl_outputs(pipeline_run):
    outputs = pipeline_run["outputs"]
    for name in (
        "data_bucket_name",
        "data_bucket_arn",
        *WORK_QUEUE_OUTPUTS,
        *DLQ_OUTPUTS,
        "ingest_function_name",
        "enrich_function_name",
        "writer_function_name",
    ):
        assert outputs.get(name), f"root output {name} is missing or empty"
    assert pipeline_run["apply_seconds"] is not None


def test_every_valid_ride_is_processed_exactly_once_with_station_and_label(pipeline_run):
    rows = processed_rows(pipeline_run)
    counts = Counter(row["ride_id"] for row in rows)
    by_id = {row["ride_id"]: row for row in rows}
    expected = {}
    for key, (_, valid, _, _) in pipeline_run["files"].items():
        for r in valid:
            e = expected_row(r)
            expected[e["ride_id"]] = (key, e)
    missing = [rid for rid in expected if rid not in counts]
    assert not missing, (
        f"{len(missing)} of {len(expected)} valid rides never reached processed/, e.g. {missing[:3]}"
    )
    repeated = {rid: n for rid, n in counts.items() if rid in expected and n != 1}
    assert not repeated, f"rides in processed/ more than once: {list(repeated.items())[:5]}"
    wrong = []
    for rid, (key, e) in expected.items():
        row = by_id[rid]
        got = (row["statustime"], row["groundstation"], int(row["heavy_utilization"]))
        if got != (e["statustime"], e["groundstation"], e["heavy_utilization"]) or not math.isclose(
            float(row["station_distance_miles"]), e["station_distance_miles"], rel_tol=1e-9
        ):
            wrong.append((key, rid, got, e))
    assert not wrong, f"{len(wrong)} rides with a wrong station/label, e.g. {wrong[:3]}"


def test_sample_labels_match_the_generators_ground_truth(pipeline_run):
    """A second, separately written computation of station and label: the generator's truth file."""
    rows = {row["ride_id"]: row for row in processed_rows(pipeline_run)}
    with SAMPLE_TRUTH.open() as fh:
        truth = list(csv.DictReader(fh))
    assert truth, "empty truth file"
    mismatched = [
        t["ride_id"]
        for t in truth
        if t["ride_id"] not in rows
        or (rows[t["ride_id"]]["groundstation"], rows[t["ride_id"]]["heavy_utilization"])
        != (t["groundstation"], t["heavy"])
    ]
    assert not mismatched, (
        f"{len(mismatched)} of {len(truth)} truth rides differ or are missing, e.g. {mismatched[:3]}"
    )


def test_duplicate_timestamps_are_all_kept_and_exact_repeats_dropped(pipeline_run):
    key = next(k for k in pipeline_run["files"] if k.endswith("duplicate-timestamps.json"))
    manifest = pipeline_run["manifests"][key]
    assert (manifest["rides_in"], manifest["valid"], manifest["duplicates"], manifest["quarantined"]) == (
        5,
        4,
        1,
        0,
    )
    rows = [
        r
        for r in processed_rows(pipeline_run)
        if r["name"].startswith("Dup-")
        and r["name"].split("-")[1] == key.split("/")[1].removeprefix("it-etl-")
    ]
    shared = [r for r in rows if r["statustime"] == "2017-06-01 08:30:00.000"]
    assert len(shared) == 3, f"rides sharing one timestamp must all be kept: {shared}"
    assert sorted(r["heavy_utilization"] for r in shared) == ["0", "0", "1"]


def test_invalid_rides_are_quarantined_with_their_reasons(pipeline_run):
    key = next(k for k in pipeline_run["files"] if k.endswith("mixed-validity.json"))
    _, valid, _, reasons = pipeline_run["files"][key]
    lines = quarantine_lines(pipeline_run, key)
    got = {line["index"]: line["reason"] for line in lines}
    assert got == reasons
    records = json.loads(pipeline_run["files"][key][0])
    for line in lines:
        assert line["record"] == records[line["index"]], "quarantine must keep the original record"
        assert line["detail"], f"no detail for {line['reason']}"
    manifest = pipeline_run["manifests"][key]
    assert (manifest["rides_in"], manifest["valid"], manifest["quarantined"]) == (
        len(records),
        len(valid),
        len(reasons),
    )


def test_a_file_that_is_not_json_is_quarantined_whole(pipeline_run):
    key = next(k for k in pipeline_run["files"] if k.endswith("not-json.json"))
    lines = quarantine_lines(pipeline_run, key)
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["reason"] == "NOT_JSON"
    assert line["record"] is None and line["raw_object"] == key
    assert pipeline_run["manifests"][key]["valid"] == 0


def test_the_workshop_shaped_file_lands_completely(pipeline_run):
    key = next(k for k in pipeline_run["files"] if k.endswith("ride_data.json"))
    manifest = pipeline_run["manifests"][key]
    assert (manifest["rides_in"], manifest["valid"], manifest["quarantined"]) == (7755, 7755, 0), manifest
    north = [r for r in pipeline_run["files"][key][1] if r["Latitude"] > 41.2]
    assert len(north) > 0.75 * 7755  # most rides are far north of the stations and still processed


def test_every_input_format_gets_a_manifest(pipeline_run):
    by_suffix = {k.rsplit("/", 1)[1]: pipeline_run["manifests"][k] for k in pipeline_run["files"]}
    assert (by_suffix["packed.json.gz"]["format"], by_suffix["packed.json.gz"]["valid"]) == ("json", 3)
    assert (by_suffix["lines.ndjson.gz"]["format"], by_suffix["lines.ndjson.gz"]["valid"]) == ("ndjson", 3)
    assert (by_suffix["UPPER.JSON"]["format"], by_suffix["UPPER.JSON"]["valid"]) == ("json", 3)
    assert by_suffix["x.csv"]["file_reason"] == "UNSUPPORTED_OBJECT"


def test_count_invariant_holds_for_every_file(pipeline_run):
    rows = processed_rows(pipeline_run)
    ids_in_processed = Counter(row["ride_id"] for row in rows)
    for key, (_, valid, duplicates, reasons) in pipeline_run["files"].items():
        manifest = pipeline_run["manifests"][key]
        if manifest.get("file_reason"):
            continue  # whole-file rejection: checked above (one quarantine line, no rides)
        assert manifest["rides_in"] == manifest["valid"] + manifest["quarantined"] + manifest["duplicates"], (
            key,
            manifest,
        )
        assert manifest["valid"] == len(valid) and manifest["duplicates"] == duplicates, (key, manifest)
        assert len(quarantine_lines(pipeline_run, key)) == manifest["quarantined"] == len(reasons), key
        in_processed = sum(ids_in_processed[expected_row(r)["ride_id"]] for r in valid)
        assert in_processed == manifest["valid"], (key, in_processed, manifest)


def test_nothing_is_left_in_any_dead_letter_queue(pipeline_run):
    sqs = pipeline_run["sqs"]
    for name in DLQ_OUTPUTS:
        assert queue_backlog(sqs, pipeline_run["outputs"][name]) == 0, f"messages in {name}"
