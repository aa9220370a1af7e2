"""A publish can never break the API: every bad publish is rejected at load time.

For each way a publish can go wrong (bad_artifacts.BAD_PUBLISHES): with a good model serving, the good model
keeps answering (same scores, its files intact, a new batch size still binds); with no good model ever loaded,
the answer is 503 JSON with Retry-After, never 500. A rejected model is fetched and logged once and looked at
again only at the re-check interval.
"""

from __future__ import annotations

import json
import logging
import math

import bad_artifacts as bad
import boto3
import model_store
import pytest
from moto import mock_aws

from wildrydes_lambda.contracts import layout
from wildrydes_lambda.model_format import linear_learner as ll
from wildrydes_lambda.serving import model_cache as mc
from wildrydes_lambda.serving.service import InferenceSettings, answer

BUCKET = "bad-publish-test"
RECHECK_SECONDS = 60.0
WORKSHOP_BODY = '{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'
BATCH_OF_THREE = json.dumps({"instances": [{"features": [30, 300, 333, 100]}] * 3})
WORKSHOP_ROW = [30, 300, 333, 100]
HEADERS = {"Content-Type": "application/json"}
SCORE_ATOL = 1e-6


class CountingS3:
    """The moto client, counting model downloads (GetObject on an artifact)."""

    def __init__(self, client) -> None:
        self._client = client
        self.artifact_downloads = 0

    def get_object(self, **kwargs):
        if kwargs["Key"].endswith(mc.ARTIFACT_FILE_NAME):
            self.artifact_downloads += 1
        return self._client.get_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


class Deployment:
    """A bucket, a model cache on it (with a fake clock) and the service's answer()."""

    def __init__(self, s3, engine: str, work_dir) -> None:
        self.s3 = s3
        self.counting = CountingS3(s3)
        self.now = 0.0
        self.cache = mc.ModelCache(
            self.counting,
            BUCKET,
            layout.MODEL_POINTER_KEY,
            layout.MODEL_VERSIONS_PREFIX,
            engine,
            RECHECK_SECONDS,
            work_dir=work_dir,
            clock=lambda: self.now,
        )
        self.settings = InferenceSettings(bucket=BUCKET, engine=engine)

    def publish(self, artifact: bytes, metadata: dict | bytes) -> None:
        """Store a version and point at it (metadata that is not a dict goes under version v-bad)."""
        version = metadata["model_version"] if isinstance(metadata, dict) else "v-bad"
        model_store.publish(self.s3, BUCKET, version, artifact, metadata)

    def publish_good(self, version: str = "v1") -> None:
        self.publish(ll.artifact_bytes(bad.GOOD_MODEL), bad.metadata_for(version))

    def request(self, body: str = WORKSHOP_BODY):
        status, headers, payload = answer("POST", HEADERS, body, False, self.cache.get, self.settings)
        text = json.dumps(payload, allow_nan=False)  # what the handler sends must be strict JSON
        return status, headers, json.loads(text)


