"""Cold start of the inference function on python3.13, per engine, with vs without precompiled bytecode.

Each measurement is a fresh ``python3.13 -I -S -B`` (no site-packages, nothing written: Lambda's code and
layers are read-only) whose ``sys.path`` is laid out like Lambda's: the unzipped ``build/inference.zip``,
then (engine ``mxnet`` only, as Terraform attaches the layer only then) the unzipped ``build/mxnet-layer.zip``,
then the runtime's boto3 (``build/lambda-runtime-py313``). Three phases are timed in-process:
``import`` (the handler module: boto3, Powertools, our package), ``load`` (the first ``MODEL_CACHE.get()``:
read + extract the artifact, and for mxnet ``import mxnet`` + ``Module.load`` + ``bind``) and
``first_request`` (the first ``lambda_handler`` call after that). S3 is a local-file stand-in.

Variants: ``pyc`` = the zips as built (the layer carries unchecked-hash ``.pyc``; the function zip carries
none); ``no_pyc`` = every ``__pycache__`` removed, so each import compiles from source (the layer as it was
before); ``pyc_function_too`` = ``pyc`` plus the function code compiled the same way (what build_zip could
ship next). Median of ``REPEATS`` runs each.

    .venv/bin/python bench/cold_start.py [--out build/bench/cold_start.json] [--repeats 3]
Library: ``bench_cold_start(repeats) -> dict`` (results.json keys ``cold_start_ms``, ``layer_unzipped_mb``, ...).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from wildrydes_dev import build_layer
from wildrydes_dev.build_zip import TARGET_PYTHON, TARGET_RUNTIME
from wildrydes_lambda.model_format import linear_learner as ll

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
LAYER_ZIP = BUILD / "mxnet-layer.zip"
FUNCTION_ZIP = BUILD / "inference.zip"
RUNTIME_VENV = BUILD / f"lambda-runtime-py{TARGET_PYTHON.replace('.', '')}"
ENGINES = ("numpy", "mxnet")
# variant -> (keep the layer's .pyc, compile the function code too)
VARIANTS = {"pyc": (True, False), "no_pyc": (False, False), "pyc_function_too": (True, True)}
REPORTED_VARIANTS = ("pyc", "no_pyc")  # results["cold_start_ms"][engine]
REPEATS = 5
MIB = 1024 * 1024
MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
METADATA = {"model_version": "bench", "features": ["distance", "TMIN", "TMAX", "PRCP"], "threshold": 0.5}

WORKER = r"""
import hashlib, json, os, sys, time
t_start = time.perf_counter()
paths, model_tar, metadata_path, engine = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sys.path[:0] = paths
os.environ.update({"MODEL_S3_BUCKET": "bench", "MODEL_POINTER_KEY": "m/serving.json", "MODEL_VERSIONS_PREFIX": "m/v/",
                   "INFERENCE_ENGINE": engine, "MODEL_RECHECK_SECONDS": "60", "POWERTOOLS_SERVICE_NAME": "cold",
                   "LOG_LEVEL": "WARNING", "AWS_DEFAULT_REGION": "us-east-1"})
import handler
t_import = time.perf_counter()

class LocalS3:
    files = {"m/v/bench/model.tar.gz": model_tar, "m/v/bench/metadata.json": metadata_path}
    def _etag(self, key):
        return '"' + hashlib.md5(open(self.files[key], "rb").read()).hexdigest() + '"'
    def head_object(self, Bucket, Key):
        return {"ETag": self._etag(Key)}
    def get_object(self, Bucket, Key):
        if Key == "m/serving.json":  # the pointer names the version "bench" (METADATA's model_version)
            import io
            return {"ETag": '"pointer"', "Body": io.BytesIO(b'{"model_version": "bench"}')}
        return {"ETag": self._etag(Key), "Body": open(self.files[Key], "rb")}

handler.MODEL_CACHE._s3 = LocalS3()
handler.MODEL_CACHE.get()
t_load = time.perf_counter()
context = type("C", (), {"function_name": "inference", "memory_limit_in_mb": 1024, "aws_request_id": "cold",
                         "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:inference"})()
event = {"httpMethod": "POST", "headers": {"Content-Type": "application/json"}, "isBase64Encoded": False,
         "body": '{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'}
response = handler.lambda_handler(event, context)
t_first = time.perf_counter()
assert response["statusCode"] == 200, response
engine_obj = handler.MODEL_CACHE.current.engine
print(json.dumps({"import": (t_import - t_start) * 1000, "load": (t_load - t_import) * 1000,
                  "first_request": (t_first - t_load) * 1000, "total": (t_first - t_start) * 1000,
                  "backend": getattr(engine_obj, "backend", engine_obj.name),
                  "score": json.loads(response["body"])["predictions"][0]["score"]}))
