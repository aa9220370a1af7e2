"""The built MXNet layer works on its own: a fresh Python 3.13 with only the layer (and the function zip)
on sys.path — as Lambda and our LocalStack executor lay them out — imports mxnet with every warning turned
into an error (so the compatibility module must cover each numpy/distutils name the path touches) and scores
the real SageMaker fixture like the reference; every shared library it links is shipped or on the base
image; its bytecode is hash-based; and the build is reproducible."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wildrydes_dev import build_layer
from wildrydes_dev.build_zip import TARGET_PYTHON
from wildrydes_lambda.model_format import linear_learner as ll

REPO_ROOT = Path(__file__).resolve().parents[3]
LAYER_ZIP = REPO_ROOT / "build" / "mxnet-layer.zip"
FUNCTION_ZIP = REPO_ROOT / "build" / "inference.zip"
SAGEMAKER_FIXTURE = (
    REPO_ROOT / "tests" / "fixtures" / "sagemaker-linear-learner" / "binary-classifier-fd5000.model.tar.gz"
)
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SCORE_ATOL = 1e-6
MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.4)
ROWS = [[30, 300, 333, 100], [2.5, -50, 20, 0], [60, 250, 310, 40]]
PYC_FLAG_UNCHECKED_HASH = 0b01  # PEP 552: bit 0 = hash-based, bit 1 = check_source (unset)

# Runs in the isolated interpreter (-I: no env vars/user site; -S: no site-packages at all; -W error: any
# warning, e.g. a numpy deprecation the shim papered over badly, fails the probe).
PROBE = r"""
import json, sys
layer, function_dir, model_dir, version = sys.argv[1:5]
# The executor's merged-layer layout: python/ and python/lib/python3.X/site-packages/ (never /opt).
sys.path[:0] = [function_dir, layer + "/python", layer + f"/python/lib/python{version}/site-packages"]
rows = json.loads(sys.argv[5])
import mxnet as mx, numpy, requests, mxnet_numpy_compat
module = mx.mod.Module.load(model_dir + "/mx-mod", 0, label_names=None)
module.bind(data_shapes=[("data", (len(rows), len(rows[0])))], for_training=False)
raw = module.predict(mx.io.NDArrayIter(numpy.array(rows, dtype="float32"), batch_size=len(rows)))
from wildrydes_lambda.serving.engine import load_engine
engine = load_engine("mxnet", __import__("pathlib").Path(model_dir))
print(json.dumps({"files": {m.__name__: m.__file__ for m in (mx, numpy, requests, mxnet_numpy_compat)},
                  "version": mx.__version__, "numpy": numpy.__version__, "python": "%d.%d" % sys.version_info[:2],
                  "restored": list(mxnet_numpy_compat.RESTORED_NUMPY_NAMES),
                  "distutils": mxnet_numpy_compat.PROVIDED_DISTUTILS,
                  "raw": raw.asnumpy().ravel().tolist(), "engine": engine.score(rows),
                  "engine_single": engine.score(rows[:1])}))
