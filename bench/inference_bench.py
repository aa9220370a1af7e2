#!/usr/bin/env python3
"""Inference function figures per engine: cold start, warm in-handler latency, memory — side by side.

Each engine runs in its own fresh interpreter (a cold Lambda environment): the timer covers importing
``lambda_src/inference/handler.py`` (boto3, Powertools, our library) and the first request (model fetch,
extraction, MXNet load + bind). The S3 client is swapped for a local-file stand-in so the figures are the
function's own work, not the network's. Then N warm requests through ``lambda_handler`` give p50/p99, a
batch of ``MAX_BATCH`` rows gives the batch latency, and /proc gives RSS (current and peak).

    .venv/bin/python bench/inference_bench.py --out build/bench/inference.json [--quick]
    .venv/bin/python bench/inference_bench.py --api-url URL --api-key KEY   # adds an HTTP round trip

The MXNet engine runs against the same packages the layer carries (venv pins = layer pins).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLER_PATH = ROOT / "lambda_src" / "inference" / "handler.py"
ENGINES = ("numpy", "mxnet")
WARM_REQUESTS = 1000
QUICK_WARM_REQUESTS = 200
BATCH_SIZE = 100
BATCH_REPEATS = 50
WORKSHOP_BODY = '{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'
BENCH_BUCKET = "bench-bucket"
POINTER_KEY = "models/linear-learner/serving.json"
VERSIONS_PREFIX = "models/linear-learner/versions/"
MODEL_KEY = f"{VERSIONS_PREFIX}bench/model.tar.gz"  # version "bench" = METADATA's model_version
METADATA_KEY = f"{VERSIONS_PREFIX}bench/metadata.json"
METADATA = {
    "model_version": "bench",
    "features": ["distance", "TMIN", "TMAX", "PRCP"],
    "threshold": 0.5,
    "units": {
        "distance": "miles",
        "TMIN": "tenths of degC",
        "TMAX": "tenths of degC",
        "PRCP": "tenths of mm",
    },
}
KIB_PER_MIB = 1024


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _proc_status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / KIB_PER_MIB
    return float("nan")


class LocalS3:
    """head_object/get_object over local files: the cache's only S3 calls."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def _etag(self, key: str) -> str:
        return '"' + hashlib.md5(self.files[key].read_bytes()).hexdigest() + '"'

    def head_object(self, Bucket: str, Key: str) -> dict:
        return {"ETag": self._etag(Key)}

    def get_object(self, Bucket: str, Key: str) -> dict:
        if Key == POINTER_KEY:
            return {"ETag": '"pointer"', "Body": io.BytesIO(json.dumps({"model_version": "bench"}).encode())}
        return {"ETag": self._etag(Key), "Body": open(self.files[Key], "rb")}


