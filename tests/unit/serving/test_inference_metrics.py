"""The inference function's CloudWatch metrics: EMF lines on stdout, read as CloudWatch would parse them."""

from __future__ import annotations

import json
import tempfile

import bad_artifacts as bad
import boto3
import model_store
import pytest
from moto import mock_aws
from test_inference_handler import (
    BUCKET,
    CONTEXT,
    MODEL_V1,
    RECHECK_SECONDS,
    FakeClock,
    api_event,
    load_handler_module,
    publish,
)

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import metrics as names

SERVICE = "inference-metrics-test"


@pytest.fixture
def deployed(monkeypatch, tmp_path):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MODEL_S3_BUCKET": BUCKET,
        "MODEL_RECHECK_SECONDS": str(RECHECK_SECONDS),
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "INFERENCE_ENGINE": "numpy",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with mock_aws():
        aws.reset_clients()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        handler = load_handler_module("inference_handler_metrics")
        clock = FakeClock()
        handler.MODEL_CACHE._clock = clock
        yield handler, s3, clock
    aws.reset_clients()


def emf_lines(capsys) -> list[dict]:
    """Every EMF document printed since the last call (Powertools writes them to stdout)."""
    documents = []
    for line in capsys.readouterr().out.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            documents.append(document)
    return documents


def metric_values(documents: list[dict]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(metric name, dimensions) -> summed value, from EMF documents as CloudWatch extracts them."""
    out: dict = {}
    for doc in documents:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == names.NAMESPACE
            for dimension_set in directive["Dimensions"]:
                dims = tuple(sorted((d, doc[d]) for d in dimension_set))
                for metric in directive["Metrics"]:
                    assert metric["Unit"] == "Count"
                    value = doc[metric["Name"]]
                    total = sum(value) if isinstance(value, list) else value
                    out[(metric["Name"], dims)] = out.get((metric["Name"], dims), 0) + total
    return out


def serving_dims(version: str) -> tuple[tuple[str, str], ...]:
    return ((names.MODEL_VERSION_DIMENSION, version), (names.SERVICE_DIMENSION, SERVICE))


def test_predictions_by_label_and_score_bucket_cold_start_and_load_with_the_model_version(deployed, capsys):
    handler, s3, _ = deployed
    publish(s3, MODEL_V1, "v1")
    batch = json.dumps({"instances": [{"features": [30, 300, 333, 100]}, {"features": [0.5, 0, 10, 0]}]})
    handler.lambda_handler(api_event(), CONTEXT)
    handler.lambda_handler(api_event(body=batch), CONTEXT)
    values = metric_values(emf_lines(capsys))
    scores = [
        MODEL_V1.score([[30, 300, 333, 100]])[0],
        *MODEL_V1.score([[30, 300, 333, 100], [0.5, 0, 10, 0]]),
    ]
    labels = [int(s >= 0.5) for s in scores]
    dims = serving_dims("v1")
    assert values[(names.PREDICTIONS, dims)] == 3
    for label in (0, 1):
        assert values.get((f"{names.PREDICTED_LABEL_PREFIX}{label}", dims), 0) == labels.count(label)
    buckets = [names.score_bucket_name(s) for s in scores]
    for bucket in set(buckets):
        assert values[(bucket, dims)] == buckets.count(bucket)
    assert values[(names.COLD_START, dims)] == 1  # the first request only
    assert values[(names.MODEL_LOADS, ((names.SERVICE_DIMENSION, SERVICE),))] == 1


def test_a_rejected_publish_counts_one_reject_on_the_service_dimension(deployed, capsys):
    handler, s3, clock = deployed
    publish(s3, MODEL_V1, "v1")
    handler.lambda_handler(api_event(), CONTEXT)
    capsys.readouterr()
    model_store.publish(s3, BUCKET, "v-bad", *bad.nan_weights("v-bad"))
    for _ in range(3):
        clock.now += RECHECK_SECONDS
        handler.lambda_handler(api_event(), CONTEXT)
    values = metric_values(emf_lines(capsys))
    assert (
        values[(names.MODEL_REJECTS, ((names.SERVICE_DIMENSION, SERVICE),))] == 1
    )  # logged and counted once
    assert values[(names.PREDICTIONS, serving_dims("v1"))] == 3  # v1 kept answering
    assert not any(name == names.COLD_START for name, _ in values)


def test_no_model_is_counted_under_model_version_none_without_predictions(deployed, capsys):
    handler, _, _ = deployed
    response = handler.lambda_handler(api_event(), CONTEXT)
    assert response["statusCode"] == 503
    values = metric_values(emf_lines(capsys))
    assert values == {(names.COLD_START, serving_dims("none")): 1}


@pytest.mark.parametrize(
    "score, bucket",
    [(0.0, "Score00to20"), (0.19999, "Score00to20"), (0.2, "Score20to40"), (1.0, "Score80to100")],
)
def test_score_buckets(score, bucket):
    assert names.score_bucket_name(score) == bucket
