"""Ingest: S3 `raw/` notification -> validated rides on the ingest queue, rejects in quarantine.

Every record of the event is handled (S3 may deliver several objects in one notification). Objects
outside RAW_PREFIX are logged and skipped (the bucket notification should not send them, but a mis-set
filter must not make us ingest manifests or quarantine files). Every object under RAW_PREFIX gets a
manifest: one whose name is not a supported ride file (.json, .jsonl, .ndjson, optionally .gz, any case)
gets file_reason UNSUPPORTED_OBJECT instead of silence.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import metrics as metric_names
from wildrydes_lambda.contracts.envelope import Source
from wildrydes_lambda.etl.config import IngestConfig
from wildrydes_lambda.etl.ingestion import Manifest, ingest_file, manifest_key, reject_file
from wildrydes_lambda.etl.metrics import ingest_counts
from wildrydes_lambda.etl.quarantine import QuarantineWriter
from wildrydes_lambda.etl.streaming import BadFile, detect_format

CONFIG = IngestConfig.from_env()
logger = Logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)  # EMF lines, flushed per invocation


def _sources(event: dict) -> list[Source]:
    sources = []
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        bucket = s3.get("bucket", {}).get("name")
        key = unquote_plus(s3.get("object", {}).get("key", ""))  # S3 URL-encodes keys in events
        version_id = s3.get("object", {}).get("versionId") or None  # absent/"" on unversioned buckets
        if not bucket or not key:
            logger.warning("record without bucket/key ignored", extra={"record": record})
            continue
        if not key.startswith(CONFIG.raw_prefix) or key.endswith("/"):
            logger.warning("object outside the raw prefix (or a folder marker) ignored", extra={"key": key})
            continue
        sources.append(Source(bucket=bucket, key=key, version_id=version_id))
    return sources


def _ingest(source: Source) -> dict:
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
        manifest = reject_file(source, quarantine, superseded, Manifest(source=source.to_dict()))
        manifests_at = manifests_at[:1]  # the key's plain manifest belongs to its current version
    elif fmt is None:
        bad = BadFile("UNSUPPORTED_OBJECT", "not a .json, .jsonl or .ndjson file (optionally .gz)")
        manifest = reject_file(source, quarantine, bad, Manifest(source=source.to_dict()))
    else:
        manifest = ingest_file(source, open_stream, sender.add, quarantine, CONFIG.rides_per_message, fmt)
    sender.flush()
    counts = manifest.to_dict()
    body = json.dumps(counts, indent=1).encode("utf-8")
    for key in manifests_at:
        aws.put_object(CONFIG.data_bucket, key, body, "application/json")
    logger.info("file ingested", extra={**counts, "manifests": manifests_at, "sqs_requests": sender.requests})
    for name, value in ingest_counts(counts).items():
        metrics.add_metric(name, MetricUnit.Count, value)
    return counts


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
