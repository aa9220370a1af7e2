"""Ingest: S3 `raw/` notification -> validated rides on the ingest queue, rejects in quarantine.

Every record of the event is handled (S3 may deliver several objects in one notification). Objects
outside RAW_PREFIX are logged and skipped (the bucket notification should not send them, but a mis-set
filter must not make us ingest manifests or quarantine files). Every object under RAW_PREFIX gets a
manifest: one whose name is not a supported ride file (.json, .jsonl, .ndjson, optionally .gz, any case)
gets file_reason UNSUPPORTED_OBJECT instead of silence.

Exactly once per file version (docs/design.md): ingest reads the version the event names, records an
event for a version that is no longer current as SUPERSEDED, stamps every message with the version and the
event's time, and once all messages of the current version are sent deletes the processed objects of the
key's older versions (and of other groupings of this version), listing only the months those wrote.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import metrics as metric_names
from wildrydes_lambda.contracts.envelope import INGESTED_AT_FORMAT, Source, normalise_event_time
from wildrydes_lambda.etl.config import IngestConfig
from wildrydes_lambda.etl.grouping import grouping_generation
from wildrydes_lambda.etl.ingestion import (
    STATE_SENDING,
    Manifest,
    generations_of,
    ingest_file,
    keep_written_record,
    manifest_key,
    reject_file,
    versions_dir,
)
from wildrydes_lambda.etl.metrics import ingest_counts
from wildrydes_lambda.etl.naming import object_tag
from wildrydes_lambda.etl.quarantine import QuarantineWriter
from wildrydes_lambda.etl.streaming import BadFile, detect_format
from wildrydes_lambda.etl.supersession import clean_up, plan_cleanup

CONFIG = IngestConfig.from_env()
SUPERSEDED_QUARANTINE_PREFIX = "superseded-"
logger = Logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)  # EMF lines, flushed per invocation


def _sources(event: dict) -> list[Source]:
    sources = []
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        bucket = s3.get("bucket", {}).get("name")
        key = unquote_plus(s3.get("object", {}).get("key", ""))  # S3 URL-encodes keys in events
        version_id = s3.get("object", {}).get("versionId") or None  # absent/"" on unversioned buckets
        try:  # the upload's announced time: the same on every retry/redelivery of this event
            ingested_at = normalise_event_time(record["eventTime"])
        except (KeyError, TypeError, ValueError):
            ingested_at = None  # a hand-made event: the object's LastModified stands in (see _ingest)
        if not bucket or not key:
            logger.warning("record without bucket/key ignored", extra={"record": record})
            continue
        if not key.startswith(CONFIG.raw_prefix) or key.endswith("/"):
            logger.warning("object outside the raw prefix (or a folder marker) ignored", extra={"key": key})
            continue
        sources.append(Source(bucket=bucket, key=key, version_id=version_id, ingested_at=ingested_at))
    return sources


def _with_event_time(source: Source) -> Source:
    if source.ingested_at is not None:
        return source
    try:
        modified = aws.last_modified(source.bucket, source.key, source.version_id)
    except aws.client("s3").exceptions.ClientError:
        return source  # gone: reading it fails below, or the event is superseded (nothing is written)
    return replace(source, ingested_at=modified.astimezone(UTC).strftime(INGESTED_AT_FORMAT))


def _put_manifest(keys: list[str], manifest: Manifest) -> None:
    body = json.dumps(manifest.to_dict(), indent=1).encode("utf-8")
    for key in keys:
        aws.put_object(CONFIG.data_bucket, key, body, "application/json")


def _listed_json(keys: list[str]) -> list[dict]:
    return [m for k in keys if (m := aws.get_json(CONFIG.data_bucket, k)) is not None]


def _manifest_keys(source: Source) -> list[str]:
    """Every version manifest of the key (listed, so only existing keys are read: without s3:ListBucket
    on a GET's key, S3 answers a missing key with 403, not 404); unversioned, the plain manifest, if any."""
    if source.version_id is not None:
        return list(aws.list_keys(CONFIG.data_bucket, versions_dir(CONFIG.manifest_prefix, source.key)))
    plain = manifest_key(CONFIG.manifest_prefix, source.key)
    return [k for k in aws.list_keys(CONFIG.data_bucket, plain) if k == plain]


def _ingest(source: Source) -> dict:
    source = _with_event_time(source)
    first_etag: list[str] = []

    def open_stream():
        # Both passes read the version the event names; the second is also pinned to the first's ETag.
        pinned = first_etag[0] if first_etag else None
        body, etag = aws.open_object(source.bucket, source.key, if_match=pinned, version_id=source.version_id)
        first_etag.append(etag)
        return body

    sender = aws.SqsBatchSender(CONFIG.ingest_queue_url)
    quarantine = QuarantineWriter(
        aws.s3_putter(CONFIG.data_bucket, "application/x-ndjson"), CONFIG.quarantine_prefix, source
    )
    # Manifest keys are known to fit before anything is sent. A versioned source gets its own manifest
    # (never overwritten by another version's) and, when it is the current version, the key's plain one.
    manifests_at = [manifest_key(CONFIG.manifest_prefix, source.key)]
    current = None
    if source.version_id is not None:
        manifests_at.insert(0, manifest_key(CONFIG.manifest_prefix, source.key, source.version_id))
        current = aws.current_version(source.bucket, source.key)
    fmt = detect_format(source.key)
    if source.version_id is not None and current != source.version_id:
        superseded = BadFile("SUPERSEDED", f"version {source.version_id} is not current (current: {current})")
        # Its own quarantine name, so a late event of a version processed before keeps that version's lines.
        late = QuarantineWriter(
            aws.s3_putter(CONFIG.data_bucket, "application/x-ndjson"),
            CONFIG.quarantine_prefix,
            source,
            name_prefix=SUPERSEDED_QUARANTINE_PREFIX,
        )
        manifest = reject_file(source, late, superseded, Manifest(source=source.to_dict()))
        # A redelivered event of a version processed before: keep what it wrote on record, so the cleanup of
        # a later version still finds (and deletes) its objects.
        own = [k for k in _manifest_keys(source) if k == manifests_at[0]]
        keep_written_record(manifest, next(iter(_listed_json(own)), None))
        manifests_at = manifests_at[:1]  # the key's plain manifest belongs to its current version
    elif fmt is None:
        bad = BadFile("UNSUPPORTED_OBJECT", "not a .json, .jsonl or .ndjson file (optionally .gz)")
        manifest = reject_file(source, quarantine, bad, Manifest(source=source.to_dict()))
    else:
        manifest = _ingest_current(source, fmt, open_stream, sender, quarantine, manifests_at[0])
    sender.flush()
    counts = manifest.to_dict()
    _put_manifest(manifests_at, manifest)
    logger.info("file ingested", extra={**counts, "manifests": manifests_at, "sqs_requests": sender.requests})
    for name, value in ingest_counts(counts).items():
        metrics.add_metric(name, MetricUnit.Count, value)
    return counts


def _ingest_current(source, fmt, open_stream, sender, quarantine, own_manifest: str) -> Manifest:
    """Send the version's rides, then delete what older versions (or other groupings of this one) wrote."""
    generation = grouping_generation(CONFIG.rides_per_message)
    generations_before: list[str] = []
    if source.version_id is not None:
        # Before sending: record this attempt's generation in the version manifest, so a later attempt that
        # groups differently (RIDES_PER_MESSAGE changed between a failed attempt and its retry) knows the
        # objects of this one are stale even if this attempt dies before its final manifest.
        own = [k for k in _manifest_keys(source) if k == own_manifest]
        generations_before = generations_of(next(iter(_listed_json(own)), None))
        marker = Manifest(source=source.to_dict(), state=STATE_SENDING, generation=generation)
        marker.object_tag = object_tag(source, generation)
        marker.generations = sorted({*generations_before, generation})
        _put_manifest([own_manifest], marker)
    manifest = ingest_file(source, open_stream, sender.add, quarantine, CONFIG.rides_per_message, fmt)
    sender.flush()  # every message is sent before anything older is deleted
    # Also for a rejected file: the current version then has no valid rides, so the older ones go too.
    manifest.generation, manifest.object_tag = generation, object_tag(source, generation)
    manifest.generations = sorted({*generations_before, generation})
    earlier = _listed_json(
        [k for k in _manifest_keys(source) if k != own_manifest or source.version_id is None]
    )
    plan = plan_cleanup(manifest.to_dict(), earlier, generations_before)
    manifest.superseded_objects_deleted = clean_up(
        plan,
        CONFIG.processed_prefix,
        source.key,
        lambda prefix: aws.list_keys(CONFIG.data_bucket, prefix),
        lambda keys: aws.delete_keys(CONFIG.data_bucket, keys),
    )
    return manifest


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    results, failures = [], []
    for source in _sources(event):
        try:
            results.append(_ingest(source))
        except Exception:  # one bad object must not stop the others; the invocation still fails below
            logger.exception("ingest failed", extra={"bucket": source.bucket, "key": source.key})
            failures.append(source.key)
    if failures:
        # S3 retries the async invocation; messages and quarantine objects are deterministic, so the
        # files that did succeed are redone without creating duplicates in processed/.
        raise RuntimeError(f"ingest failed for {len(failures)} object(s): {failures}")
    return {"files": results}
