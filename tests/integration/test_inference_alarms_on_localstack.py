"""The inference alarms (modules/inference_api/monitoring.tf) reach ALARM on LocalStack when the deployed API is
driven into trouble: 4XX (requests without the key, bad payloads), 5XX (no good model -> 503; a function variant
that cannot start -> the function fails, API Gateway answers 502), a rejected model publish, and a throttled function.

What LocalStack 4.14 publishes itself and what this test publishes in its place (docs/localstack.md):

* ``AWS/Lambda Errors`` (FunctionName): **LocalStack** records it for every failed invocation. The
  ``function-errors`` alarm fires on LocalStack's own data; this test publishes nothing for it.
* ``AWS/ApiGateway 4XXError / 5XXError / Count / Latency`` (ApiName, Stage): LocalStack's REST API Gateway
  publishes **no** metrics (the test asserts there are none before it publishes). The test publishes, per request
  it sent through the real API, the datum API Gateway would: ``4XXError`` 1 or 0 and ``5XXError`` 1 or 0 from the
  HTTP status it received, ``Count`` 1 and ``Latency`` as the test measured it, with the ApiName read from
  the deployed API and the stage from its invoke URL.
* ``WildRydes ModelRejects`` (service): the function writes it as an EMF line (Powertools Metrics); LocalStack
  ships the line to CloudWatch Logs but does not extract metrics from EMF. The test reads the function's log
  group and replays those EMF lines as CloudWatch would (``wildrydes_dev.emf``).
* ``AWS/Lambda Throttles``: LocalStack refuses invocations of a function with reserved concurrency 0 but does not
  count them. The test publishes one ``Throttles`` datum per throttled invocation it saw.
* The p99 latency alarm uses an extended statistic, which LocalStack's alarm scheduler does not evaluate
  (it stays INSUFFICIENT_DATA): not tested here.

LocalStack evaluates a metric alarm every Period x EvaluationPeriods over the last EvaluationPeriods + 2 periods;
the session's stack (tests/conftest.py) sets 10 s x 1 through the root variables
inference_alarm_period_seconds / inference_alarm_evaluation_periods, so each alarm is seen firing within seconds
(production keeps 60 s x 3). The test leaves the function's configuration and the serving pointer as it found them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.config import Config

from wildrydes_dev import emf
from wildrydes_lambda.contracts import layout, model_pointer
from wildrydes_lambda.contracts import metrics as metric_names
from wildrydes_lambda.model_format import linear_learner as ll

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

WORKSHOP = {"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}
FEATURES = ["distance", "TMIN", "TMAX", "PRCP"]
GOOD_MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
HTTP_TIMEOUT_S = 60  # a cold mxnet environment imports MXNet and loads the model on its first request
TEST_BUDGET_S = 240  # the whole module, the shared session apply aside
ALARM_WAIT_S = 45  # an evaluation every 10 s over the last 30 s, on 2 busy cores
POLL_S = 1
SERVING_WAIT_S = 60
LOG_WAIT_S = 30
REQUESTS_PER_KIND = 6
ALARM_STATE = "ALARM"
MS_PER_S = 1000
MAX_DATA_PER_PUT = 1000
# An extra variable: a new function configuration, so new workers with nothing loaded.
VARIANT_MARKER = "WILDRYDES_ALARM_TEST_VARIANT"
HTTP_BAD_GATEWAY = 502
BROKEN_ENGINE = "no-such-engine"  # INFERENCE_ENGINE the function refuses at cold start (ConfigError)


@dataclass
class Stack:
    url: str
    key: str
    bucket: str
    pointer_key: str
    versions_prefix: str
    function_name: str
    api_name: str
    stage: str
    alarms: dict[str, dict]  # metric name -> the deployed alarm watching it
    clients: Callable[..., Any]  # LocalStackHandle.client(service, **kwargs)
    started: float


@pytest.fixture(scope="module")
def stack(localstack, tf_local) -> Stack:
    from test_inference_api import AWS_INVOKE_URL, LOCAL_INVOKE_URL, api_id_of, local_url

    outputs = tf_local.apply()
    started = time.monotonic()
    invoke_url = outputs["inference_invoke_url"]["value"]
    bucket, _, pointer_key = outputs["model_s3_uri"]["value"][len("s3://") :].partition("/")
    lambda_client = localstack.client("lambda")
    function_name = next(
        f["FunctionName"]
        for f in lambda_client.list_functions()["Functions"]
        if f.get("Environment", {}).get("Variables", {}).get("MODEL_S3_BUCKET") == bucket
    )
    env = lambda_client.get_function_configuration(FunctionName=function_name)["Environment"]["Variables"]
    match = AWS_INVOKE_URL.match(invoke_url) or LOCAL_INVOKE_URL.search(invoke_url)
    api_name = localstack.client("apigateway").get_rest_api(restApiId=api_id_of(invoke_url))["name"]
    alarms = {
        a["MetricName"]: a
        for a in localstack.client("cloudwatch").describe_alarms()["MetricAlarms"]
        if {d["Value"] for d in a.get("Dimensions", [])} & {function_name, api_name}
    }
    return Stack(
        local_url(localstack, invoke_url),
        outputs["inference_api_key"]["value"],
        bucket,
        pointer_key,
        env["MODEL_VERSIONS_PREFIX"],
        function_name,
        api_name,
        match["stage"],
        alarms,
        localstack.client,
        started,
    )


# ---------------------------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class Answer:
    status: int
    latency_ms: float
    at: dt.datetime


def call(stack: Stack, body: Any = WORKSHOP, *, key: str | None = "default") -> Answer:
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-api-key"] = stack.key if key == "default" else key
    request = urllib.request.Request(stack.url, data=data, method="POST", headers=headers)
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.read()
    return Answer(status, (time.monotonic() - began) * MS_PER_S, dt.datetime.now(dt.UTC))


def publish_api_gateway_metrics(stack: Stack, answers: list[Answer]) -> None:
    """What API Gateway publishes per request (LocalStack publishes none): 4XXError/5XXError as 0 or 1 from
    the status received, Count 1, Latency in ms, dimensions ApiName and Stage."""
    dimensions = [{"Name": "ApiName", "Value": stack.api_name}, {"Name": "Stage", "Value": stack.stage}]
    data = []
    for a in answers:
        for name, value, unit in (
            ("4XXError", float(400 <= a.status < 500), "Count"),  # noqa: PLR2004 - HTTP status classes
            ("5XXError", float(a.status >= 500), "Count"),  # noqa: PLR2004
            ("Count", 1.0, "Count"),
            ("Latency", a.latency_ms, "Milliseconds"),
        ):
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": a.at,
                    "Value": value,
                    "Unit": unit,
                }
            )
    cloudwatch = stack.clients("cloudwatch")
    for start in range(0, len(data), MAX_DATA_PER_PUT):
        cloudwatch.put_metric_data(
            Namespace="AWS/ApiGateway", MetricData=data[start : start + MAX_DATA_PER_PUT]
        )


def api_gateway_requests_seen(stack: Stack, since: dt.datetime) -> float:
    """The API's Count metric since ``since`` as CloudWatch holds it (before this test publishes any)."""
    dimensions = [{"Name": "ApiName", "Value": stack.api_name}, {"Name": "Stage", "Value": stack.stage}]
    result = stack.clients("cloudwatch").get_metric_statistics(
        Namespace="AWS/ApiGateway",
        MetricName="Count",
        Dimensions=dimensions,
        StartTime=since - dt.timedelta(seconds=1),
        EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1),
        Period=60,
        Statistics=["SampleCount"],
    )
    return sum(p["SampleCount"] for p in result["Datapoints"])


