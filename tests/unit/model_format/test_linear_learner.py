"""wildrydes_lambda.model_format.linear_learner against MXNet 1.9.1 and a real SageMaker artifact."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest

from wildrydes_lambda.model_format import linear_learner as ll

REPO_ROOT = Path(__file__).resolve().parents[3]
# A real SageMaker Linear Learner artifact, committed with its provenance note (tests/fixtures/.../PROVENANCE.md).
SAGEMAKER_FIXTURE = (
    REPO_ROOT / "tests" / "fixtures" / "sagemaker-linear-learner" / "binary-classifier-fd5000.model.tar.gz"
)
FIXTURE_FEATURE_DIM = 5000
FIXTURE_THRESHOLD = 0.030055705457925797
SCORE_ATOL = 1e-6  # MXNet scores in float32; we score in float64 from the same float32 weights
BATCH = 16


@pytest.fixture(scope="module")
def fixture_artifact() -> Path:
    if not SAGEMAKER_FIXTURE.is_file():
        pytest.fail(f"SageMaker fixture missing at {SAGEMAKER_FIXTURE}")
    return SAGEMAKER_FIXTURE


def mxnet_predict(model_dir: Path, rows: np.ndarray) -> np.ndarray:
    module = mx.mod.Module.load(str(model_dir / ll.MODULE_PREFIX), 0, label_names=None)
    module.bind(data_shapes=[("data", rows.shape)], for_training=False)
    return (
        module.predict(mx.io.NDArrayIter(rows.astype(np.float32), batch_size=rows.shape[0])).asnumpy().ravel()
    )


def moderate_rows(model: ll.LinearModel, seed: int) -> np.ndarray:
    """Random inputs scaled so that x·w spreads over the sigmoid's sensitive range (not all 0 or 1)."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(BATCH, model.feature_dim))
    scale = 2.0 / (np.linalg.norm(model.weights) + 1e-12)
    return rows * scale


# --------------------------------------------------------------------------- .params format
@pytest.mark.parametrize(
    "arrays",
    [
        {
            "arg:fc0_bias": np.array([[0.25]], "float32"),
            "arg:fc0_weight": np.arange(6, dtype="float32").reshape(6, 1),
        },
        {
            "a": np.array([1.5, -2.0], "float64"),
            "b": np.array([[1, 2], [3, 4]], "int32"),
            "c": np.array([7, 255], "uint8"),
            "d": np.array([-(2**40)], "int64"),
            "e": np.array([0.5], "float16"),
            "f": np.array([-3, 4], "int8"),
        },
    ],
    ids=["linear-learner", "all-dtypes"],
)
def test_write_params_is_byte_identical_to_mxnet_save(tmp_path, arrays):
    path = tmp_path / "x.params"
    mx.nd.save(str(path), {name: mx.nd.array(a, dtype=a.dtype) for name, a in arrays.items()})
    expected = path.read_bytes()

    ours = ll.write_params({name: (a.shape, str(a.dtype), a) for name, a in arrays.items()})
    assert ours == expected

    parsed = ll.read_params(expected)
    assert list(parsed) == list(arrays)
    for name, a in arrays.items():
        assert parsed[name].shape == a.shape and parsed[name].dtype == str(a.dtype)
        np.testing.assert_array_equal(np.asarray(parsed[name]), a)
    assert ll.write_params(parsed) == expected  # read -> write round trip


def test_read_params_rejects_garbage_and_truncation():
    good = ll.write_params({"w": ((2,), "float32", [1.0, 2.0])})
    with pytest.raises(ll.ArtifactError, match="magic"):
        ll.read_params(b"\x00" * 32)
    with pytest.raises(ll.ArtifactError, match="truncated"):
        ll.read_params(good[:-3])
    with pytest.raises(ll.ArtifactError, match="trailing"):
        ll.read_params(good + b"\x00")


def test_write_params_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="do not fill"):
        ll.write_params({"w": ((3, 1), "float32", [1.0, 2.0])})