@pytest.fixture(params=["numpy", "mxnet"])
def deployment(request, tmp_path, monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield Deployment(s3, request.param, tmp_path / "work")


def good_score() -> float:
    return bad.GOOD_MODEL.as_float32().score([WORKSHOP_ROW])[0]


@pytest.mark.parametrize("case", sorted(bad.BAD_PUBLISHES))
def test_a_bad_publish_keeps_the_good_model_serving(deployment, case):
    deployment.publish_good("v1")
    status, _, body = deployment.request()
    assert status == 200 and body["model_version"] == "v1"
    serving_dir = deployment.cache.current.model_dir

    deployment.publish(*bad.BAD_PUBLISHES[case]("v-bad"))
    deployment.now += RECHECK_SECONDS
    status, _, body = deployment.request()
    assert status == 200 and body["model_version"] == "v1"
    assert body["predictions"][0]["score"] == pytest.approx(good_score(), abs=SCORE_ATOL)
    assert body["predictions"][0]["predicted_label"] == int(good_score() >= bad.GOOD_MODEL.threshold)
    assert deployment.cache.rejects == 1 and deployment.cache.loads == 1
    assert serving_dir.is_dir() and (serving_dir / ll.PARAMS_FILE).is_file()
    # a batch size never seen before makes the MXNet engine bind again from the serving directory
    status, _, body = deployment.request(BATCH_OF_THREE)
    assert status == 200 and len(body["predictions"]) == 3 and body["model_version"] == "v1"


@pytest.mark.parametrize("case", sorted(bad.BAD_PUBLISHES))
def test_a_bad_first_publish_is_a_503_json_with_retry_after(deployment, case):
    deployment.publish(*bad.BAD_PUBLISHES[case]("v-bad"))
    for _ in range(3):
        status, headers, body = deployment.request()
        assert status == 503, body
        assert headers["Retry-After"].isdigit() and int(headers["Retry-After"]) > 0
        assert headers["Content-Type"] == "application/json"
        assert body["error"] == "model_unavailable" and "Traceback" not in json.dumps(body)
    assert deployment.cache.rejects == 1 and deployment.cache.current is None


def test_a_rejected_model_is_downloaded_and_logged_once_and_rechecked_only_at_the_interval(
    deployment, caplog
):
    deployment.publish_good("v1")
    deployment.request()
    downloads_after_good = deployment.counting.artifact_downloads
    deployment.publish(*bad.bad_crc("v-bad"))
    caplog.set_level(logging.INFO, logger="wildrydes_lambda")
    for step in range(20):  # 20 requests spread over 3 re-check intervals
        deployment.now += RECHECK_SECONDS * 3 / 20
        assert deployment.request()[0] == 200, step
    assert deployment.counting.artifact_downloads == downloads_after_good + 1
    rejected = [r for r in caplog.records if "model rejected" in r.getMessage()]
    assert len(rejected) == 1 and "keeping version v1" in rejected[0].getMessage()
    # a good publish after the bad one is picked up at the next re-check
    deployment.publish(ll.artifact_bytes(bad.OTHER_MODEL), bad.metadata_for("v2"))
    deployment.now += RECHECK_SECONDS
    assert deployment.request()[2]["model_version"] == "v2"


def test_no_model_rechecks_at_the_interval_not_on_every_request(deployment):
    assert deployment.request()[0] == 503
    deployment.publish_good("v1")
    deployment.now += RECHECK_SECONDS / 2
    assert deployment.request()[0] == 503  # not looked at again yet
    deployment.now += RECHECK_SECONDS / 2
    status, _, body = deployment.request()
    assert status == 200 and body["model_version"] == "v1"


def test_a_metadata_only_publish_that_fails_keeps_the_serving_directory(deployment):
    deployment.publish_good("v1")
    deployment.request()
    serving_dir = deployment.cache.current.model_dir
    # same artifact bytes, broken metadata: the old code extracted into (then deleted) the serving dir
    deployment.publish(ll.artifact_bytes(bad.GOOD_MODEL), bad.metadata_for("v1b", None))
    deployment.now += RECHECK_SECONDS
    for body in (WORKSHOP_BODY, BATCH_OF_THREE, json.dumps({"instances": [{"features": WORKSHOP_ROW}] * 5})):
        status, _, answer_body = deployment.request(body)
        assert status == 200 and answer_body["model_version"] == "v1"
    assert (serving_dir / ll.PARAMS_FILE).is_file()


def test_a_good_reload_removes_only_the_previous_models_files(deployment):
    deployment.publish_good("v1")
    deployment.request()
    first_dir = deployment.cache.current.model_dir
    deployment.publish(ll.artifact_bytes(bad.OTHER_MODEL), bad.metadata_for("v2"))
    deployment.now += RECHECK_SECONDS
    assert deployment.request()[2]["model_version"] == "v2"
    assert not first_dir.exists() and deployment.cache.current.model_dir.is_dir()


def test_a_non_finite_score_is_never_sent_as_json(tmp_path):
    class NanEngine:
        name, feature_dim = "numpy", 4

        def score(self, rows):
            return [math.nan for _ in rows]

    from wildrydes_lambda.serving.request import FeatureSchema

    loaded = mc.LoadedModel(
        NanEngine(), FeatureSchema.from_metadata(bad.metadata_for("v")), 0.5, "v", "v", None, tmp_path
    )
    settings = InferenceSettings(bucket=BUCKET, engine="numpy")
    status, _, body = answer("POST", HEADERS, WORKSHOP_BODY, False, lambda: loaded, settings)
    assert status == 500 and json.loads(json.dumps(body, allow_nan=False))["error"] == "internal_error"


DICT_METADATA_CASES = [
    case for case in sorted(bad.BAD_PUBLISHES) if isinstance(bad.BAD_PUBLISHES[case]("v")[1], dict)
]


@pytest.mark.parametrize("case", DICT_METADATA_CASES)
def test_every_bad_artifact_or_metadata_is_an_artifact_error_or_model_rejected(tmp_path, case):
    """The loaders raise only their documented errors (no struct.error, TypeError, BadZipFile...)."""
    artifact, metadata = bad.BAD_PUBLISHES[case]("v")
    path = tmp_path / "model.tar.gz"
    path.write_bytes(artifact)
    try:
        model_dir = ll.extract_artifact(path, tmp_path / "model")
    except ll.ArtifactError:
        return
    with pytest.raises(mc.ModelRejected):
        mc.build_loaded_model(model_dir, metadata, "numpy")


def test_a_fresh_environment_behind_a_bad_publish_serves_the_previous_version(deployment):
    """A cold start after a bad promote: the pointer's previous versions are tried, newest first."""
    model_store.put_version(
        deployment.s3, BUCKET, "v1", ll.artifact_bytes(bad.GOOD_MODEL), bad.metadata_for("v1")
    )
    model_store.put_version(deployment.s3, BUCKET, "v-bad", *bad.bad_crc("v-bad"))
    pointer = {"model_version": "v-bad", "previous": ["v-missing", "v1"]}
    deployment.s3.put_object(Bucket=BUCKET, Key=layout.MODEL_POINTER_KEY, Body=json.dumps(pointer).encode())
    status, _, body = deployment.request()
    assert status == 200 and body["model_version"] == "v1"
    assert deployment.cache.rejects == 1  # v-bad; v-missing was a (transient) read failure, not a reject
    # the pointer still names v-bad: later re-checks keep v1 without fetching v-bad again
    downloads = deployment.counting.artifact_downloads
    deployment.now += RECHECK_SECONDS
    assert deployment.request()[2]["model_version"] == "v1"
    assert deployment.counting.artifact_downloads == downloads