def worker(engine: str, model_tar: Path, metadata_path: Path, warm_requests: int) -> dict:
    """Runs inside a fresh interpreter: one cold start, then warm requests."""
    os.environ.update(
        {
            "MODEL_S3_BUCKET": BENCH_BUCKET,
            "MODEL_POINTER_KEY": POINTER_KEY,
            "MODEL_VERSIONS_PREFIX": VERSIONS_PREFIX,
            "INFERENCE_ENGINE": engine,
            "MODEL_RECHECK_SECONDS": "60",
            "MAX_BATCH": str(BATCH_SIZE),
            "POWERTOOLS_SERVICE_NAME": "inference-bench",
            "LOG_LEVEL": "INFO",  # as deployed
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
    )
    import importlib.util
    from types import SimpleNamespace

    rss_interpreter = _proc_status_mib("VmRSS")
    context = SimpleNamespace(
        function_name="inference",
        memory_limit_in_mb=1024,
        aws_request_id="bench",
        invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:inference",
    )
    event = {
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": WORKSHOP_BODY,
        "isBase64Encoded": False,
    }

    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("inference_handler", HANDLER_PATH)
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    imported = time.perf_counter()
    handler.MODEL_CACHE._s3 = LocalS3({MODEL_KEY: model_tar, METADATA_KEY: metadata_path})
    first = handler.lambda_handler(event, context)
    cold_done = time.perf_counter()
    if first["statusCode"] != 200:
        raise SystemExit(f"{engine}: first request failed: {first['body']}")
    rss_after_load = _proc_status_mib("VmRSS")

    warm = []
    for _ in range(warm_requests):
        t0 = time.perf_counter()
        response = handler.lambda_handler(event, context)
        warm.append((time.perf_counter() - t0) * 1000)
        assert response["statusCode"] == 200
    batch_event = {
        **event,
        "body": json.dumps({"instances": [{"features": [30, 300, 333, 100]}] * BATCH_SIZE}),
    }
    batch = []
    for _ in range(BATCH_REPEATS):
        t0 = time.perf_counter()
        response = handler.lambda_handler(batch_event, context)
        batch.append((time.perf_counter() - t0) * 1000)
        assert response["statusCode"] == 200
    return {
        "engine": engine,
        "cold_start_ms": round((cold_done - started) * 1000, 1),
        "cold_import_ms": round((imported - started) * 1000, 1),
        "cold_first_request_ms": round((cold_done - imported) * 1000, 1),
        "warm_p50_ms": round(_percentile(warm, 0.50), 3),
        "warm_p99_ms": round(_percentile(warm, 0.99), 3),
        f"batch{BATCH_SIZE}_p50_ms": round(_percentile(batch, 0.50), 3),
        "rss_interpreter_mib": round(rss_interpreter, 1),
        "rss_after_load_mib": round(rss_after_load, 1),
        "rss_peak_mib": round(_proc_status_mib("VmHWM"), 1),
        "score": json.loads(first["body"])["predictions"][0]["score"],
        "warm_requests": warm_requests,
    }


def api_round_trip(url: str, api_key: str, requests: int) -> dict:
    timings = []
    for _ in range(requests):
        request = urllib.request.Request(
            url,
            data=WORKSHOP_BODY.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "x-api-key": api_key},
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        timings.append((time.perf_counter() - t0) * 1000)
    return {
        "requests": requests,
        "p50_ms": round(_percentile(timings, 0.5), 2),
        "p99_ms": round(_percentile(timings, 0.99), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def _write_model(directory: Path) -> tuple[Path, Path]:
    from wildrydes_lambda.model_format import linear_learner as ll

    model = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
    tar, meta = directory / "model.tar.gz", directory / "metadata.json"
    ll.write_artifact(model, tar)
    meta.write_text(json.dumps(METADATA))
    return tar, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the JSON results here too")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_WARM_REQUESTS} warm requests instead of {WARM_REQUESTS}"
    )
    parser.add_argument("--api-url", help="also time HTTP round trips to this invoke URL")
    parser.add_argument("--api-key", default="", help="x-api-key for --api-url")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--metadata", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.metadata, args.requests)))
        return 0

    warm_requests = QUICK_WARM_REQUESTS if args.quick else WARM_REQUESTS
    results: dict = {
        "method": (
            f"fresh interpreter per engine; cold = import handler + first request (model load); "
            f"warm = {warm_requests} workshop requests through lambda_handler; local-file S3"
        )
    }
    with tempfile.TemporaryDirectory() as tmp:
        tar, meta = _write_model(Path(tmp))
        for engine in ENGINES:
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    engine,
                    "--model",
                    str(tar),
                    "--metadata",
                    str(meta),
                    "--requests",
                    str(warm_requests),
                ],
                check=False,
                capture_output=True,
                text=True,
                env={**os.environ, "TMPDIR": tmp},
            )
            if proc.returncode != 0:
                results[engine] = {"error": proc.stderr.strip()[-1500:]}
                continue
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    numpy_r, mxnet_r = results.get("numpy", {}), results.get("mxnet", {})
    if "error" not in numpy_r and "error" not in mxnet_r:
        results["mxnet_over_numpy"] = {
            key: round(mxnet_r[key] / numpy_r[key], 2)
            for key in ("cold_start_ms", "warm_p50_ms", "warm_p99_ms", "rss_after_load_mib")
            if numpy_r[key]
        }
        results["scores_equal_1e-6"] = abs(mxnet_r["score"] - numpy_r["score"]) <= 1e-6
    if args.api_url:
        results["api_round_trip"] = api_round_trip(args.api_url, args.api_key, 20 if args.quick else 100)

    print(_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all("error" not in results.get(e, {}) for e in ENGINES) else 1


def _table(results: dict) -> str:
    keys = [k for k in results.get("mxnet", {}) if k not in ("engine", "warm_requests", "error")]
    lines = ["| measure | numpy | mxnet | mxnet/numpy |", "| --- | ---: | ---: | ---: |"]
    for key in keys:
        ratio = results.get("mxnet_over_numpy", {}).get(key, "")
        lines.append(
            f"| {key} | {results.get('numpy', {}).get(key, '')} | {results['mxnet'][key]} | {ratio} |"
        )
    for engine in ENGINES:
        if "error" in results.get(engine, {}):
            lines.append(f"\n{engine} failed: {results[engine]['error']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
