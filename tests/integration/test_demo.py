"""`make demo` end to end on a fresh LocalStack, and proof that its last line came from the live endpoint.

Unlike the other integration tests this one does not use the shared `localstack` session fixture: the
demo's promise is "from nothing to a live endpoint", so it starts its own emulators on a free port pair
(DEMO_TEST_PORT to pin one), applies the whole root module, runs every stage, and `--down` stops them.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ["-m", "wildrydes_dev.demo"]  # run as the Makefile does
# Enough rides for a meaningful model, few enough to keep the test around two minutes on 2 cores.
TEST_RIDES = 5_000
DEMO_TIMEOUT_S = 1200
# A short ride on a cold, wet January day (GHCN units: tenths of degC and mm), where magic per mile is
# high: it shows a probability worth reading. The workshop's 30-mile payload scores ~1e-11 (long
# rides are light per mile) and is what tests/integration/test_inference_api.py sends.
SAMPLE_PAYLOAD = {"distance": 1.2, "TMAX": 40, "TMIN": -20, "PRCP": 120}
PORT_SEARCH = range(4620, 4700, 2)
CURL_LINE = re.compile(r"curl -s -X POST '(?P<url>[^']+)' .*-H 'x-api-key: (?P<key>[^']+)'")

pytestmark = [pytest.mark.localstack, pytest.mark.slow]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port_pair() -> int:
    import os

    if os.environ.get("DEMO_TEST_PORT"):
        return int(os.environ["DEMO_TEST_PORT"])
    for port in PORT_SEARCH:
        if _port_free(port) and _port_free(port + 1):
            return port
    raise RuntimeError(f"no free port pair in {PORT_SEARCH}")


def _post(url: str, payload: dict, api_key: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["x-api-key"] = api_key
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, (json.loads(body) if body.strip().startswith(b"{") else {"raw": body.decode()})


@pytest.fixture(scope="module")
def demo_run():
    port = _free_port_pair()
    cmd = [sys.executable, *DEMO, "--port", str(port), "--rides", str(TEST_RIDES), "--no-progress-bar"]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, check=False)
        yield port, proc
    finally:
        subprocess.run([sys.executable, *DEMO, "--port", str(port), "--down"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, check=False)


def test_demo_last_line_is_the_live_endpoints_answer(demo_run):
    port, proc = demo_run
    assert proc.returncode == 0, f"demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    lines = proc.stdout.strip().splitlines()
    answer = json.loads(lines[-1])
    assert 0.0 <= answer["predictions"][0]["score"] <= 1.0
    assert answer["predictions"][0]["predicted_label"] in (0, 1)

    # The printed curl command names the live endpoint and key: calling it directly gives the same answer.
    match = next(m for m in map(CURL_LINE.search, lines) if m)
    url, key = match["url"], match["key"]
    assert f":{port}/" in url, "the endpoint must be this demo's LocalStack"
    status, direct = _post(url, SAMPLE_PAYLOAD, key)
    assert status == 200, direct
    assert direct == answer

    # It is the gated API Gateway endpoint serving the model the demo published, not a local computation.
    status, refused = _post(url, SAMPLE_PAYLOAD, None)
    assert status == 403, refused
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    last_run = json.loads((ROOT / "build" / "demo" / str(port) / "last-run.json").read_text())
    bucket = last_run["bucket"]
    pointer = s3.get_object(Bucket=bucket, Key="models/linear-learner/serving.json")["Body"].read()
    version = json.loads(pointer)["model_version"]
    metadata_key = f"models/linear-learner/versions/{version}/metadata.json"
    metadata = json.loads(s3.get_object(Bucket=bucket, Key=metadata_key)["Body"].read())
    assert answer.get("model_version") == metadata["model_version"]


def test_demo_accounts_for_every_ride_and_reports_model_quality(demo_run):
    port, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    last_run = json.loads((ROOT / "build" / "demo" / str(port) / "last-run.json").read_text())
    rides = last_run["rides"]
    assert rides["rides_in"] == TEST_RIDES
    assert rides["rides_in"] == rides["processed"] + rides["quarantined"] + rides["duplicates"]
    assert rides["processed"] == rides["valid"] > 0
    out = proc.stdout
    for where in ("LocalStack", "moto", "DuckDB", "local trainer"):
        assert where in out, f"the output must say which stage runs on {where}"
    assert re.search(r"held-out AUC\s+0\.\d{4} vs Bayes-optimal AUC 0\.\d{4}", out), out[-3000:]


def test_demo_down_stops_everything(demo_run):
    port, _ = demo_run
    subprocess.run([sys.executable, *DEMO, "--port", str(port), "--down"], cwd=ROOT, capture_output=True,
                   text=True, timeout=300, check=True)
    assert _port_free(port) and _port_free(port + 1)
    assert not (ROOT / "build" / "demo" / str(port)).exists()
