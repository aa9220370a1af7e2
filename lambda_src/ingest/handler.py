"""Ingest: S3 `raw/*.json` notification -> validated rides on the ingest queue, rejects in quarantine.

Every record of the event is handled (S3 may deliver several objects in one notification). Objects
outside RAW_PREFIX or not ending in .json are logged and skipped: the bucket notification should not
send them, but a mis-set filter must not make us ingest manifests or quarantine files.
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
from wildrydes_lambda.etl.ingestion import ingest_file
from wildrydes_lambda.etl.metrics import ingest_counts
from wildrydes_lambda.etl.quarantine import QuarantineWriter

CONFIG = IngestConfig.from_env()
logger = Logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)  # EMF lines, flushed per invocation


def _sources(event: dict) -> list[Source]:
    sources = []
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        bucket = s3.get("bucket", {}).get("name")
        key = unquote_plus(s3.get("object", {}).get("key", ""))  # S3 URL-encodes keys in events
        if not bucket or not key:
            logger.warning("record without bucket/key ignored", extra={"record": record})
            continue
        if not key.startswith(CONFIG.raw_prefix) or not key.endswith(".json"):
            logger.warning("object outside the raw prefix or not .json ignored", extra={"key": key})
            continue
        sources.append(Source(bucket=bucket, key=key))
    return sources


def _ingest(source: Source) -> dict:
    first_etag: list[str] = []

    def open_stream():
        # The second read is pinned to the first read's ETag so both passes see the same bytes.
        body, etag = aws.open_object(source.bucket, source.key, if_match=first_etag[0] if first_etag else None)
        first_etag.append(etag)
        return body

    sender = aws.SqsBatchSender(CONFIG.ingest_queue_url)
    quarantine = QuarantineWriter(
        aws.s3_putter(CONFIG.data_bucket, "application/x-ndjson"), CONFIG.quarantine_prefix, source
    )
    manifest = ingest_file(source, open_stream, sender.add, quarantine, CONFIG.rides_per_message)
    sender.flush()
    counts = manifest.to_dict()
    aws.put_object(
        CONFIG.data_bucket,
        f"{CONFIG.manifest_prefix}{source.key}.json",
        json.dumps(counts, indent=1).encode("utf-8"),
        "application/json",
    )
    logger.info("file ingested", extra={**counts, "sqs_requests": sender.requests})
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