# --------------------------------------------------------------------------- the real SageMaker artifact
def test_real_sagemaker_artifact_scores_match_mxnet(fixture_artifact, tmp_path):
    model = ll.load_artifact(fixture_artifact)
    assert model.feature_dim == FIXTURE_FEATURE_DIM
    assert model.predictor_type == ll.BINARY_CLASSIFIER
    assert model.threshold == pytest.approx(FIXTURE_THRESHOLD)

    extracted = ll.extract_artifact(fixture_artifact, tmp_path / "model")
    assert sorted(p.name for p in extracted.iterdir()) == sorted(ll.MODEL_FILES)
    assert ll.load_model_dir(extracted) == model

    rows = moderate_rows(model, seed=1)
    expected = mxnet_predict(extracted, rows)
    assert expected.std() > 0.05, "inputs should give varied scores, or the comparison proves little"
    np.testing.assert_allclose(model.score(rows.astype(np.float32).tolist()), expected, atol=SCORE_ATOL)


def test_real_sagemaker_params_rewrite_byte_identical(fixture_artifact):
    original = ll.read_artifact_files(fixture_artifact)[ll.PARAMS_FILE]
    assert ll.write_params(ll.read_params(original)) == original


# --------------------------------------------------------------------------- our own artifacts
def sample_model(feature_dim: int = 4, threshold: float = 0.42) -> ll.LinearModel:
    rng = np.random.default_rng(feature_dim)
    return ll.LinearModel(weights=tuple(rng.normal(size=feature_dim)), bias=-0.3, threshold=threshold)


def test_written_artifact_loads_in_mxnet_and_matches_numpy(tmp_path):
    model = sample_model()
    ll.write_artifact(model, tmp_path / "model.tar.gz")
    extracted = ll.extract_artifact(tmp_path / "model.tar.gz", tmp_path / "x")

    # Pure-numpy reading of the same files, independent of LinearModel.score.
    params = ll.read_params((extracted / ll.PARAMS_FILE).read_bytes())
    w = np.asarray(params[ll.WEIGHT_KEY], dtype=np.float64)
    b = np.asarray(params[ll.BIAS_KEY], dtype=np.float64)
    assert w.shape == (4, 1) and b.shape == (1, 1)
    rows = np.random.default_rng(7).normal(size=(BATCH, 4)).astype(np.float32)
    numpy_scores = 1.0 / (1.0 + np.exp(-(rows.astype(np.float64) @ w + b).ravel()))

    np.testing.assert_allclose(mxnet_predict(extracted, rows), numpy_scores, atol=SCORE_ATOL)
    loaded = ll.load_artifact(tmp_path / "model.tar.gz")
    np.testing.assert_allclose(loaded.score(rows.tolist()), numpy_scores, rtol=1e-12)
    assert loaded == model.as_float32()
    assert loaded.threshold == model.threshold


def test_written_artifact_has_sagemaker_layout(tmp_path):
    path = tmp_path / "model.tar.gz"
    ll.write_artifact(sample_model(), path)
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [ll.ARTIFACT_MEMBER]
        zip_data = tar.extractfile(members[0]).read()
    with zipfile.ZipFile(io.BytesIO(zip_data)) as archive:
        infos = archive.infolist()
        assert sorted(i.filename for i in infos) == sorted(ll.MODEL_FILES)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        assert json.loads(archive.read(ll.MANIFEST_FILE)) == ll.MANIFEST
        extra = json.loads(archive.read(ll.ADDITIONAL_PARAMS_FILE))
        assert extra["predictor_type"] == "binary_classifier" and extra["threshold"] == 0.42
        symbol = json.loads(archive.read(ll.SYMBOL_FILE))
        assert [n["op"] for n in symbol["nodes"]] == [
            "null",
            "null",
            "dot",
            "null",
            "broadcast_add",
            "null",
            "LogisticRegressionOutput",
        ]
        params = ll.read_params(archive.read(ll.PARAMS_FILE))
        assert list(params) == [ll.BIAS_KEY, ll.WEIGHT_KEY]  # SageMaker's order


