"""modules/inference_api monitoring.tf planned offline: the dashboard and the alarms (API 5XX/4XX rates, p99
latency, function errors/throttles, rejected models) on the ETL's SNS topic, with the metric names the
function emits (wildrydes_lambda.contracts.metrics)."""

from __future__ import annotations

import json

import pytest
import tfhelpers
from tfhelpers import LAYOUT, TEST_ACCOUNT_ID, make_fake_lambda_zip, offline_module, plan, plan_error

from wildrydes_lambda.contracts import metrics as names

BUCKET = "wildrydes-data-test"
FUNCTION = "wildrydes-inference"
TOPIC = "arn:aws:sns:us-east-1:000000000000:wildrydes-etl-alarms"
ALARMS = {
    "api-5xx-rate",
    "api-4xx-rate",
    "api-p99-latency",
    "function-errors",
    "function-throttles",
    "model-rejected",
}


@pytest.fixture(scope="module")
def tf(tmp_path_factory):
    return offline_module(tmp_path_factory.mktemp("inference_monitoring"), "inference_api")


@pytest.fixture(scope="module")
def variables(tmp_path_factory):
    base = tmp_path_factory.mktemp("zips")
    return {
        "data_bucket_name": BUCKET,
        "layout": LAYOUT,
        "account_id": TEST_ACCOUNT_ID,
        "function_zip_path": str(make_fake_lambda_zip(base / "inference.zip")),
        "inference_engine": "numpy",
    }


@pytest.fixture(scope="module")
def planned(tf, variables):
    return plan(
        tf, **variables, alarm_topic_arn=TOPIC, alarm_5xx_rate_threshold="0.02", alarm_p99_latency_ms="1500"
    )


def alarms(p) -> dict[str, dict]:
    return {
        r["values"]["alarm_name"]: r["values"]
        for a, r in p.resources.items()
        if r["type"] == "aws_cloudwatch_metric_alarm"
    }


def test_every_alarm_notifies_the_etl_topic_with_its_threshold(planned):
    by_name = alarms(planned)
    assert set(by_name) == {f"wildrydes-inference-{k}" for k in ALARMS}
    for alarm in by_name.values():
        assert alarm["alarm_actions"] == [TOPIC] and alarm["ok_actions"] == [TOPIC]
        assert alarm["treat_missing_data"] == "notBreaching"
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
    five = by_name["wildrydes-inference-api-5xx-rate"]
    assert (five["namespace"], five["metric_name"], five["statistic"], five["threshold"]) == (
        "AWS/ApiGateway",
        "5XXError",
        "Average",
        0.02,
    )
    assert five["dimensions"] == {"ApiName": "wildrydes-inference", "Stage": "prod"}
    latency = by_name["wildrydes-inference-api-p99-latency"]
    assert (latency["extended_statistic"], latency["threshold"]) == ("p99", 1500)
    assert by_name["wildrydes-inference-function-throttles"]["dimensions"] == {"FunctionName": FUNCTION}


def test_model_rejected_alarm_reads_the_metric_the_function_emits(planned):
    rejected = alarms(planned)["wildrydes-inference-model-rejected"]
    assert rejected["namespace"] == names.NAMESPACE
    assert rejected["metric_name"] == names.MODEL_REJECTS
    # the function emits rejects with the service dimension only (POWERTOOLS_SERVICE_NAME = function name)
    assert rejected["dimensions"] == {names.SERVICE_DIMENSION: FUNCTION}
    env = tfhelpers.lambda_function(planned)["aws_lambda_function.this"]["values"]
    assert env["environment"][0]["variables"]["POWERTOOLS_SERVICE_NAME"] == FUNCTION


def test_dashboard_shows_api_function_and_model_metrics(planned):
    dashboard = next(r for r in planned.resources.values() if r["type"] == "aws_cloudwatch_dashboard")[
        "values"
    ]
    assert dashboard["dashboard_name"] == "wildrydes-inference"
    body = json.dumps(json.loads(dashboard["dashboard_body"]))
    for needle in (
        "5XXError",
        "Latency",
        "Throttles",
        names.MODEL_REJECTS,
        names.MODEL_LOADS,
        f"{names.PREDICTED_LABEL_PREFIX}1",
        names.MODEL_VERSION_DIMENSION,
    ):
        assert needle in body


def test_without_a_topic_the_alarms_still_exist_without_actions(tf, variables):
    planned_alarms = alarms(plan(tf, **variables))
    assert len(planned_alarms) == len(ALARMS)
    assert all(not alarm["alarm_actions"] for alarm in planned_alarms.values())  # null or [] in the plan


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("alarm_5xx_rate_threshold", "1.5", "fraction"),
        ("alarm_period_seconds", "45", "must be 10, 30, 60"),
        ("alarm_topic_arn", "not-an-arn", "SNS topic ARN"),
    ],
)
def test_bad_thresholds_are_rejected(tf, variables, name, value, message):
    assert message in " ".join(plan_error(tf, **variables, **{name: value}).split())
