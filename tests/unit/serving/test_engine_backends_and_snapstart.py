"""The numpy engine runs on real numpy when it is importable and on pure Python otherwise, and both agree
with the MXNet engine on the real SageMaker fixture; the model cache's SnapStart hooks load before the
snapshot and force an S3 re-check after a restore (registered only where the runtime's hooks module exists)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import boto3
import model_store
import pytest
from moto import mock_aws

from wildrydes_lambda.contracts import layout
from wildrydes_lambda.model_format import linear_learner as ll
from wildrydes_lambda.serving import engine as ie
from wildrydes_lambda.serving import model_cache as mc

REPO_ROOT = Path(__file__).resolve().parents[3]
SAGEMAKER_FIXTURE = (
    REPO_ROOT / "tests" / "fixtures" / "sagemaker-linear-learner" / "binary-classifier-fd5000.model.tar.gz"
)
ENGINE_ATOL = 1e-6
BUCKET = "snap-test"
MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)


@pytest.fixture(scope="module")
def sagemaker_model_dir(tmp_path_factory) -> Path:
    return ll.extract_artifact(SAGEMAKER_FIXTURE, tmp_path_factory.mktemp("sagemaker"))


def fixture_rows(dim: int) -> list[list[float]]:
    rows = [[0.0] * dim for _ in range(6)]
    for number, row in enumerate(rows):
        for index in range(number, dim, 613):
            row[index] = 0.125 if (index + number) % 3 else -0.25
    return rows


def test_numpy_engine_uses_real_numpy_when_importable_and_pure_python_otherwise(
    sagemaker_model_dir, monkeypatch
):
    model = ll.load_model_dir(sagemaker_model_dir)
    with_numpy = ie.NumpyEngine(model)
    pure = ie.NumpyEngine(model, use_numpy=False)
    assert (with_numpy.backend, pure.backend) == (ie.BACKEND_NUMPY, ie.BACKEND_PYTHON)
    monkeypatch.setattr(ie, "_import_numpy", lambda: None)  # as in a function deployed without the layer
    assert ie.NumpyEngine(model).backend == ie.BACKEND_PYTHON

    rows = fixture_rows(model.feature_dim)
    numpy_scores, python_scores = with_numpy.score(rows), pure.score(rows)
    mxnet_scores = ie.load_engine("mxnet", sagemaker_model_dir, model).score(rows)
    assert max(abs(a - b) for a, b in zip(numpy_scores, python_scores, strict=True)) <= 1e-12
    assert max(abs(a - b) for a, b in zip(numpy_scores, mxnet_scores, strict=True)) <= ENGINE_ATOL
    assert len({round(s, 3) for s in numpy_scores}) > 2 and all(0.0 < s < 1.0 for s in numpy_scores)
    assert with_numpy.score([]) == []
    with pytest.raises(ValueError, match="row 0 has 3 features, the model expects 5000"):
        with_numpy.score([[1.0, 2.0, 3.0]])


def test_numpy_backend_does_not_overflow_for_extreme_scores():
    engine = ie.NumpyEngine(ll.LinearModel(weights=(1000.0,), bias=0.0))
    assert engine.score([[5.0], [-5.0]]) == [1.0, 0.0]


# ----------------------------------------------------------------------------- SnapStart hooks
def _publish(s3, model: ll.LinearModel, version: str) -> None:
    metadata = {"model_version": version, "features": ["distance", "TMIN", "TMAX", "PRCP"], "threshold": 0.5}
    model_store.publish(s3, BUCKET, version, ll.artifact_bytes(model), metadata)


@pytest.fixture
def cache(tmp_path):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        clock = [0.0]
        yield (
            mc.ModelCache(
                s3,
                BUCKET,
                layout.MODEL_POINTER_KEY,
                layout.MODEL_VERSIONS_PREFIX,
                "numpy",
                recheck_seconds=300,
                work_dir=tmp_path / "work",
                clock=lambda: clock[0],
            ),
            s3,
            clock,
        )


def test_before_snapshot_loads_the_model_and_tolerates_none_published(cache):
    model_cache, s3, _clock = cache
    model_cache.before_snapshot()  # nothing published yet: no exception, nothing loaded
    assert model_cache.current is None
    _publish(s3, MODEL, "v1")
    model_cache.before_snapshot()
    assert model_cache.current.model_version == "v1" and model_cache.loads == 1


def test_after_restore_rechecks_s3_on_the_next_request_even_inside_the_interval(cache):
    model_cache, s3, clock = cache
    _publish(s3, MODEL, "v1")
    model_cache.before_snapshot()
    _publish(s3, ll.LinearModel(weights=(0.01, 0.0, 0.0, 0.0), bias=0.0), "v2")  # published while snapshotted
    clock[0] = 1.0  # well inside the 300 s re-check interval
    assert model_cache.get().model_version == "v1"  # without a restore: not re-checked yet
    model_cache.after_restore()
    assert model_cache.get().model_version == "v2" and model_cache.loads == 2


def test_after_restore_reloads_when_the_model_files_are_gone(cache):
    model_cache, s3, _clock = cache
    _publish(s3, MODEL, "v1")
    model_cache.before_snapshot()
    import shutil

    shutil.rmtree(model_cache.current.model_dir)
    model_cache.after_restore()
    assert model_cache.current is None
    assert model_cache.get().model_version == "v1" and model_cache.loads == 2


def test_hooks_are_registered_only_when_the_runtime_module_exists(cache, monkeypatch):
    model_cache, _s3, _clock = cache
    monkeypatch.delitem(sys.modules, mc.SNAPSTART_HOOKS_MODULE, raising=False)
    assert mc.register_snapstart_hooks(model_cache) is False
    registered: dict[str, object] = {}
    fake = types.ModuleType(mc.SNAPSTART_HOOKS_MODULE)
    fake.register_before_snapshot = lambda fn: registered.setdefault("before", fn)
    fake.register_after_restore = lambda fn: registered.setdefault("after", fn)
    monkeypatch.setitem(sys.modules, mc.SNAPSTART_HOOKS_MODULE, fake)
    assert mc.register_snapstart_hooks(model_cache) is True
    assert registered == {"before": model_cache.before_snapshot, "after": model_cache.after_restore}
