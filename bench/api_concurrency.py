#!/usr/bin/env python3
"""The inference API on LocalStack under 1, 2, 4, 8 concurrent clients: p50/p99/throughput per engine.

Deploys the inference function the way ``modules/inference_api`` does (``build/inference.zip``, 512 MB, the
MXNet layer for ``mxnet``, the same environment) behind a REST API (POST /, API key required, AWS_PROXY,
usage plan) with boto3 — no Terraform, so it runs in about a minute on its own:

    .venv/bin/python -m bench.api_concurrency                  # own LocalStack on a free port, both engines
    .venv/bin/python -m bench.api_concurrency --engines numpy --requests 200
    .venv/bin/python -m bench.api_concurrency --port 4566      # a running LocalStack (make localstack-up)

Warm-up: ``WARMUP_ROUNDS`` rounds at the highest concurrency level first, so every level after it finds as
many warm environments as it has clients (a cold start is measured by bench/inference_bench.py and
bench/cold_start.py, not here). Each level then sends ``--requests`` requests from that many client threads,
each on its own persistent HTTP/1.1 connection as an API client keeps one (``--new-connections``: a new TCP
connection per request, the client this bench had first).

Also reported per level: the CPU time LocalStack's own process, the workers and this client spent per request
(``/proc/<pid>/stat``, ``time.process_time``), which shows where a 2-core machine's throughput goes, and per
engine the most 4 clients could give over 1 with that CPU per request (``goal.speedup_ceiling_4_over_1``) and
LocalStack's ``IN_MEMORY_CLIENT`` (``IN_MEMORY_CLIENT=0 python -m bench.api_concurrency`` measures without it).

Results: ``build/bench/api_concurrency.json`` and, merged, the ``api_concurrency`` key of
``build/bench/results.json``: ``{engine: {"1": {"p50_ms", "p99_ms", "requests_per_s", ...}, ...}}``.
``bench/run.py`` calls :func:`bench_api_concurrency` on the bench's own LocalStack.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
BENCH_DIR = BUILD / "bench"
RESULTS = BENCH_DIR / "results.json"
OUT = BENCH_DIR / "api_concurrency.json"
FUNCTION_ZIP = BUILD / "inference.zip"
LAYER_ZIP = BUILD / "mxnet-layer.zip"

ENGINES = ("numpy", "mxnet")
LEVELS = (1, 2, 4, 8)
REQUESTS_PER_LEVEL = 200
QUICK_REQUESTS_PER_LEVEL = 60
WARMUP_ROUNDS = 3
HTTP_TIMEOUT_S = 60
# The warm-up's first round starts a worker per client: on a loaded 2-core machine, 8 cold starts at once, each
# at its 512 MB CPU share (cgroup), can take longer than a request may; the warm-up is not measured.
WARMUP_TIMEOUT_S = 300
STAGE = "v1"
MEMORY_MB = 512  # modules/inference_api default
TIMEOUT_S = 30
BODY = b'{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'
FEATURES = ["distance", "TMIN", "TMAX", "PRCP"]
MODEL_VERSION = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
HTTP_PORT = 80
# LocalStack settings recorded with each engine's sweep (read from its process environment).
REPORTED_SETTINGS = ("IN_MEMORY_CLIENT", "WILDRYDES_EXECUTOR_LIMITS")
# Goal of issue 16 for the numpy engine: throughput at 4 clients >= 3x at 1, p99 at 4 <= 200 ms.
GOAL_SPEEDUP_AT_4 = 3.0
GOAL_P99_AT_4_MS = 200.0
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def log(msg: str) -> None:
    print(f"[api-concurrency {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------- CPU accounting
def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---------------------------------------------------------------------------- deployment
class Deployment:
    """One inference function per engine + a REST API in front of each, on one LocalStack."""

    def __init__(self, clients) -> None:
        self.c = clients
        self.bucket = f"bench-api-{int(time.time())}"
        self.role = self._role()
        self.layer_arn: str | None = None

    def _role(self) -> str:
        iam = self.c("iam")
        try:
            return iam.create_role(RoleName="bench-api", AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            return iam.get_role(RoleName="bench-api")["Role"]["Arn"]

    def publish_model(self) -> None:
        """One model version and the serving pointer naming it, as ``wildrydes train --publish`` writes them."""
        from wildrydes_lambda.contracts import layout, model_pointer
        from wildrydes_lambda.model_format import linear_learner as ll

        s3 = self.c("s3")
        s3.create_bucket(Bucket=self.bucket)
        model = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
        with tempfile.TemporaryDirectory() as tmp:
            tar = Path(tmp) / "model.tar.gz"
            ll.write_artifact(model, tar)
            s3.upload_file(str(tar), self.bucket, layout.model_artifact_key(MODEL_VERSION))
        metadata = {"model_version": MODEL_VERSION, "features": FEATURES, "threshold": 0.5}
        s3.put_object(
            Bucket=self.bucket,
            Key=layout.model_metadata_key(MODEL_VERSION),
            Body=json.dumps(metadata).encode(),
        )
        s3.put_object(
            Bucket=self.bucket,
            Key=layout.MODEL_POINTER_KEY,
            Body=model_pointer.encode({model_pointer.VERSION_FIELD: MODEL_VERSION}),
        )

    def layer(self) -> str:
        if self.layer_arn is None:
            if not LAYER_ZIP.exists():
                raise SystemExit(f"{LAYER_ZIP} is missing: run `make package`")
            key = "artifacts/mxnet-layer.zip"
            self.c("s3").upload_file(str(LAYER_ZIP), self.bucket, key)
            self.layer_arn = self.c("lambda").publish_layer_version(
                LayerName="bench-mxnet",
                Content={"S3Bucket": self.bucket, "S3Key": key},
                CompatibleRuntimes=["python3.13"],
            )["LayerVersionArn"]
        return self.layer_arn

    def function(self, engine: str) -> str:
        lam = self.c("lambda")
        name = f"bench-inference-{engine}"
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName=name)
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=self.role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": FUNCTION_ZIP.read_bytes()},
            MemorySize=MEMORY_MB,
            Timeout=TIMEOUT_S,
            Layers=[self.layer()] if engine == "mxnet" else [],
            Environment={
                "Variables": {
                    "MODEL_S3_BUCKET": self.bucket,
                    "INFERENCE_ENGINE": engine,
                    "MODEL_RECHECK_SECONDS": "60",
                    "MAX_BATCH": "100",
                    "MAX_BODY_BYTES": "65536",
                    "POWERTOOLS_SERVICE_NAME": name,
                    "LOG_LEVEL": "INFO",
                }
            },
        )["FunctionArn"]
        lam.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 120}
        )
        return arn

    def api(self, engine: str, function_arn: str, endpoint_url: str) -> tuple[str, str]:
        """POST / with an API key, AWS_PROXY to the function, a stage, a usage plan (as the module)."""
        apigw = self.c("apigateway")
        region = apigw.meta.region_name
        api_id = apigw.create_rest_api(name=f"bench-{engine}", endpointConfiguration={"types": ["REGIONAL"]})[
            "id"
        ]
        root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        apigw.put_method(
            restApiId=api_id,
            resourceId=root,
            httpMethod="POST",
            authorizationType="NONE",
            apiKeyRequired=True,
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=root,
            httpMethod="POST",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        )
        self.c("lambda").add_permission(
            FunctionName=function_arn,
            StatementId="apigw",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
        )
        apigw.create_deployment(restApiId=api_id, stageName=STAGE)
        key = apigw.create_api_key(name=f"bench-{engine}", enabled=True)
        plan = apigw.create_usage_plan(
            name=f"bench-{engine}",
            apiStages=[{"apiId": api_id, "stage": STAGE}],
            throttle={"rateLimit": 10000, "burstLimit": 5000},
        )
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        return f"{endpoint_url}/_aws/execute-api/{api_id}/{STAGE}/", key["value"]


# ---------------------------------------------------------------------------- load
def one_request(url: str, key: str, timeout_s: float = HTTP_TIMEOUT_S) -> tuple[float, int]:
    """One request on a new connection (urllib closes it): the bench's client before keep-alive."""
    request = urllib.request.Request(
        url, data=BODY, method="POST", headers={"Content-Type": "application/json", "x-api-key": key}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return (time.perf_counter() - started) * 1000, status


class KeepAliveClients:
    """One persistent HTTP/1.1 connection per client thread, as an API client (requests.Session, an SDK)
    keeps it: the sweep measures requests, not a TCP connection + LocalStack's TLS sniffing per request.
    A connection the server closed is reopened once and the request sent again."""

    def __init__(self, url: str, key: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "", parts.port or HTTP_PORT, parts.path or "/"
        self.headers = {"Content-Type": "application/json", "x-api-key": key}
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None or fresh:
            if connection is not None:
                connection.close()
            connection = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT_S)
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def request(self) -> tuple[float, int]:
        started = time.perf_counter()
        for attempt in (1, 2):
            connection = self._connection(fresh=attempt == 2)
            try:
                connection.request("POST", self.path, body=BODY, headers=self.headers)
                response = connection.getresponse()
                response.read()
                return (time.perf_counter() - started) * 1000, response.status
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                if attempt == 2:
                    raise
                started = time.perf_counter()  # the retry's own time: the first attempt never reached it
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()


def requester(url: str, key: str, keep_alive: bool):
    """(send one request -> (ms, status), close) for one level's clients."""
    if not keep_alive:
        return (lambda: one_request(url, key)), (lambda: None)
    clients = KeepAliveClients(url, key)
    return clients.request, clients.close


def run_level(
    url: str,
    key: str,
    level: int,
    requests: int,
    localstack_pid: int | None,
    worker_pids,
    keep_alive: bool = True,
) -> dict:
    send, close = requester(url, key, keep_alive)
    try:
        with concurrent.futures.ThreadPoolExecutor(level) as pool:  # the same client threads throughout
            list(pool.map(lambda _: send(), range(level)))  # connect (keep-alive) before the clock starts
            ls_cpu0 = cpu_seconds(localstack_pid) if localstack_pid else 0.0
            workers0 = {pid: cpu_seconds(pid) for pid in worker_pids()}
            client_cpu0 = time.process_time()
            started = time.perf_counter()
            results = list(pool.map(lambda _: send(), range(requests)))
            wall = time.perf_counter() - started
            client_cpu = time.process_time() - client_cpu0
            workers1 = {pid: cpu_seconds(pid) for pid in worker_pids()}
    finally:
        close()
    # A worker started during the level counts from 0 (all its CPU time is new); one that ended is lost.
    workers_cpu = sum(cpu - workers0.get(pid, 0.0) for pid, cpu in workers1.items())
    ms = [r[0] for r in results]
    out = {
        "requests": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "mean_ms": round(sum(ms) / len(ms), 1),
        "max_ms": round(max(ms), 1),
        "requests_per_s": round(len(ms) / wall, 1),
        "non_200": sum(1 for r in results if r[1] != 200),
        "workers": len(workers1),
        "new_workers": len(set(workers1) - set(workers0)),
        "workers_cpu_ms_per_request": round(workers_cpu * 1000 / len(ms), 2),
        # the bench's own client threads run on the same cores
        "client_cpu_ms_per_request": round(client_cpu * 1000 / len(ms), 2),
        "keep_alive": keep_alive,
    }
    out["load_average_1m"] = round(os.getloadavg()[0], 1)  # other work on the machine competes for its cores
    if localstack_pid:
        ls_cpu = cpu_seconds(localstack_pid) - ls_cpu0
        out["localstack_cpu_ms_per_request"] = round(ls_cpu * 1000 / len(ms), 2)
        # LocalStack serves every request in one Python process (one GIL): at most one core, so 1000 / its CPU
        # ms per request bounds the throughput whatever the concurrency or the number of cores.
        out["localstack_bound_requests_per_s"] = round(len(ms) / ls_cpu, 1) if ls_cpu else None
        out["localstack_cores_used"] = round(ls_cpu / wall, 2)
        # Everything one request costs on this machine's cores (LocalStack + worker + the client itself):
        # CORES * 1000 / it bounds the throughput when every core is busy.
        total = ls_cpu + workers_cpu + client_cpu
        out["machine_bound_requests_per_s"] = round(CORES * len(ms) / total, 1) if total else None
    return out


def sweep(
    url: str,
    key: str,
    requests: int,
    localstack_pid: int | None,
    worker_pids,
    levels: tuple[int, ...] = LEVELS,
    warmup_clients: int | None = None,
    keep_alive: bool = True,
) -> dict:
    clients = warmup_clients or max(
        levels
    )  # default: as many warm environments as the highest level has clients
    for _ in range(WARMUP_ROUNDS):
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            statuses = [
                s for _, s in pool.map(lambda _: one_request(url, key, WARMUP_TIMEOUT_S), range(clients))
            ]
        if any(s != 200 for s in statuses):
            raise SystemExit(f"warm-up got {statuses} from {url}")
    result = {}
    for level in levels:
        result[str(level)] = run_level(url, key, level, requests, localstack_pid, worker_pids, keep_alive)
        r = result[str(level)]
        log(
            f"  concurrency {level}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
            f"{r['requests_per_s']} req/s, "
            f"CPU ms/request LocalStack {r.get('localstack_cpu_ms_per_request', '?')} "
            f"workers {r['workers_cpu_ms_per_request']} client {r['client_cpu_ms_per_request']}, "
            f"{r['workers']} workers ({r['new_workers']} new), {r['non_200']} non-200, "
            f"load {r['load_average_1m']}"
        )
    return result


def goal(result: dict) -> dict:
    """Issue 16's goal for one engine: throughput at 4 >= 3x at 1, p99 at 4 <= 200 ms; and the most any
    concurrency could give over 1 client with the CPU each request costs (the bounds of run_level at 4
    clients over the throughput measured at 1)."""
    one, four = result.get("1"), result.get("4")
    if not one or not four:
        return {}
    speedup = four["requests_per_s"] / one["requests_per_s"] if one["requests_per_s"] else 0.0
    out = {
        "speedup_4_over_1": round(speedup, 2),
        "speedup_met": speedup >= GOAL_SPEEDUP_AT_4,
        "p99_at_4_met": four["p99_ms"] <= GOAL_P99_AT_4_MS,
    }
    bounds = [four.get("localstack_bound_requests_per_s"), four.get("machine_bound_requests_per_s")]
    bounds = [b for b in bounds if b]
    if bounds and one["requests_per_s"]:
        out["speedup_ceiling_4_over_1"] = round(min(bounds) / one["requests_per_s"], 2)
    return out


# ---------------------------------------------------------------------------- entry points
def bench_api_concurrency(
    instance,
    engines=ENGINES,
    requests: int = REQUESTS_PER_LEVEL,
    levels: tuple[int, ...] = LEVELS,
    warmup_clients: int | None = None,
    keep_alive: bool = True,
) -> dict:
    """Deploy per engine on a running LocalStack ``instance`` (wildrydes_dev.emulators.Instance) and sweep."""
    deployment = Deployment(instance.client)
    deployment.publish_model()
    pid_file = instance.localstack_pid_file
    localstack_pid = int(pid_file.read_text()) if pid_file.exists() else None
    settings = localstack_settings(localstack_pid) if localstack_pid else {}
    out: dict = {}
    for engine in engines:
        arn = deployment.function(engine)
        url, key = deployment.api(engine, arn, instance.endpoint_url)
        log(f"{engine}: {url} ({'keep-alive' if keep_alive else 'a new connection per request'}, {settings})")
        out[engine] = sweep(
            url, key, requests, localstack_pid, instance.worker_pids, levels, warmup_clients, keep_alive
        )
        out[engine]["goal"] = goal(out[engine])
        out[engine]["localstack_settings"] = settings
        instance.client("lambda").delete_function(FunctionName=arn)  # its workers stop with it
    return out


def localstack_settings(pid: int) -> dict:
    """The settings of REPORTED_SETTINGS the LocalStack process runs with (its /proc environment)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    env = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
    return {name: env.get(name, "") for name in REPORTED_SETTINGS}


def merge_into_results(result: dict, path: Path = RESULTS) -> None:
    """Put the sweep under ``api_concurrency`` of results.json, keeping every other section."""
    results = json.loads(path.read_text()) if path.exists() else {}
    results["api_concurrency"] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))


def table(result: dict) -> str:
    lines = [
        "| engine | clients | p50 ms | p99 ms | requests/s | × 1 client | CPU ms/request LocalStack | "
        "workers | client | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, levels in result.items():
        one = levels.get("1", {}).get("requests_per_s")
        for level, r in levels.items():
            if level.isdigit():
                ratio = f"{r['requests_per_s'] / one:.2f}" if one else ""
                lines.append(
                    f"| {engine} | {level} | {r['p50_ms']} | {r['p99_ms']} | {r['requests_per_s']} | {ratio} | "
                    f"{r.get('localstack_cpu_ms_per_request', '')} | {r['workers_cpu_ms_per_request']} | "
                    f"{r['client_cpu_ms_per_request']} | {r['load_average_1m']} |"
                )
    for engine, levels in result.items():
        goal_ = levels.get("goal") or {}
        if goal_:
            lines.append(
                f"{engine}: 4 clients / 1 client = {goal_['speedup_4_over_1']}x (goal 3x), ceiling from the "
                f"CPU per request at 4 clients {goal_.get('speedup_ceiling_4_over_1', '?')}x; p99 at 4 "
                f"{'<=' if goal_['p99_at_4_met'] else '>'} 200 ms"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from wildrydes_dev import emulators

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument(
        "--requests",
        type=int,
        help=f"requests per level (default {REQUESTS_PER_LEVEL}; --quick {QUICK_REQUESTS_PER_LEVEL})",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument(
        "--warmup-clients",
        type=int,
        help="clients of the warm-up rounds (default: the highest level; 1 = the old bench's warm-up)",
    )
    parser.add_argument(
        "--new-connections",
        action="store_true",
        help="open a new connection per request (the bench's client before keep-alive)",
    )
    parser.add_argument("--port", type=int, help="use the LocalStack already running on this port")
    parser.add_argument(
        "--no-results", action="store_true", help="do not merge into build/bench/results.json"
    )
    args = parser.parse_args(argv)
    requests = args.requests or (QUICK_REQUESTS_PER_LEVEL if args.quick else REQUESTS_PER_LEVEL)

    if args.port:
        instance, started = emulators.Instance(args.port, args.port + 1), False
    else:
        port, moto_port = emulators.free_port_pair()
        log(f"starting LocalStack on {port}")
        instance, started = emulators.start(port, moto_port, with_moto=False), True
    try:
        result = bench_api_concurrency(
            instance,
            args.engines,
            requests,
            tuple(args.levels),
            args.warmup_clients,
            keep_alive=not args.new_connections,
        )
    finally:
        if started:
            emulators.stop(instance)
    print(table(result))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_results:
        merge_into_results(result)
    log(
        f"wrote {OUT.relative_to(ROOT)}"
        + ("" if args.no_results else f" and api_concurrency in {RESULTS.name}")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