def alarm(stack: Stack, metric: str) -> dict:
    name = stack.alarms[metric]["AlarmName"]
    return stack.clients("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def wait_for_alarm(stack: Stack, metric: str) -> dict:
    deadline = time.monotonic() + ALARM_WAIT_S
    while True:
        current = alarm(stack, metric)
        if current["StateValue"] == ALARM_STATE:
            return current
        if time.monotonic() > deadline:
            pytest.fail(
                f"{current['AlarmName']} is {current['StateValue']} {ALARM_WAIT_S} s after its data: "
                f"{current.get('StateReason')} {current.get('StateReasonData')}"
            )
        time.sleep(POLL_S)


def wait_until_not_alarm(stack: Stack, metric: str) -> None:
    deadline = time.monotonic() + ALARM_WAIT_S
    while alarm(stack, metric)["StateValue"] == ALARM_STATE:
        assert time.monotonic() < deadline, f"{metric} alarm stays in ALARM with nothing happening"
        time.sleep(POLL_S)


def publish_model(stack: Stack, version: str, artifact: bytes) -> None:
    prefix = layout.model_version_prefix(version, stack.versions_prefix)
    s3 = stack.clients("s3")
    s3.put_object(Bucket=stack.bucket, Key=prefix + layout.MODEL_ARTIFACT_NAME, Body=artifact)
    metadata = {"model_version": version, "features": FEATURES, "threshold": 0.5}
    s3.put_object(
        Bucket=stack.bucket, Key=prefix + layout.METADATA_FILE_NAME, Body=json.dumps(metadata).encode()
    )
    s3.put_object(
        Bucket=stack.bucket, Key=stack.pointer_key, Body=model_pointer.encode({"model_version": version})
    )


def configure(stack: Stack, variables: dict[str, str]) -> None:
    """Give the function these environment variables and wait until the update is live (new workers)."""
    client = stack.clients("lambda")
    client.update_function_configuration(
        FunctionName=stack.function_name, Environment={"Variables": variables}
    )
    client.get_waiter("function_updated_v2").wait(
        FunctionName=stack.function_name, WaiterConfig={"Delay": POLL_S, "MaxAttempts": SERVING_WAIT_S}
    )


def wait_for_status(stack: Stack, status: int) -> list[Answer]:
    answers, deadline = [], time.monotonic() + SERVING_WAIT_S
    while not answers or answers[-1].status != status:
        assert time.monotonic() < deadline, f"the API never answered {status}: {[a.status for a in answers]}"
        answers.append(call(stack))
        if answers[-1].status != status:
            time.sleep(POLL_S)
    return answers


def replay_emf(stack: Stack, since_ms: int, metric: str) -> list[emf.MetricPut]:
    """Wait for the function's EMF lines carrying ``metric`` in its log group and put them into CloudWatch."""
    logs, group = stack.clients("logs"), f"/aws/lambda/{stack.function_name}"
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        events = logs.filter_log_events(logGroupName=group, startTime=since_ms).get("events", [])
        puts = emf.metric_puts((e["message"] for e in events), frozenset({metric}))
        if puts:
            break
        assert time.monotonic() < deadline, f"no {metric} EMF line in {group} after {LOG_WAIT_S} s"
        time.sleep(POLL_S)
    for put in puts:
        stack.clients("cloudwatch").put_metric_data(**put.kwargs())
    return puts


# ---------------------------------------------------------------------------------------------- the test
def test_the_inference_alarms_fire_on_localstack(stack):
    cloudwatch, s3, lambda_client = stack.clients("cloudwatch"), stack.clients("s3"), stack.clients("lambda")
    watched = {"4XXError", "5XXError", "Errors", "Throttles", metric_names.MODEL_REJECTS}
    assert watched <= set(stack.alarms), f"alarms found: {sorted(stack.alarms)}"
    for metric in ("4XXError", "5XXError"):  # the data below is published with exactly these dimensions
        dimensions = {d["Name"]: d["Value"] for d in stack.alarms[metric]["Dimensions"]}
        assert dimensions == {"ApiName": stack.api_name, "Stage": stack.stage}
    assert {a["Period"] for a in stack.alarms.values()} == {10}, "tests/conftest.py sets 10 s alarm periods"
    for metric in watched:
        wait_until_not_alarm(stack, metric)

    config = lambda_client.get_function_configuration(FunctionName=stack.function_name)
    original_env = config["Environment"]["Variables"]
    reserved = lambda_client.get_function_concurrency(FunctionName=stack.function_name)
    original_reserved = reserved.get("ReservedConcurrentExecutions")
    try:
        original_pointer = s3.get_object(Bucket=stack.bucket, Key=stack.pointer_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        original_pointer = None
    suffix = str(int(time.time()))
    try:
        # --- 4XX: requests without the key (API Gateway's 403) and bad payloads (the function's 400s) ------------
        publish_model(stack, f"alarm-good-{suffix}", ll.artifact_bytes(GOOD_MODEL))
        answers = wait_for_status(stack, 200)[-1:]  # a 503 while a cold worker loads is not this phase's
        answers += [call(stack, key=None) for _ in range(REQUESTS_PER_KIND)]
        answers += [call(stack, "{not json") for _ in range(REQUESTS_PER_KIND)]
        answers += [call(stack, {"distance": "far"}) for _ in range(REQUESTS_PER_KIND)]
        statuses = [a.status for a in answers]
        assert statuses.count(403) == REQUESTS_PER_KIND and statuses.count(400) == 2 * REQUESTS_PER_KIND, (
            statuses
        )
        assert not any(s >= 500 for s in statuses), statuses  # noqa: PLR2004
        assert api_gateway_requests_seen(stack, answers[0].at) == 0, (
            "LocalStack publishes API Gateway metrics now: stop publishing them here"
        )
        publish_api_gateway_metrics(stack, answers)
        fired = wait_for_alarm(stack, "4XXError")
        assert max(json.loads(fired["StateReasonData"])["recentDatapoints"]) > fired["Threshold"]
        assert alarm(stack, "5XXError")["StateValue"] != ALARM_STATE  # 4XX only: the 5XX alarm stays quiet

        # --- a rejected publish with no good model to fall back on: ModelRejects, and 503 from new workers -----
        since_ms = int(time.time() * MS_PER_S)
        publish_model(stack, f"alarm-corrupt-{suffix}", b"\x1f\x8b not a gzip archive")
        configure(stack, {**original_env, VARIANT_MARKER: "no-good-model"})
        answers = wait_for_status(stack, 503)
        answers += [call(stack) for _ in range(REQUESTS_PER_KIND)]
        assert {a.status for a in answers[-REQUESTS_PER_KIND:]} == {503}
        puts = replay_emf(stack, since_ms, metric_names.MODEL_REJECTS)
        assert {d["Dimensions"][0]["Value"] for p in puts for d in p.data} == {stack.function_name}
        publish_api_gateway_metrics(stack, answers)
        wait_for_alarm(stack, "5XXError")
        wait_for_alarm(stack, metric_names.MODEL_REJECTS)

        # --- a function variant that cannot start: LocalStack's own AWS/Lambda Errors ---------------------------
        configure(stack, {**original_env, "INFERENCE_ENGINE": BROKEN_ENGINE})
        answers = [call(stack) for _ in range(REQUESTS_PER_KIND)]
        # API Gateway's answer to a proxy integration whose function failed (as on AWS): 502
        assert {a.status for a in answers} == {HTTP_BAD_GATEWAY}, [a.status for a in answers]
        wait_for_alarm(stack, "Errors")

        # --- reserved concurrency 0: every invocation throttled, counted by the test ------------------------------
        configure(stack, original_env)
        lambda_client.put_function_concurrency(
            FunctionName=stack.function_name, ReservedConcurrentExecutions=0
        )
        throttled = []
        no_retries = Config(retries={"mode": "standard", "total_max_attempts": 1})  # one invoke, one throttle
        once = stack.clients("lambda", config=no_retries)
        for _ in range(REQUESTS_PER_KIND):
            try:
                once.invoke(FunctionName=stack.function_name, Payload=b"{}")
            except once.exceptions.TooManyRequestsException:
                throttled.append(dt.datetime.now(dt.UTC))
        assert len(throttled) == REQUESTS_PER_KIND
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Throttles",
                    "Dimensions": [{"Name": "FunctionName", "Value": stack.function_name}],
                    "Timestamp": at,
                    "Value": 1.0,
                    "Unit": "Count",
                }
                for at in throttled
            ],
        )
        wait_for_alarm(stack, "Throttles")
    finally:
        if original_reserved is None:
            lambda_client.delete_function_concurrency(FunctionName=stack.function_name)
        else:
            lambda_client.put_function_concurrency(
                FunctionName=stack.function_name, ReservedConcurrentExecutions=original_reserved
            )
        configure(stack, original_env)
        if original_pointer is None:
            s3.delete_object(Bucket=stack.bucket, Key=stack.pointer_key)
        else:
            s3.put_object(Bucket=stack.bucket, Key=stack.pointer_key, Body=original_pointer)
    assert time.monotonic() - stack.started < TEST_BUDGET_S
