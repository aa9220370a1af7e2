"""Helpers for the process-executor integration tests: tiny zips deployed with boto3 (no Terraform).

Also the fixtures those test modules share (``lam``, ``role_arn``); a module uses them with
``pytest_plugins = ["executor_helpers"]`` (a tests/integration/conftest.py would shadow the ``conftest``
module that tests import ``start_localstack_or_fail`` from). The test modules import the helpers below
before pytest registers the plugin, so assertion rewriting is off here (this module has no ``assert``):
PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import base64
import io
import json
import os
import textwrap
import time
import uuid
import zipfile

import pytest

RUNTIME = "python3.13"
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
POLL_SECONDS = 0.2


@pytest.fixture(scope="module")
def lam(localstack):
    """A Lambda client on the session's LocalStack."""
    return localstack.client("lambda")


@pytest.fixture(scope="module")
def role_arn(localstack) -> str:
    """The execution role every executor test function runs with (created once, reused)."""
    return ensure_role(localstack.client("iam"))


def make_zip(files: dict[str, str]) -> bytes:
    """A zip with the given (dedented) files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ensure_role(iam) -> str:
    try:
        return iam.create_role(RoleName="executor-tests", AssumeRolePolicyDocument=TRUST_POLICY)["Role"][
            "Arn"
        ]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName="executor-tests")["Role"]["Arn"]


# A full vCPU under the executor's Lambda-faithful limits (MemorySize/1769 of a core). These tests check the
# executor's semantics (events, retries, errors, timeouts) with handlers that create boto3 clients: at the
# 128 MB default (0.07 of a core) that alone outlasted their short timeouts on a loaded CI machine. The limits
# themselves are tested with explicit sizes in test_executor_limits.py.
DEFAULT_TEST_MEMORY_MB = 1769


def deploy(
    lam, role_arn: str, name: str, code: dict[str, str], handler: str = "handler.main", **extra
) -> str:
    """Create a python3.13 function and wait until it is Active; returns its ARN."""
    response = lam.create_function(
        FunctionName=name,
        Runtime=extra.pop("Runtime", RUNTIME),
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": make_zip(code)},
        Timeout=extra.pop("Timeout", 10),
        MemorySize=extra.pop("MemorySize", DEFAULT_TEST_MEMORY_MB),
        **extra,
    )
    wait_updated(lam, name)
    return response["FunctionArn"]


def wait_updated(lam, name: str) -> None:
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )


def invoke(lam, name: str, event=None) -> tuple[dict | list | str | None, str | None, str]:
    """Synchronous invoke: (decoded payload, FunctionError, tail of the log)."""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail")
    body = response["Payload"].read()
    log = base64.b64decode(response.get("LogResult") or b"").decode()
    return (json.loads(body) if body else None), response.get("FunctionError"), log


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout: float, what: str):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
