"""wildrydes_dev.emf: the metric data CloudWatch extracts from an EMF line, checked on Powertools' own output
and accepted by CloudWatch's PutMetricData (moto)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric
from moto import mock_aws

from wildrydes_dev import emf

NAMESPACE = "WildRydes"


def powertools_lines(capsys, monkeypatch) -> list[str]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "fn-under-test")
    with single_metric("ModelRejects", MetricUnit.Count, 2, namespace=NAMESPACE):
        pass
    metrics = Metrics(namespace=NAMESPACE)
    metrics.add_dimension("model_version", "v7")
    metrics.add_metric("PredictedLabel1", MetricUnit.Count, 3)
    metrics.flush_metrics()
    print("a plain log line")
    print(json.dumps({"level": "INFO", "message": "scored"}))
    return capsys.readouterr().out.splitlines()


def test_powertools_lines_become_the_data_cloudwatch_would_store(capsys, monkeypatch):
    lines = powertools_lines(capsys, monkeypatch)
    puts = emf.metric_puts(lines)
    assert [p.namespace for p in puts] == [NAMESPACE, NAMESPACE]
    rejects, labels = (p.data[0] for p in puts)
    assert rejects["MetricName"] == "ModelRejects" and rejects["Value"] == 2.0 and rejects["Unit"] == "Count"
    assert rejects["Dimensions"] == [{"Name": "service", "Value": "fn-under-test"}]
    assert labels["MetricName"] == "PredictedLabel1" and labels["Value"] == 3.0
    assert sorted(d["Name"] for d in labels["Dimensions"]) == ["model_version", "service"]
    assert abs(rejects["Timestamp"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert [p.data[0]["MetricName"] for p in emf.metric_puts(lines, frozenset({"ModelRejects"}))] == [
        "ModelRejects"
    ]


def test_lines_that_are_not_emf_give_nothing():
    assert (
        emf.metric_puts(["", "plain", "[1, 2]", '{"_aws": {}}', '{"_aws": {"CloudWatchMetrics": 3}}']) == []
    )


def test_missing_dimension_or_metric_is_skipped_and_lists_are_values():
    record = {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "N",
                    "Dimensions": [["a"], ["absent"]],
                    "Metrics": [{"Name": "m"}, {"Name": "x"}],
                }
            ],
        },
        "a": 1,
        "m": [1, 2, 3],
    }
    (put,) = emf.metric_data(record)
    assert put.data == (
        {
            "MetricName": "m",
            "Dimensions": [{"Name": "a", "Value": "1"}],
            "Timestamp": dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC),
            "Values": [1.0, 2.0, 3.0],
        },
    )


@mock_aws
def test_cloudwatch_accepts_the_puts(capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    cloudwatch = boto3.client("cloudwatch")
    for put in emf.metric_puts(powertools_lines(capsys, monkeypatch)):
        cloudwatch.put_metric_data(**put.kwargs())
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]}
    assert names == {"ModelRejects", "PredictedLabel1"}


@pytest.mark.parametrize("value", [0, 1.5])
def test_scalar_values_are_floats(value):
    record = {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Name": "m"}]}],
        },
        "m": value,
    }
    (put,) = emf.metric_data(record)
    assert put.data[0]["Value"] == float(value) and put.data[0]["Dimensions"] == []