def test_write_artifact_is_deterministic(tmp_path):
    ll.write_artifact(sample_model(), tmp_path / "a.tar.gz")
    ll.write_artifact(sample_model(), tmp_path / "b.tar.gz")
    ll.write_artifact(sample_model(threshold=0.5), tmp_path / "c.tar.gz")
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    assert (tmp_path / "a.tar.gz").read_bytes() != (tmp_path / "c.tar.gz").read_bytes()


# --------------------------------------------------------------------------- scoring
def test_score_and_predictions():
    model = ll.LinearModel(weights=(1.0, -2.0), bias=0.5, threshold=0.6)
    assert model.feature_dim == 2
    (s,) = model.score([[1.0, 0.25]])  # z = 1 - 0.5 + 0.5 = 1
    assert s == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert model.predictions([[1.0, 0.25], [0.0, 1.0]]) == [
        {"score": pytest.approx(s), "predicted_label": 1},
        {"score": pytest.approx(1 / (1 + np.exp(1.5))), "predicted_label": 0},
    ]
    assert model.score([[1000.0, 0.0], [-1000.0, 0.0]]) == [1.0, 0.0]  # no overflow
    with pytest.raises(ValueError, match="expects 2"):
        model.score([[1.0]])


def test_regressor_round_trip(tmp_path):
    model = ll.LinearModel(weights=(2.0, 3.0), bias=1.0, predictor_type=ll.REGRESSOR)
    ll.write_artifact(model, tmp_path / "r.tar.gz")
    loaded = ll.load_artifact(tmp_path / "r.tar.gz")
    assert loaded.predictor_type == ll.REGRESSOR
    assert loaded.score([[1.0, 1.0]]) == [6.0]


def test_library_works_without_numpy(fixture_artifact, tmp_path):
    """The inference Lambda's fallback engine runs without the MXNet layer, so possibly without numpy."""
    script = (
        "import sys; sys.modules['numpy'] = None\n"
        "from wildrydes_lambda.model_format import linear_learner as ll\n"
        f"m = ll.load_artifact({str(fixture_artifact)!r})\n"
        f"ll.write_artifact(m, {str(tmp_path / 'copy.tar.gz')!r})\n"
        f"assert ll.load_artifact({str(tmp_path / 'copy.tar.gz')!r}) == m\n"
        "print(m.feature_dim, m.score([[0.0] * m.feature_dim])[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "lambda_src")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    dim, score = done.stdout.split()
    assert int(dim) == FIXTURE_FEATURE_DIM and 0.0 < float(score) < 1.0


# --------------------------------------------------------------------------- hostile archives
def tar_with(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return buffer.getvalue()


def test_extraction_never_leaves_dest_dir(tmp_path):
    good = ll.model_files(sample_model())
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        for name, data in good.items():
            archive.writestr(name, data)
        archive.writestr("../escaped.txt", b"x")
        archive.writestr("/tmp/absolute-escape.txt", b"x")
    path = tmp_path / "evil.tar.gz"
    path.write_bytes(tar_with({ll.ARTIFACT_MEMBER: zip_buffer.getvalue(), "../outside": b"x"}))

    dest = ll.extract_artifact(path, tmp_path / "dest")
    assert sorted(p.name for p in dest.iterdir()) == sorted(ll.MODEL_FILES)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "outside").exists()


def test_bad_archives_raise_artifact_error(tmp_path):
    cases = {
        "no-member.tar.gz": tar_with({"something-else": b"x"}),
        "symlink.tar.gz": tar_with({}, symlink=ll.ARTIFACT_MEMBER),
        "not-zip.tar.gz": tar_with({ll.ARTIFACT_MEMBER: b"not a zip"}),
        "not-tar.tar.gz": b"plain bytes",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ll.ArtifactError):
            ll.load_artifact(tmp_path / name)
    # A zip without params is reported, and extract writes nothing.
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr(ll.SYMBOL_FILE, ll.build_symbol_json(2))
    (tmp_path / "partial.tar.gz").write_bytes(tar_with({ll.ARTIFACT_MEMBER: zip_buffer.getvalue()}))
    with pytest.raises(ll.ArtifactError, match="lacks mx-mod-0000.params"):
        ll.extract_artifact(tmp_path / "partial.tar.gz", tmp_path / "partial")
    assert not (tmp_path / "partial").exists()
