"""The inference API on LocalStack, through the real API Gateway URL with the API key.

A model published to the bucket answers the workshop's curl payload with the score computed locally;
no key -> 403; bad payloads -> 4xx JSON; publishing a new model changes the answer with no redeploy (the
function re-checks the model's ETag every MODEL_RECHECK_SECONDS, so the test polls for that long).
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from wildrydes_lambda.contracts import layout, model_pointer
from wildrydes_lambda.model_format import linear_learner as ll

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

WORKSHOP = {"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}
WORKSHOP_ROW = [30, 300, 333, 100]  # metadata order below
FEATURES = ["distance", "TMIN", "TMAX", "PRCP"]
UNITS = {"distance": "miles", "TMIN": "tenths of degC", "TMAX": "tenths of degC", "PRCP": "tenths of mm"}
MODEL_A = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
MODEL_B = ll.LinearModel(weights=(-0.02, 0.001, -0.003, 0.004), bias=0.5, threshold=0.5)
SCORE_ATOL = 1e-6
HTTP_TIMEOUT_S = 60  # the first request of a cold mxnet environment imports MXNet and loads the model
POLL_INTERVAL_S = 2
POLL_MARGIN_S = 45  # beyond the re-check interval: cold starts and LocalStack latency on 2 busy cores


@dataclass
class Api:
    url: str
    key: str
    bucket: str
    pointer_key: str
    versions_prefix: str
    function_name: str
    recheck_seconds: float
    s3: Any
    lambda_client: Any


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


AWS_INVOKE_URL = re.compile(r"^https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com/(?P<stage>[^/]+)/?$")


def local_url(localstack, invoke_url: str) -> str:
    """The output is already LocalStack's DNS-free URL when the root module got `local_endpoint`; the shared
    session apply does not set it, so map the AWS-style URL onto the same API and stage on LocalStack."""
    match = AWS_INVOKE_URL.match(invoke_url)
    if match is None:
        return invoke_url
    return localstack.api_url(match["api"], match["stage"])


@pytest.fixture(scope="module")
def api(localstack, tf_local) -> Api:
    outputs = tf_local.apply()
    value = lambda name: outputs[name]["value"]
    bucket, pointer_key = _split(value("model_s3_uri"))  # the serving pointer
    lambda_client = localstack.client("lambda")
    function_name = next(f["FunctionName"] for f in lambda_client.list_functions()["Functions"]
                         if f.get("Environment", {}).get("Variables", {}).get("MODEL_S3_BUCKET") == bucket)
    env = lambda_client.get_function_configuration(FunctionName=function_name)["Environment"]["Variables"]
    assert env["MODEL_POINTER_KEY"] == pointer_key, "the function reads another pointer than model_s3_uri"
    versions_prefix = env["MODEL_VERSIONS_PREFIX"]
    if env.get("INFERENCE_ENGINE", "mxnet") == "mxnet":  # the default: scoring must go through the layer
        assert lambda_client.get_function_configuration(FunctionName=function_name).get("Layers")
    return Api(local_url(localstack, value("inference_invoke_url")), value("inference_api_key"), bucket,
               pointer_key, versions_prefix, function_name, float(env.get("MODEL_RECHECK_SECONDS", "60")),
               localstack.client("s3"), lambda_client)


def publish(api: Api, model: ll.LinearModel, version: str) -> None:
    """Store ``model`` as an immutable version, then switch the serving pointer to it."""
    prefix = layout.model_version_prefix(version, api.versions_prefix)
    s3, bucket = api.s3, api.bucket
    s3.put_object(Bucket=bucket, Key=prefix + layout.MODEL_ARTIFACT_NAME, Body=ll.artifact_bytes(model))
    metadata = {"model_version": version, "features": FEATURES, "units": UNITS, "threshold": model.threshold}
    s3.put_object(Bucket=bucket, Key=prefix + layout.METADATA_FILE_NAME, Body=json.dumps(metadata).encode())
    s3.put_object(Bucket=bucket, Key=api.pointer_key, Body=model_pointer.encode({"model_version": version}))


def call(api: Api, body: Any = WORKSHOP, *, key: str | None = "default", method: str = "POST",
         content_type: str = "application/json") -> tuple[int, Any]:
    data = body if isinstance(body, (bytes, type(None))) else (body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["x-api-key"] = api.key if key == "default" else key
    request = urllib.request.Request(api.url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for_version(api: Api, version: str) -> dict:
    deadline = time.monotonic() + api.recheck_seconds + POLL_MARGIN_S
    last: Any = None
    while time.monotonic() < deadline:
        status, body = call(api)
        last = (status, body)
        if status == 200 and body.get("model_version") == version:
            return body
        time.sleep(POLL_INTERVAL_S)
    pytest.fail(f"model {version} not served within {api.recheck_seconds + POLL_MARGIN_S:.0f} s; last answer {last}")


@pytest.fixture(scope="module")
def model_a(api) -> dict:
    publish(api, MODEL_A, "it-model-a")
    return wait_for_version(api, "it-model-a")


def test_published_model_answers_the_workshop_payload_like_the_local_computation(model_a):
    expected = MODEL_A.as_float32().score([WORKSHOP_ROW])[0]
    prediction = model_a["predictions"][0]
    assert prediction["score"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert prediction["predicted_label"] == int(expected >= MODEL_A.threshold)


def test_batches_and_human_units_through_the_api(api, model_a):
    rows = [WORKSHOP_ROW, [2.5, -50, 20, 0]]
    status, body = call(api, {"instances": [{"features": r} for r in rows]})
    assert status == 200
    assert [p["score"] for p in body["predictions"]] == pytest.approx(MODEL_A.as_float32().score(rows), abs=SCORE_ATOL)
    status, body = call(api, {"distance_miles": 30, "tmax_c": 33.3, "tmin_c": 30, "prcp_mm": 10})
    assert status == 200 and body["predictions"][0]["score"] == pytest.approx(model_a["predictions"][0]["score"], abs=1e-5)


@pytest.mark.parametrize("key", [None, "not-the-key"], ids=["no-key", "wrong-key"])
def test_calls_without_the_api_key_are_refused(api, key):
    status, _ = call(api, key=key)
    assert status == 403


BAD = [
    ("missing-field", {"distance": 30, "TMAX": 333, "TMIN": 300}, {}, 400, "PRCP"),
    ("string", {**WORKSHOP, "TMAX": "hot"}, {}, 400, "TMAX"),
    ("bool", {**WORKSHOP, "distance": True}, {}, 400, "distance"),
    ("nan", json.dumps(WORKSHOP).replace("333", "NaN"), {}, 400, "TMAX"),
    ("huge", {**WORKSHOP, "PRCP": 1e300}, {}, 400, "PRCP"),
    ("out-of-range", {**WORKSHOP, "distance": -3}, {}, 400, "distance"),
    ("invalid-json", '{"distance": ', {}, 400, None),
    ("empty-body", b"", {}, 400, None),
    ("json-list", [WORKSHOP], {}, 400, None),
    ("batch-over-limit", {"instances": [{"features": WORKSHOP_ROW}] * 101}, {}, 400, "instances"),
    ("oversized-body", {**WORKSHOP, "pad": "x" * 70_000}, {}, 413, None),
    ("text-plain", json.dumps(WORKSHOP), {"content_type": "text/plain"}, 415, "Content-Type"),
]


@pytest.mark.parametrize("body, options, status, field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_payloads_get_4xx_json_naming_the_field(api, model_a, body, options, status, field):
    got_status, got = call(api, body, **options)
    assert got_status == status, got
    assert isinstance(got, dict) and got.get("field") == field and "Traceback" not in json.dumps(got)


def test_wrong_method_is_a_4xx_json(api, model_a):
    status, body = call(api, None, method="GET")
    assert 400 <= status < 500 and isinstance(body, dict)


def test_publishing_a_new_model_changes_the_answer_without_redeploying(api, model_a):
    before = api.lambda_client.get_function_configuration(FunctionName=api.function_name)
    publish(api, MODEL_B, "it-model-b")
    body = wait_for_version(api, "it-model-b")
    expected = MODEL_B.as_float32().score([WORKSHOP_ROW])[0]
    assert body["predictions"][0]["score"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert abs(expected - model_a["predictions"][0]["score"]) > 0.1
    after = api.lambda_client.get_function_configuration(FunctionName=api.function_name)
    assert (after["RevisionId"], after["CodeSha256"]) == (before["RevisionId"], before["CodeSha256"])