"""


def _unzip(zip_path: Path, target: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(target)
    for so in target.rglob("*.so*"):  # zipfile drops modes; Lambda keeps them
        so.chmod(0o755)
    return target


def _drop_bytecode(root: Path) -> None:
    for cache in list(root.rglob("__pycache__")):
        shutil.rmtree(cache)


def _runtime_site_packages() -> Path:
    found = sorted(RUNTIME_VENV.glob(f"lib/python{TARGET_PYTHON}/site-packages"))
    if not found:
        raise SystemExit(f"cold_start: {RUNTIME_VENV} missing: run `make lambda-runtime`")
    return found[0]


def _run(python: str, paths: list[str], model_tar: Path, metadata: Path, engine: str, cwd: Path) -> dict:
    proc = subprocess.run(
        [python, "-I", "-S", "-B", "-c", WORKER, json.dumps(paths), str(model_tar), str(metadata), engine],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{engine}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_cold_start(repeats: int = REPEATS) -> dict:
    """Cold-start phases per engine and variant, plus the layer's sizes and the margin to the 250 MB limit."""
    for path in (LAYER_ZIP, FUNCTION_ZIP):
        if not path.is_file():
            raise SystemExit(f"cold_start: {path} missing: run `make package`")
    python = build_layer.target_python()
    runtime_site = _runtime_site_packages()
    method = __doc__.split("\n\n")[1].replace("\n", " ")
    results: dict = {"runtime": TARGET_RUNTIME, "repeats": repeats, "method": method}
    detail: dict = {}
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp_name:
        tmp = Path(tmp_name)
        tar, metadata = tmp / "model.tar.gz", tmp / "metadata.json"
        ll.write_artifact(MODEL, tar)
        metadata.write_text(json.dumps(METADATA))
        trees = {}
        for variant, (layer_pyc, function_pyc) in VARIANTS.items():
            function_dir = _unzip(FUNCTION_ZIP, tmp / variant / "function")
            layer_dir = _unzip(LAYER_ZIP, tmp / variant / "layer")
            if not layer_pyc:
                _drop_bytecode(layer_dir)
            if function_pyc:
                build_layer.compile_bytecode(function_dir, python)
            trees[variant] = (function_dir, layer_dir)
        runs: dict[tuple[str, str], list[dict]] = {(e, v): [] for e in ENGINES for v in VARIANTS}
        for _ in range(repeats):  # interleaved, so a busy moment on a shared machine hits every variant alike
            for (engine, variant), samples in runs.items():
                function_dir, layer_dir = trees[variant]
                paths = [str(function_dir)]
                if engine == "mxnet":
                    site = layer_dir / "python" / "lib" / f"python{TARGET_PYTHON}" / "site-packages"
                    paths += [str(layer_dir / "python"), str(site)]
                paths.append(str(runtime_site))
                samples.append(_run(python, paths, tar, metadata, engine, tmp))
        for (engine, variant), samples in runs.items():
            detail.setdefault(engine, {})[variant] = {
                phase: round(statistics.median(r[phase] for r in samples), 1)
                for phase in ("import", "load", "first_request", "total")
            } | {"backend": samples[0]["backend"], "score": samples[0]["score"]}
    results["cold_start_ms"] = {e: {v: detail[e][v]["total"] for v in REPORTED_VARIANTS} for e in ENGINES}
    results["cold_start_phases_ms"] = detail
    results["pyc_saves_ms"] = {
        e: round(detail[e]["no_pyc"]["total"] - detail[e]["pyc"]["total"], 1) for e in ENGINES
    }
    layer_unzipped = build_layer.unzipped_size(LAYER_ZIP)
    function_unzipped = build_layer.unzipped_size(FUNCTION_ZIP)
    results["layer_unzipped_mb"] = round(layer_unzipped / MIB, 1)
    results["layer_zipped_mb"] = round(LAYER_ZIP.stat().st_size / MIB, 1)
    results["inference_function_unzipped_mb"] = round(function_unzipped / MIB, 1)
    results["unzipped_limit_margin_mb"] = round(
        (build_layer.LAMBDA_UNZIPPED_LIMIT_BYTES - layer_unzipped - function_unzipped) / MIB, 1
    )
    return results


def table(results: dict) -> str:
    lines = [
        "| engine | variant | import ms | load ms | first request ms | total ms | backend |",
        "|---|---|---|---|---|---|---|",
    ]
    for engine, variants in results["cold_start_phases_ms"].items():
        for variant, r in variants.items():
            lines.append(
                f"| {engine} | {variant} | {r['import']} | {r['load']} | {r['first_request']} | {r['total']} "
                f"| {r['backend']} |"
            )
    lines.append(
        f"\nlayer {results['layer_zipped_mb']} MiB zipped / {results['layer_unzipped_mb']} MiB unzipped; "
        f"+ function {results['inference_function_unzipped_mb']} MiB; margin to 250 MiB: "
        f"{results['unzipped_limit_margin_mb']} MiB"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    results = bench_cold_start(args.repeats)
    print(table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
