"""The model lifecycle on LocalStack, through the real API: versions, the quality gate, --force, rollback,
and a corrupt publish that must not cost a single 5xx.

train v1 on the committed sample -> gate passes, promoted -> the API answers v1; v2 on shuffled labels ->
stored, refused (exit 3), the API still answers v1; --force v2 -> served within the re-check interval;
`wildrydes models rollback` -> v1 again; a corrupt artifact behind the pointer -> v1 keeps answering, 200
requests without a 5xx; the training role's applied policy cannot write the pointer.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from wildrydes import cli
from wildrydes.training.gate import GATE_REFUSED_EXIT
from wildrydes_lambda.contracts import layout, model_pointer
from wildrydes_lambda.model_format import linear_learner as ll

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
WORKSHOP = {"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}
HTTP_TIMEOUT_S = 60
POLL_INTERVAL_S = 1
POLL_MARGIN_S = 60  # beyond the re-check interval: cold starts and LocalStack latency on 2 busy cores
SWITCH_REQUESTS = 200


def call(url: str, key: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(WORKSHOP).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "x-api-key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


@pytest.fixture(scope="module")
def stack(localstack, tf_local, tmp_path_factory):
    outputs = tf_local.apply()
    value = lambda name: outputs[name]["value"]  # noqa: E731
    url = value("inference_invoke_url")
    from test_inference_api import local_url  # the AWS-style URL mapped onto LocalStack's

    with pytest.MonkeyPatch.context() as env:
        for name, setting in localstack.env.items():
            env.setenv(name, setting)
        work = tmp_path_factory.mktemp("lifecycle")
        sys.path.insert(0, str(REPO / "bench"))
        import model_quality  # raw sample rides -> processed CSVs with the ETL's own functions

        processed, weather, _ = model_quality.prepare(SAMPLE, work / "good")
        yield {
            "bucket": value("data_bucket_name"),
            "url": local_url(localstack, url),
            "key": value("inference_api_key"),
            "processed": processed,
            "weather": weather,
            "work": work,
            "s3": localstack.client("s3"),
            "iam": localstack.client("iam"),
            "recheck": float(TEST_RECHECK_SECONDS),
        }


TEST_RECHECK_SECONDS = 5  # tests/conftest.py TEST_STACK_VARIABLES inference_model_recheck_seconds


def shuffled_copy(processed: Path, target: Path, seed: int = 0) -> Path:
    shutil.copytree(processed, target)
    files = sorted(target.rglob("*.csv"))
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in files]
    labels = np.random.default_rng(seed).permutation(
        np.concatenate([f["heavy_utilization"].to_numpy() for f in frames])
    )
    at = 0
    for path, frame in zip(files, frames, strict=True):
        frame["heavy_utilization"] = labels[at : at + len(frame)]
        at += len(frame)
        frame.to_csv(path, index=False)
    return target


def train(stack, rides: Path, out: str, *extra: str) -> tuple[int, str]:
    code = cli.main(
        [
            "train",
            "--rides",
            str(rides),
            "--weather",
            str(stack["weather"]),
            "--out",
            str(stack["work"] / out),
            "--publish",
            f"s3://{stack['bucket']}",
            "--no-report",
            *extra,
        ]
    )
    return code, json.loads((stack["work"] / out / "metadata.json").read_text())["model_version"]


def serving(stack) -> str:
    pointer = stack["s3"].get_object(Bucket=stack["bucket"], Key=layout.MODEL_POINTER_KEY)["Body"].read()
    return model_pointer.decode(pointer)["model_version"]


def wait_for(stack, version: str) -> dict:
    deadline = time.monotonic() + stack["recheck"] + POLL_MARGIN_S
    last: Any = None
    while time.monotonic() < deadline:
        status, body = call(stack["url"], stack["key"])
        last = (status, body)
        if status == 200 and body.get("model_version") == version:
            return body
        time.sleep(POLL_INTERVAL_S)
    pytest.fail(
        f"model {version} not served within {stack['recheck'] + POLL_MARGIN_S:.0f} s; last answer {last}"
    )


def test_the_lifecycle_through_the_api(stack):
    code, v1 = train(stack, stack["processed"], "v1")
    assert code == 0 and serving(stack) == v1
    v1_answer = wait_for(stack, v1)

    noise = shuffled_copy(stack["processed"], stack["work"] / "shuffled")
    code, v2 = train(stack, noise, "v2")
    assert code == GATE_REFUSED_EXIT and v2 != v1
    assert serving(stack) == v1
    time.sleep(stack["recheck"] + 1)
    status, body = call(stack["url"], stack["key"])
    assert (status, body["model_version"]) == (200, v1)
    stored = json.loads(
        stack["s3"].get_object(Bucket=stack["bucket"], Key=layout.model_metadata_key(v2))["Body"].read()
    )
    assert stored["gate"]["passed"] is False

    assert cli.main(["models", "promote", v2, "--force", "--bucket", stack["bucket"]]) == 0
    wait_for(stack, v2)

    assert cli.main(["models", "rollback", "--bucket", stack["bucket"]]) == 0
    assert serving(stack) == v1
    assert wait_for(stack, v1)["predictions"] == v1_answer["predictions"]  # exactly the answers v1 gave


def test_a_corrupt_publish_keeps_v1_and_costs_no_5xx(stack):
    v1 = serving(stack)
    wait_for(stack, v1)
    good = ll.artifact_bytes(ll.LinearModel(weights=(0.1, 0.0, 0.0, 0.0), bias=0.0))
    corrupt = "corrupt-0001"
    s3, bucket = stack["s3"], stack["bucket"]
    s3.put_object(
        Bucket=bucket, Key=layout.model_artifact_key(corrupt), Body=gzip.compress(good)[: len(good) // 3]
    )
    metadata = {"model_version": corrupt, "features": ["distance", "TMIN", "TMAX", "PRCP"], "threshold": 0.5}
    s3.put_object(Bucket=bucket, Key=layout.model_metadata_key(corrupt), Body=json.dumps(metadata).encode())
    s3.put_object(
        Bucket=bucket,
        Key=layout.MODEL_POINTER_KEY,
        Body=model_pointer.encode({"model_version": corrupt, "previous": [v1]}),
    )
    spread = (stack["recheck"] * 3) / SWITCH_REQUESTS  # the requests span three re-check intervals
    answers = []
    for _ in range(SWITCH_REQUESTS):
        status, body = call(stack["url"], stack["key"])
        answers.append((status, body.get("model_version") if isinstance(body, dict) else body))
        time.sleep(spread)
    assert [a for a in answers if a[0] >= 500] == []
    assert set(answers) == {(200, v1)}
    assert cli.main(["models", "rollback", "--bucket", bucket]) == 0 and serving(stack) == v1


def test_the_applied_training_role_policy_cannot_write_the_pointer(stack):
    iam, bucket = stack["iam"], stack["bucket"]
    role = next(
        r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].endswith("-sagemaker-training")
    )
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    statements = document["Statement"]

    def may_put(key: str) -> bool:
        arn = f"arn:aws:s3:::{bucket}/{key}"

        def matches(st: dict) -> bool:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            return "s3:PutObject" in actions and any(fnmatch.fnmatchcase(arn, r) for r in resources)

        if any(st.get("Effect") == "Deny" and matches(st) for st in statements):
            return False
        return any(st.get("Effect", "Allow") == "Allow" and matches(st) for st in statements)

    assert may_put(layout.model_artifact_key("0123456789abcdef"))
    assert may_put(layout.MODEL_JOBS_PREFIX + "job/output/model.tar.gz")
    assert not may_put(layout.MODEL_POINTER_KEY)
