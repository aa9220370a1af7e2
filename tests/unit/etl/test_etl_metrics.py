"""The ETL functions' CloudWatch metrics: EMF lines on stdout, summed as CloudWatch would, end to end through
ingest -> enrich -> writer on moto."""

from __future__ import annotations

import json

import boto3
import pytest
from etl_fixtures import file_bytes, make_ride
from moto import mock_aws
from test_etl_handlers import BUCKET, FakeContext, drain, ingest_env, load_handler, s3_event

from wildrydes_lambda import aws as aws_adapters
from wildrydes_lambda.contracts import metrics as names

SERVICE = "etl-metrics-test"


@pytest.fixture
def etl(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_SERVICE_NAME": SERVICE,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    with mock_aws():
        aws_adapters.reset_clients()
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("ingest", "groundstation")}
        yield {"s3": s3, "sqs": sqs, "queues": queues, "monkeypatch": monkeypatch}
    aws_adapters.reset_clients()


def metric_totals(out: str) -> dict[str, float]:
    """metric name -> summed value over every EMF document in ``out`` (our namespace, dimension service)."""
    totals: dict[str, float] = {}
    for line in out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not (isinstance(doc, dict) and "_aws" in doc):
            continue
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == names.NAMESPACE
            assert directive["Dimensions"] == [[names.SERVICE_DIMENSION]] and doc["service"] == SERVICE
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals


def test_ingest_enrich_and_writer_count_rides_messages_and_objects(etl, capsys):
    good = [make_ride(i, day=1 + i % 2) for i in range(12)]
    bad = [make_ride(500, Distance=0), "not a ride"]
    etl["s3"].put_object(Bucket=BUCKET, Key="raw/a.json", Body=file_bytes(good + bad + [good[0]]))

    ingest = load_handler(etl, "ingest", **ingest_env(etl, RIDES_PER_MESSAGE=5))
    ingest.lambda_handler(s3_event("raw/a.json"), FakeContext())
    totals = metric_totals(capsys.readouterr().out)
    messages = drain(etl, "ingest")
    assert totals == {
        names.RIDES_IN: 15,
        names.RIDES_VALID: 12,
        names.RIDES_QUARANTINED: 2,
        names.RIDES_DUPLICATE: 1,
        names.MESSAGES_SENT: len(messages),
    }

    enrich = load_handler(etl, "enrich", DATA_BUCKET=BUCKET, OUTPUT_QUEUE_URL=etl["queues"]["groundstation"])
    enrich.lambda_handler({"Records": messages}, FakeContext())
    totals = metric_totals(capsys.readouterr().out)
    assert totals[names.RIDES_ENRICHED] + totals[names.RIDES_QUARANTINED] == 12
    assert totals[names.MESSAGES_SENT] == len(messages)

    writer = load_handler(etl, "writer", DATA_BUCKET=BUCKET)
    writer.lambda_handler({"Records": drain(etl, "groundstation")}, FakeContext())
    totals = metric_totals(capsys.readouterr().out)
    written = etl["s3"].list_objects_v2(Bucket=BUCKET, Prefix="processed/")["KeyCount"]
    assert totals == {names.RIDES_WRITTEN: 12, names.OBJECTS_WRITTEN: written} and written >= 2
