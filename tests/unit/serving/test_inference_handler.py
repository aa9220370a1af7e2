"""The inference Lambda handler against moto S3: cold load, ETag re-check, missing model -> 503."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import model_store
import pytest
from moto import mock_aws

from wildrydes_lambda import aws
from wildrydes_lambda.model_format import linear_learner as ll
from wildrydes_lambda.settings import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[3]
HANDLER_PATH = REPO_ROOT / "lambda_src" / "inference" / "handler.py"
BUCKET = "wildrydes-test-data"
RECHECK_SECONDS = 60
FEATURES = ["distance", "TMIN", "TMAX", "PRCP"]
UNITS = {"distance": "miles", "TMIN": "tenths of degC", "TMAX": "tenths of degC", "PRCP": "tenths of mm"}
WORKSHOP_BODY = '{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'
WORKSHOP_ROW = [30, 300, 333, 100]  # metadata order
MODEL_V1 = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
MODEL_V2 = ll.LinearModel(weights=(-0.02, 0.001, -0.003, 0.004), bias=0.5, threshold=0.5)
SCORE_ATOL = 1e-6
CONTEXT = SimpleNamespace(
    function_name="inference",
    memory_limit_in_mb=1024,
    aws_request_id="req-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:inference",
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def publish(s3, model: ll.LinearModel, version: str) -> None:
    metadata = {"model_version": version, "features": FEATURES, "units": UNITS, "threshold": model.threshold}
    model_store.publish(s3, BUCKET, version, ll.artifact_bytes(model), metadata)


def api_event(body: str | None = WORKSHOP_BODY, method: str = "POST", content_type: str = "application/json"):
    return {
        "httpMethod": method,
        "path": "/",
        "headers": {"Content-Type": content_type},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"stage": "prod"},
    }


def load_handler_module(name: str = "inference_handler_under_test"):
    spec = importlib.util.spec_from_file_location(name, HANDLER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(monkeypatch, tmp_path):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MODEL_S3_BUCKET": BUCKET,
        "MODEL_RECHECK_SECONDS": str(RECHECK_SECONDS),
        "POWERTOOLS_SERVICE_NAME": "inference-test",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the cache extracts under gettempdir()
    return monkeypatch


@pytest.fixture(params=["numpy", "mxnet"])
def deployed(request, env):
    """(handler module, s3 client, fake clock) with an empty bucket, per engine."""
    env.setenv("INFERENCE_ENGINE", request.param)
    with mock_aws():
        aws.reset_clients()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        handler = load_handler_module()
        clock = FakeClock()
        handler.MODEL_CACHE._clock = clock
        yield handler, s3, clock
    aws.reset_clients()


def invoke(handler, event=None):
    response = handler.lambda_handler(api_event() if event is None else event, CONTEXT)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_cold_start_loads_once_and_scores_like_the_local_model(deployed):
    handler, s3, clock = deployed
    publish(s3, MODEL_V1, "v1")
    status, body = invoke(handler)
    expected = MODEL_V1.as_float32().score([WORKSHOP_ROW])[0]
    assert status == 200
    assert body["predictions"][0]["score"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert body["predictions"][0]["predicted_label"] == int(expected >= 0.5)
    assert body["model_version"] == "v1"
    clock.now += RECHECK_SECONDS / 2
    assert invoke(handler)[0] == 200
    assert handler.MODEL_CACHE.loads == 1
    model_dir = handler.MODEL_CACHE.current.model_dir
    assert model_dir.is_relative_to(tempfile.gettempdir()) and (model_dir / ll.PARAMS_FILE).is_file()


def test_new_model_is_picked_up_after_the_recheck_interval_without_redeploy(deployed):
    handler, s3, clock = deployed
    publish(s3, MODEL_V1, "v1")
    v1_score = invoke(handler)[1]["predictions"][0]["score"]
    old_dir = handler.MODEL_CACHE.current.model_dir
    publish(s3, MODEL_V2, "v2")
    clock.now += RECHECK_SECONDS - 1
    assert invoke(handler)[1]["model_version"] == "v1"  # not re-checked yet
    clock.now += 1
    status, body = invoke(handler)
    assert status == 200 and body["model_version"] == "v2"
    v2_expected = MODEL_V2.as_float32().score([WORKSHOP_ROW])[0]
    assert body["predictions"][0]["score"] == pytest.approx(v2_expected, abs=SCORE_ATOL)
    assert abs(v2_expected - v1_score) > 0.1
    assert handler.MODEL_CACHE.loads == 2
    assert not old_dir.exists()  # the previous version's files are cleaned from /tmp


def test_missing_model_is_a_503_json_and_a_later_publish_is_served(deployed):
    handler, s3, clock = deployed
    status, body = invoke(handler)
    assert status == 503
    assert body["error"] == "model_unavailable" and "Traceback" not in json.dumps(body)
    publish(s3, MODEL_V1, "v1")
    clock.now += RECHECK_SECONDS  # nothing loaded yet: S3 is asked again at the re-check interval
    status, body = invoke(handler)
    assert status == 200 and body["model_version"] == "v1"


def test_a_broken_new_model_keeps_the_old_one_serving(deployed):
    handler, s3, clock = deployed
    publish(s3, MODEL_V1, "v1")
    assert invoke(handler)[0] == 200
    broken = {"model_version": "v-broken", "features": FEATURES}
    model_store.publish(s3, BUCKET, "v-broken", b"not a tarball", broken)
    clock.now += RECHECK_SECONDS
    status, body = invoke(handler)
    assert status == 200 and body["model_version"] == "v1"
    # metadata from a different model shape (feature count mismatch) is refused the same way
    mismatch = {"model_version": "v2", "features": ["distance"]}
    model_store.publish(s3, BUCKET, "v2", ll.artifact_bytes(MODEL_V2), mismatch)
    clock.now += RECHECK_SECONDS
    assert invoke(handler)[1]["model_version"] == "v1"


def test_bad_requests_get_4xx_json_even_before_a_model_exists(deployed):
    handler, _, _ = deployed
    assert invoke(handler, api_event(method="GET"))[0] == 405
    assert invoke(handler, api_event(content_type="text/plain"))[0] == 415
    assert invoke(handler, api_event(body=""))[0] == 400
    assert invoke(handler, api_event(body="{not json"))[0] == 400


def test_bad_payload_with_a_model_names_the_field(deployed):
    handler, s3, _ = deployed
    publish(s3, MODEL_V1, "v1")
    status, body = invoke(handler, api_event(body='{"distance": 30, "TMAX": "hot", "TMIN": 300, "PRCP": 1}'))
    assert status == 400 and body["field"] == "TMAX"


def test_non_object_event_is_answered_not_crashed(deployed):
    handler, _, _ = deployed
    response = handler.lambda_handler("just a string", CONTEXT)
    assert response["statusCode"] == 405


@pytest.mark.parametrize(
    "variable, value",
    [
        ("MODEL_S3_BUCKET", ""),
        ("INFERENCE_ENGINE", "torch"),
        ("MODEL_RECHECK_SECONDS", "-1"),
        ("MAX_BATCH", "0"),
        ("MAX_BODY_BYTES", "lots"),
    ],
)
def test_bad_configuration_fails_the_cold_start_naming_the_variable(env, variable, value):
    env.setenv(variable, value)
    with mock_aws(), pytest.raises(ConfigError, match=variable):
        load_handler_module("inference_handler_bad_config")


def test_csv_in_json_lines_out_through_the_handler_like_a_sagemaker_client(deployed):
    handler, s3, _ = deployed
    publish(s3, MODEL_V1, "v1")
    rows = [WORKSHOP_ROW, [2.5, -50, 20, 0]]
    event = api_event("\n".join(",".join(map(str, r)) for r in rows), content_type="text/csv")
    event["headers"]["Accept"] = "application/jsonlines"
    response = handler.lambda_handler(event, CONTEXT)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/jsonlines"
    assert response["headers"]["X-Model-Version"] == "v1"
    lines = [json.loads(line) for line in response["body"].splitlines()]
    expected = MODEL_V1.as_float32().score(rows)
    assert [line["score"] for line in lines] == pytest.approx(expected, abs=SCORE_ATOL)
    percents = [line["heavy_utilization_percent"] for line in lines]
    assert percents == [round(line["score"] * 100, 1) for line in lines]
