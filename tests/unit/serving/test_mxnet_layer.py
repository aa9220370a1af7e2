"""The built MXNet layer works on its own: a fresh Python 3.11 with only the layer (and the function zip)
on sys.path — as Lambda and our LocalStack executor lay them out — imports mxnet and scores a model."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from wildrydes_lambda.model_format import linear_learner as ll

REPO_ROOT = Path(__file__).resolve().parents[3]
LAYER_ZIP = REPO_ROOT / "build" / "mxnet-layer.zip"
FUNCTION_ZIP = REPO_ROOT / "build" / "inference.zip"
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SCORE_ATOL = 1e-6
MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.4)
ROWS = [[30, 300, 333, 100], [2.5, -50, 20, 0], [60, 250, 310, 40]]

# Runs in the isolated interpreter (-I: no env vars/user site; -S: no site-packages at all).
PROBE = r"""
import json, sys
layer, function_dir, model_dir = sys.argv[1:4]
# The executor's merged-layer layout: python/ and python/lib/python3.11/site-packages/ (never /opt).
sys.path[:0] = [function_dir, layer + "/python", layer + "/python/lib/python3.11/site-packages"]
rows = json.loads(sys.argv[4])
import mxnet as mx, numpy, requests
module = mx.mod.Module.load(model_dir + "/mx-mod", 0, label_names=None)
module.bind(data_shapes=[("data", (len(rows), len(rows[0])))], for_training=False)
raw = module.predict(mx.io.NDArrayIter(numpy.array(rows, dtype="float32"), batch_size=len(rows)))
from wildrydes_lambda.serving.engine import load_engine
engine = load_engine("mxnet", __import__("pathlib").Path(model_dir))
print(json.dumps({"files": {m.__name__: m.__file__ for m in (mx, numpy, requests)}, "version": mx.__version__,
                  "raw": raw.asnumpy().ravel().tolist(), "engine": engine.score(rows),
                  "engine_single": engine.score(rows[:1])}))
"""


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.fail(f"{path} not built: run `make package` (or `make layer`) first")
    return path


@pytest.fixture(scope="module")
def layer_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("layer")
    with zipfile.ZipFile(_require(LAYER_ZIP)) as zf:
        zf.extractall(target)
    for so in target.rglob("*.so*"):  # zipfile drops modes on extract; Lambda keeps them
        so.chmod(0o755)
    return target


@pytest.fixture(scope="module")
def function_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("function")
    with zipfile.ZipFile(_require(FUNCTION_ZIP)) as zf:
        zf.extractall(target)
    return target


def test_layer_imports_mxnet_in_isolation_and_scores_like_the_local_model(layer_dir, function_dir, tmp_path):
    tar = tmp_path / "model.tar.gz"
    ll.write_artifact(MODEL, tar)
    model_dir = ll.extract_artifact(tar, tmp_path / "model")
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(layer_dir), str(function_dir), str(model_dir), json.dumps(ROWS)],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["version"] == "1.9.1"
    for name, file in probe["files"].items():
        assert Path(file).is_relative_to(layer_dir / "python"), f"{name} came from {file}, not the layer"
    expected = MODEL.as_float32().score(ROWS)
    assert probe["raw"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert probe["engine"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert probe["engine_single"] == pytest.approx(expected[:1], abs=SCORE_ATOL)


def test_layer_zip_is_trimmed_reproducible_shaped_and_within_the_lambda_limit():
    with zipfile.ZipFile(_require(LAYER_ZIP)) as zf:
        infos = zf.infolist()
    with zipfile.ZipFile(_require(FUNCTION_ZIP)) as zf:
        function_bytes = sum(i.file_size for i in zf.infolist())
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {ZIP_EPOCH}
    assert all(name.startswith("python/") for name in names)
    assert "python/mxnet/libmxnet.so" in names and "python/numpy/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".h")) or "/include/" in n]
    assert not [n for n in names if "/tests/" in n or n.startswith("python/numpy/f2py/")]
    assert sum(i.file_size for i in infos) + function_bytes < LAMBDA_UNZIPPED_LIMIT_BYTES
