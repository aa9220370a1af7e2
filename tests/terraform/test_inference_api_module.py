"""modules/inference_api planned offline: function config, least-privilege role, keyed/throttled REST API."""

from __future__ import annotations

import json

import pytest
from tfhelpers import LAYOUT, plan, plan_error, values
from tfhelpers import TEST_ACCOUNT_ID, base64_sha256, make_fake_lambda_zip, offline_module

BUCKET = "wildrydes-data-test"
FUNCTION = "wildrydes-inference"
EXPECTED_ENV_KEYS = {"MODEL_S3_BUCKET", "MODEL_POINTER_KEY", "MODEL_VERSIONS_PREFIX", "INFERENCE_ENGINE",
                     "MODEL_RECHECK_SECONDS", "MAX_BATCH", "MAX_BODY_BYTES", "POWERTOOLS_SERVICE_NAME", "LOG_LEVEL"}


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    base = tmp_path_factory.mktemp("zips")
    function_zip = make_fake_lambda_zip(base / "inference.zip")
    layer_zip = make_fake_lambda_zip(base / "mxnet-layer.zip", body="# stands in for python/mxnet\n")
    return function_zip, layer_zip


@pytest.fixture(scope="module")
def tf(tmp_path_factory):
    return offline_module(tmp_path_factory.mktemp("inference_api"), "inference_api")


def base_vars(zips, **extra):
    function_zip, layer_zip = zips
    return {"data_bucket_name": BUCKET, "layout": LAYOUT, "function_zip_path": str(function_zip),
            "layer_zip_path": str(layer_zip), "account_id": TEST_ACCOUNT_ID, **extra}


@pytest.fixture(scope="module")
def default_plan(tf, zips):
    return plan(tf, **base_vars(zips))


def test_function_configuration(default_plan, zips):
    fn = values(default_plan, "aws_lambda_function.inference")
    assert (fn["runtime"], fn["handler"]) == ("python3.13", "handler.lambda_handler")
    assert fn["memory_size"] == 512  # MXNet alone needs ~140 MB RSS
    assert fn["source_code_hash"] == base64_sha256(zips[0])
    assert fn["tracing_config"] == [{"mode": "Active"}]
    env = fn["environment"][0]["variables"]
    assert set(env) == EXPECTED_ENV_KEYS
    assert env["MODEL_S3_BUCKET"] == BUCKET
    assert env["MODEL_POINTER_KEY"] == "models/linear-learner/serving.json"
    assert env["MODEL_VERSIONS_PREFIX"] == "models/linear-learner/versions/"
    assert env["INFERENCE_ENGINE"] == "mxnet"
    # Unreserved by default: reserving fails on accounts with the default 10-execution quota.
    assert fn["reserved_concurrent_executions"] == -1


def test_layer_is_staged_in_s3_under_artifacts(default_plan, zips):
    obj = values(default_plan, "aws_s3_object.layer[0]")
    assert obj["bucket"] == BUCKET and obj["key"].startswith("artifacts/mxnet-layer-")
    layer = values(default_plan, "aws_lambda_layer_version.mxnet[0]")
    assert layer["compatible_runtimes"] == ["python3.13"]
    assert layer["source_code_hash"] == base64_sha256(zips[1])
    assert "filename" not in layer or layer["filename"] is None  # from S3, not a direct upload


def test_role_reads_models_only_and_writes_its_own_logs(default_plan):
    statements = json.loads(values(default_plan, "aws_iam_role_policy.function")["policy"])["Statement"]
    by_sid = {st["Sid"]: st for st in statements}
    assert by_sid["ReadPublishedModel"]["Action"] == "s3:GetObject"
    assert by_sid["ReadPublishedModel"]["Resource"] == f"arn:aws:s3:::{BUCKET}/models/*"
    assert by_sid["OwnLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:{TEST_ACCOUNT_ID}:log-group:/aws/lambda/{FUNCTION}:*")
    actions = [a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])]
    assert all("*" not in a for a in actions)
    assert not [a for a in actions if a.startswith("s3:") and a != "s3:GetObject"]


def test_post_root_requires_an_api_key_and_proxies_to_lambda(default_plan):
    method = values(default_plan, "aws_api_gateway_method.post_root")
    assert (method["http_method"], method["api_key_required"]) == ("POST", True)
    integration = values(default_plan, "aws_api_gateway_integration.post_root")
    assert (integration["type"], integration["integration_http_method"]) == ("AWS_PROXY", "POST")
    assert not [a for a in default_plan.resources if a.startswith("aws_api_gateway_resource.")]  # root only


def test_stage_usage_plan_and_logs(default_plan):
    stage = values(default_plan, "aws_api_gateway_stage.prod")
    assert stage["stage_name"] == "prod"
    assert stage["access_log_settings"][0]["format"]
    usage = values(default_plan, "aws_api_gateway_usage_plan.this")
    assert usage["throttle_settings"] == [{"rate_limit": 20, "burst_limit": 40}]
    assert usage["quota_settings"][0]["limit"] == 100000
    assert usage["quota_settings"][0]["period"] == "DAY"
    for group in ("aws_cloudwatch_log_group.function", "aws_cloudwatch_log_group.access"):
        assert values(default_plan, group)["retention_in_days"] == 365


def test_numpy_engine_needs_no_layer_and_variables_flow_through(tf, zips):
    p = plan(tf, **base_vars(zips, inference_engine="numpy", memory_mb=256, throttle_rate_limit=5,
                             throttle_burst_limit=10, quota_limit=1000, quota_period="WEEK",
                             log_retention_days=30, local_endpoint="http://localhost:4574",
                             reserved_concurrency=5))
    assert not [a for a in p.resources if "layer" in a]
    fn = values(p, "aws_lambda_function.inference")
    assert fn["layers"] in (None, [])
    assert (fn["memory_size"], fn["environment"][0]["variables"]["INFERENCE_ENGINE"]) == (256, "numpy")
    assert fn["reserved_concurrent_executions"] == 5
    usage = values(p, "aws_api_gateway_usage_plan.this")
    assert usage["throttle_settings"] == [{"rate_limit": 5, "burst_limit": 10}]
    assert usage["quota_settings"][0]["period"] == "WEEK"


@pytest.mark.parametrize(
    ("bad_vars", "message"),
    [
        ({"inference_engine": "torch"}, "must be mxnet or numpy"),
        ({"memory_mb": 128}, "MXNet does not fit in less"),
        ({"quota_period": "HOUR"}, "must be DAY, WEEK or MONTH"),
        ({"log_retention_days": 10}, "one of the values CloudWatch Logs accepts"),
        ({"local_endpoint": "http://localhost:4566/path"}, "base URL without a path"),
        ({"reserved_concurrency": 0}, "must be null or a whole number >= 1"),
        ({"layer_zip_path": "/nonexistent/mxnet-layer.zip"}, "layer_zip_path must name an existing zip"),
    ],
)
def test_bad_inputs_are_rejected(tf, zips, bad_vars, message):
    error = plan_error(tf, **base_vars(zips, **bad_vars))
    assert message in " ".join(error.split())
