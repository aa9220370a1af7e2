"""Writer: ground-station-queue messages -> CSV objects under processed/ride_month=YYYY-MM/.

One object per (message, ride month), named `<source key hash>-<version tag>-<grouping generation>-<chunk>`
(``etl.naming``): a redelivered message writes the same keys with the same bytes, objects of another
version of the file never collide with these, and ingest's supersession cleanup finds them by the
`<source key hash>-` prefix. Every row carries the lineage columns source_key_hash, source_version and
ingested_at. WRITER_MODE=per_ride writes one object per ride instead (the workshop's behaviour, kept as a
benchmark baseline; the ride id replaces the chunk in the name).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import metrics as metric_names
from wildrydes_lambda.contracts.envelope import decode_message, lineage_of
from wildrydes_lambda.etl.config import WriterConfig
from wildrydes_lambda.etl.csv_output import plan_csv_objects
from wildrydes_lambda.etl.metrics import writer_counts

CONFIG = WriterConfig.from_env()
logger = Logger()
metrics = Metrics(namespace=metric_names.NAMESPACE)  # EMF lines, flushed per invocation
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    envelope = decode_message(record.body)
    objects = plan_csv_objects(
        envelope["rides"],
        CONFIG.processed_prefix,
        lineage_of(envelope),
        per_ride=CONFIG.writer_mode == "per_ride",
    )
    for key, body in objects:
        aws.put_object(CONFIG.data_bucket, key, body, "text/csv")
    for name, value in writer_counts(len(envelope["rides"]), len(objects)).items():
        metrics.add_metric(name, MetricUnit.Count, value)
    logger.info(
        "message written",
        extra={
            "source_key": envelope["source"]["key"],
            "rides": len(envelope["rides"]),
            "objects": len(objects),
        },
    )


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
