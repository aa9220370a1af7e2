"""Enrich: ingest-queue messages -> nearest ground station, its distance, heavy label -> ground-station queue.

The envelope's lineage (source key, version, event time, grouping generation, chunk) is passed on as is.

Rides farther than MAX_STATION_DISTANCE_MILES (env, empty = no limit, the default) from every station are
quarantined as NO_STATION_IN_RANGE.

Each SQS record is one envelope; a failing record is reported in batchItemFailures so only it is
retried (and after maxReceiveCount lands in the DLQ), never the whole batch. Powertools' BatchProcessor
enriches record by record; the outputs are then sent with SendMessageBatch (<= 10 per request) and a record
whose entry was not sent is reported as failed too (wildrydes_lambda.etl.forwarding).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import metrics as metric_names
from wildrydes_lambda.contracts.envelope import decode_message, lineage_of
from wildrydes_lambda.etl import quarantine as q
from wildrydes_lambda.etl.config import EnrichConfig
from wildrydes_lambda.etl.enrichment import enrich_rides
from wildrydes_lambda.etl.forwarding import EnrichOutcome, enriched_bodies, forward_enriched
from wildrydes_lambda.etl.metrics import enrich_counts

CONFIG = EnrichConfig.from_env()
logger = Logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)  # EMF lines, flushed per invocation
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> EnrichOutcome:
    envelope = decode_message(record.body)
    lineage = lineage_of(envelope)  # passed on unchanged: the writer stores and names objects by it
    source, chunk = lineage.source, lineage.chunk
    enriched, rejected = enrich_rides(envelope["rides"], CONFIG.max_station_distance_miles)
    if rejected:
        writer = q.QuarantineWriter(
            aws.s3_putter(CONFIG.data_bucket, "application/x-ndjson"),
            CONFIG.quarantine_prefix,
            source,
            name_prefix=f"enrich-{chunk:05d}-",
        )
        for ride, reason, detail in rejected:
            writer.add(q.ride_line(reason, detail, source, None, ride))
        writer.flush()
    bodies = enriched_bodies(lineage, enriched)
    return EnrichOutcome(source.key, chunk, len(enriched), len(rejected), bodies)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    with processor(event["Records"], record_handler, context):
        processed = processor.process()
    result = forward_enriched(processed, processor.response(), CONFIG.output_queue_url)
    if result.send.failed_ids:
        logger.warning(
            "messages not sent",
            extra={"message_ids": list(result.send.failed_ids), "error": result.send.error},
        )
    for outcome in result.done:  # counted once a record is done, as when each record sent its own message
        for name, value in enrich_counts(outcome.enriched, outcome.rejected).items():
            metrics.add_metric(name, MetricUnit.Count, value)
        logger.info(
            "message enriched",
            extra={
                "source_key": outcome.source_key,
                "chunk": outcome.chunk,
                "rides": outcome.enriched,
                "rejected": outcome.rejected,
            },
        )
    return result.response
