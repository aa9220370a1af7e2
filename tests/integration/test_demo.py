"""`make demo` end to end on a fresh LocalStack, and proof that its last line came from the live endpoint.

Unlike the other integration tests this one does not use the shared `localstack` session fixture: the
demo's promise is "from nothing to a live endpoint", so it starts its own emulators on a free port pair
(DEMO_TEST_PORT to pin one), applies the whole root module, runs every stage, and `--down` stops them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
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


# `make demo RIDES=<file>`: a small workshop-shaped file (10 years of sparse dates, 80 % far north of the
# generated stations), kept small so the run stays a few minutes. Runs before the module's demo_run fixture
# starts its own emulators (tests run in file order), so the two stacks never run at once.
USER_FILE_RIDES = 600


def test_demo_on_a_users_file_reaches_the_live_endpoint(tmp_path):
    from wildrydes.workshop_shape import write_workshop_file
    from wildrydes_dev import demo as demo_module

    rides_file = write_workshop_file(tmp_path / "ride_data.json", n=USER_FILE_RIDES, seed=3)
    port = _free_port_pair()
    env = {**os.environ, "DEMO_PORT": str(port), "DEMO_ARGS": "--no-progress-bar"}
    try:
        proc = subprocess.run(
            ["make", "--no-print-directory", "demo", f"RIDES={rides_file}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT_S,
            check=False,
        )
        assert proc.returncode == 0, f"demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        out = proc.stdout
        answer = json.loads(out.strip().splitlines()[-1])
        assert 0.0 <= answer["predictions"][0]["score"] <= 1.0
        last_run = json.loads((ROOT / "build" / "demo" / str(port) / "last-run.json").read_text())
        assert last_run["rides_file"] == str(rides_file) and last_run["ground_truth"] is False
        rides = last_run["rides"]
        assert rides["rides_in"] == USER_FILE_RIDES
        assert rides["rides_in"] == rides["processed"] + rides["quarantined"] + rides["duplicates"]
        first, last = demo_module.ride_span(rides_file)
        assert f"weather for {first.year}-01-01 .. {last.year}-12-31" in out  # the years the rides span
        assert "no ground truth exists for your file" in out
        assert "Bayes-optimal AUC 0." not in out
    finally:
        subprocess.run(
            [sys.executable, *DEMO, "--port", str(port), "--down"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture(scope="module")
def demo_run():
    port = _free_port_pair()
    cmd = [sys.executable, *DEMO, "--port", str(port), "--rides", str(TEST_RIDES), "--no-progress-bar"]
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, check=False
        )
        yield port, proc
    finally:
        subprocess.run(
            [sys.executable, *DEMO, "--port", str(port), "--down"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


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

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
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


# ------------------------------------------------------------------------------------ lifecycle sequences
# The targets a person types, in the orders people type them, on the demo's emulators (issue: idempotent
# targets, Terraform state that follows the emulators). Each step must exit 0 and the stack must work after.
LIFECYCLE_STEP_TIMEOUT_S = 900
LANDING_TIMEOUT_S = 180
LANDING_RIDES = 3


def _make(port: int, *targets: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOCALSTACK_PORT": str(port), "MOTO_PORT": str(port + 1), "DEMO_PORT": str(port)}
    return subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIFECYCLE_STEP_TIMEOUT_S,
        check=False,
    )


def _ok(proc: subprocess.CompletedProcess, what: str) -> str:
    assert proc.returncode == 0, (
        f"{what} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout + proc.stderr


def _upload_lands(port: int, tag: str) -> None:
    """Upload a small ride file and wait until each of its rides is in processed/ (the stack works)."""
    import boto3

    listed = _make(port, "-s", "local-outputs")
    _ok(listed, "local-outputs")
    outputs = json.loads(listed.stdout)
    bucket = outputs["data_bucket_name"]["value"]
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    name = f"lifecycle-{tag}-{time.time_ns()}"
    rides = [
        {
            "Name": f"{name}-{n}",
            "StatusTime": f"2018-03-0{n + 1} 08:15:00.000",
            "Latitude": 40.75 + n * 0.01,
            "Longitude": -73.98,
            "Distance": 2.5 + n,
            "HealthPoints": 120,
            "MagicPoints": 90 + n,
        }
        for n in range(LANDING_RIDES)
    ]
    s3.put_object(Bucket=bucket, Key=f"raw/{name}.json", Body=json.dumps(rides).encode())
    deadline = time.monotonic() + LANDING_TIMEOUT_S
    found = 0
    while time.monotonic() < deadline:
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="processed/")
            for o in page.get("Contents", [])
        ]
        found = sum(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().count(name) for key in keys)
        if found >= LANDING_RIDES:
            break
        time.sleep(2)
    assert found == LANDING_RIDES, f"{tag}: {found} of {LANDING_RIDES} rides of {name} in processed/"


def test_lifecycle_targets_are_idempotent_and_state_follows_the_emulators(demo_run):
    port, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-4000:]

    # demo -> local-apply: one shared stack and one set of variables, so nothing to change.
    out = _ok(_make(port, "local-apply"), "local-apply after demo")
    assert "No changes." in out or "0 added, 0 changed, 0 destroyed" in out, out[-2000:]

    # localstack-up twice while up: says so, exits 0, the stack still works.
    for attempt in (1, 2):
        out = _ok(_make(port, "localstack-up"), f"localstack-up #{attempt} while running")
        assert "already running" in out, out[-1000:]
    _upload_lands(port, "after-up")

    # localstack-down twice: the second finds nothing and still exits 0.
    _ok(_make(port, "localstack-down"), "localstack-down #1")
    out = _ok(_make(port, "localstack-down"), "localstack-down #2")
    assert "already down" in out, out[-1000:]

    # down -> up -> local-apply: the old state belongs to the vanished instance; set aside, applied afresh.
    _ok(_make(port, "localstack-up"), "localstack-up after down")
    out = _ok(_make(port, "local-apply"), "local-apply on a new emulator instance")
    assert "belonged to an earlier emulator instance" in out, out[-2000:]
    stale = list((ROOT / "build" / "tf-local" / str(port)).glob("stale-*/terraform.tfstate"))
    assert stale, "the earlier instance's state must be kept aside, not deleted"
    _upload_lands(port, "after-restart")

    # local-destroy twice, then demo-down twice: each exits 0.
    out = _ok(_make(port, "local-destroy"), "local-destroy #1")
    assert "destroyed the stack" in out, out[-1000:]
    out = _ok(_make(port, "local-destroy"), "local-destroy #2")
    assert "nothing to destroy" in out, out[-1000:]
    _ok(_make(port, "demo-down"), "demo-down #1")
    out = _ok(_make(port, "demo-down"), "demo-down #2")
    assert "already down" in out, out[-1000:]
    assert _port_free(port) and _port_free(port + 1)


def test_demo_down_stops_everything(demo_run):
    port, _ = demo_run
    subprocess.run(
        [sys.executable, *DEMO, "--port", str(port), "--down"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert _port_free(port) and _port_free(port + 1)
    assert not (ROOT / "build" / "demo" / str(port)).exists()