"""


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.fail(f"{path} not built: run `make package` (or `make layer`) first")
    return path


def _target_python() -> str:
    return build_layer.target_python()  # this interpreter when it is 3.13, else find_python("3.13")


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


def _probe(layer_dir: Path, function_dir: Path, model_dir: Path, rows, cwd: Path) -> dict:
    result = subprocess.run(
        [
            _target_python(),
            "-I",
            "-S",
            "-W",
            "error",
            "-c",
            PROBE,
            str(layer_dir),
            str(function_dir),
            str(model_dir),
            TARGET_PYTHON,
            json.dumps(rows),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["version"] == "1.9.1" and probe["python"] == TARGET_PYTHON
    for name, file in probe["files"].items():
        assert Path(file).is_relative_to(layer_dir / "python"), f"{name} came from {file}, not the layer"
    return probe


def test_layer_imports_mxnet_in_isolation_with_warnings_as_errors_and_scores_like_the_local_model(
    layer_dir, function_dir, tmp_path
):
    tar = tmp_path / "model.tar.gz"
    ll.write_artifact(MODEL, tar)
    model_dir = ll.extract_artifact(tar, tmp_path / "model")
    probe = _probe(layer_dir, function_dir, model_dir, ROWS, tmp_path)
    expected = MODEL.as_float32().score(ROWS)
    assert probe["raw"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert probe["engine"] == pytest.approx(expected, abs=SCORE_ATOL)
    assert probe["engine_single"] == pytest.approx(expected[:1], abs=SCORE_ATOL)
    # numpy 2.4 + Python 3.13: the shim had work to do (on another pin the list changes; docs/runtime.md).
    assert probe["numpy"].startswith("2.4.") and probe["distutils"] is True
    assert {"PZERO", "NINF", "NaN", "alltrue", "in1d", "trapz", "mirr"} <= set(probe["restored"])


def test_layer_scores_the_real_sagemaker_fixture_like_the_reference_within_1e6(
    layer_dir, function_dir, tmp_path
):
    model_dir = ll.extract_artifact(SAGEMAKER_FIXTURE, tmp_path / "sagemaker")
    reference = ll.load_model_dir(model_dir)
    dim = reference.feature_dim
    rows = [[0.0] * dim for _ in range(4)]
    for number, row in enumerate(rows):  # a few float32-exact non-zeros keep the scores off 0 and 1
        for index in range(number, dim, 997):
            row[index] = 0.125 * (1 if index % 2 else -1)
    probe = _probe(layer_dir, function_dir, model_dir, rows, tmp_path)
    expected = reference.score(rows)
    max_difference = max(abs(a - b) for a, b in zip(probe["engine"], expected, strict=True))
    print(f"max |mxnet layer - reference| on the SageMaker fixture: {max_difference:.3g}")
    assert max_difference <= SCORE_ATOL
    assert probe["raw"] == pytest.approx(expected, abs=SCORE_ATOL)


def test_every_needed_shared_library_is_in_the_layer_or_on_the_base_image(layer_dir):
    assert build_layer.missing_libraries(layer_dir) == {}
    # The two GCC runtime libraries AL2023's base image lacks are shipped in lib/ (/opt/lib on LD_LIBRARY_PATH)
    # and really are asked for by mxnet's libraries.
    for soname in ("libgomp.so.1", "libquadmath.so.0"):
        assert (layer_dir / "lib" / soname).is_file() and soname not in build_layer.BASE_IMAGE_LIBS
    needed = {
        name
        for so in (layer_dir / "python" / "mxnet").glob("*.so*")
        for name in build_layer.needed_libraries(so)
    }
    assert {"libgomp.so.1", "libquadmath.so.0"} <= needed
    # and the check does catch a library that is neither shipped nor on the list
    assert build_layer.missing_libraries(
        layer_dir, base_libs=build_layer.BASE_IMAGE_LIBS - {"libstdc++.so.6"}
    )


def test_layer_bytecode_is_hash_based_for_the_target_python_and_matches_the_sources():
    tag = f"cpython-{TARGET_PYTHON.replace('.', '')}"
    with zipfile.ZipFile(_require(LAYER_ZIP)) as zf:
        names = set(zf.namelist())
        sources = [n for n in names if n.startswith("python/") and n.endswith(".py")]
        assert len(sources) > 500
        for source in sources:
            folder, _, stem = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{stem[:-3]}.{tag}.pyc"
            assert pyc in names, f"{source} has no {tag} bytecode"
        for source in (
            "python/mxnet/__init__.py",
            "python/mxnet_numpy_compat.py",
            "python/numpy/__init__.py",
        ):
            folder, _, stem = source.rpartition("/")
            header = zf.read(f"{folder}/__pycache__/{stem[:-3]}.{tag}.pyc")[:16]
            assert int.from_bytes(header[4:8], "little") == PYC_FLAG_UNCHECKED_HASH
            assert header[8:16] == importlib.util.source_hash(zf.read(source))
        assert zf.read("python/mxnet/__init__.py").decode().startswith(build_layer.SHIM_IMPORT_LINE)


def test_layer_zip_is_trimmed_shaped_and_within_the_lambda_limit():
    with zipfile.ZipFile(_require(LAYER_ZIP)) as zf:
        infos = zf.infolist()
    with zipfile.ZipFile(_require(FUNCTION_ZIP)) as zf:
        function_bytes = sum(i.file_size for i in zf.infolist())
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {ZIP_EPOCH}
    assert all(name.startswith(("python/", "lib/")) for name in names)
    assert "python/mxnet/libmxnet.so" in names and "python/numpy/__init__.py" in names
    assert not [n for n in names if n.endswith((".h", ".a")) or "/include/" in n]
    assert not [n for n in names if "/tests/" in n or n.startswith("python/numpy/f2py/")]
    total = sum(i.file_size for i in infos) + function_bytes
    print(
        f"layer + inference function unzipped: {total / 2**20:.1f} MiB, margin "
        f"{(LAMBDA_UNZIPPED_LIMIT_BYTES - total) / 2**20:.1f} MiB"
    )
    assert total < LAMBDA_UNZIPPED_LIMIT_BYTES


def test_layer_build_is_reproducible(tmp_path):
    """A fresh build (cached wheels) gives the same bytes as the one `make layer` wrote."""
    built = _require(LAYER_ZIP)
    again = tmp_path / "mxnet-layer.zip"
    build_layer.build_layer(again, REPO_ROOT / "build" / "cache", tmp_path / "staging")

    def digest(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(again) == digest(built)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF only")
def test_needed_libraries_reads_the_dynamic_section_like_readelf():
    import _ctypes  # a stdlib extension module that links libc (and libffi)

    assert "libc.so.6" in build_layer.needed_libraries(Path(_ctypes.__file__))
