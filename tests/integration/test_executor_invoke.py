"""Synchronous invokes through the process executor: results, AWS-shaped errors, timeouts, crashes."""

from __future__ import annotations

import contextlib
import time

import pytest
from executor_helpers import deploy, invoke, unique, wait_for

pytestmark = pytest.mark.localstack
pytest_plugins = ["executor_helpers"]  # the lam and role_arn fixtures

# Handler used by most tests: behaviour chosen by the event so one deployment covers several cases.
MULTI_HANDLER = {
    "handler.py": """
        import logging, os, sys, time
        import boto3

        def main(event, context):
            action = event.get("action")
            print("printed", action)
            logging.warning("logged %s", action)
            if action == "raise":
                raise ValueError("boom from handler")
            if action == "sleep":
                time.sleep(event["seconds"])
            if action == "exit":
                os._exit(event["code"])
            return {
                "echo": event,
                "python": "%d.%d" % sys.version_info[:2],
                "boto3": boto3.__version__,
                "buckets": [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]],
                "pid": os.getpid(),
                "remaining_ms": context.get_remaining_time_in_millis(),
                "request_id": context.aws_request_id,
            }
    """,
}
TIMEOUT_SECONDS = 2


@pytest.fixture(scope="module")
def multi(lam, role_arn):
    name = unique("multi")
    deploy(lam, role_arn, name, MULTI_HANDLER, Timeout=TIMEOUT_SECONDS)
    yield name
    lam.delete_function(FunctionName=name)


def test_sync_invoke_runs_on_python313_with_runtime_boto3_and_reaches_localstack(localstack, lam, multi):
    bucket = unique("visible")
    localstack.client("s3").create_bucket(Bucket=bucket)
    result, error, log = invoke(lam, multi, {"action": "echo", "n": 7})
    assert error is None, result
    assert result["echo"] == {"action": "echo", "n": 7}
    assert result["python"] == "3.13"
    assert result["boto3"] == "1.35.49"
    assert bucket in result["buckets"]  # plain boto3.client("s3") inside the function hit this LocalStack
    assert 0 < result["remaining_ms"] <= TIMEOUT_SECONDS * 1000
    assert "printed echo" in log and "[WARNING]" in log and "logged echo" in log
    assert f"REPORT RequestId: {result['request_id']}" in log


def test_logs_reach_cloudwatch(localstack, lam, multi):
    marker = unique("cw-marker")
    invoke(lam, multi, {"action": marker})
    logs = localstack.client("logs")

    def find():
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{multi}").get("events", [])
        except logs.exceptions.ResourceNotFoundException:  # LocalStack creates the group with the first batch
            return []
        return [e for e in events if marker in e["message"]]

    assert wait_for(find, 10, "the invocation's output in CloudWatch Logs")


def test_handler_exception_is_aws_shaped(lam, multi):
    result, error, log = invoke(lam, multi, {"action": "raise"})
    assert error == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "boom from handler"
    assert any("handler.py" in frame and "main" in frame for frame in result["stackTrace"])
    assert "[ERROR] ValueError: boom from handler" in log


def test_timeout_answers_in_about_the_timeout_and_next_invoke_works(lam, multi):
    began = time.monotonic()
    result, error, _ = invoke(lam, multi, {"action": "sleep", "seconds": 5})
    elapsed = time.monotonic() - began
    assert error == "Unhandled"
    assert result["errorMessage"].endswith(f"Task timed out after {TIMEOUT_SECONDS}.00 seconds")
    assert TIMEOUT_SECONDS - 0.2 <= elapsed < TIMEOUT_SECONDS + 1.5, elapsed
    result, error, _ = invoke(lam, multi, {"action": "echo"})
    assert error is None and result["echo"] == {"action": "echo"}


def test_crash_is_runtime_exit_error_and_next_invoke_works(lam, multi):
    result, error, _ = invoke(lam, multi, {"action": "exit", "code": 3})
    assert error == "Unhandled"
    assert result["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in result["errorMessage"]
    result, error, _ = invoke(lam, multi, {"action": "echo"})
    assert error is None, result


def test_missing_module_is_import_module_error(lam, role_arn):
    name = unique("nomodule")
    deploy(
        lam, role_arn, name, {"handler.py": "import not_a_module_anywhere\ndef main(e, c):\n    return 1\n"}
    )
    try:
        result, error, _ = invoke(lam, name)
        assert error == "Unhandled"
        assert result["errorType"] == "Runtime.ImportModuleError"
        assert result["errorMessage"] == (
            "Unable to import module 'handler': No module named 'not_a_module_anywhere'"
        )
    finally:
        lam.delete_function(FunctionName=name)


def test_missing_handler_is_handler_not_found(lam, role_arn):
    name = unique("nohandler")
    deploy(lam, role_arn, name, {"handler.py": "def main(e, c):\n    return 1\n"}, handler="handler.nope")
    try:
        result, error, _ = invoke(lam, name)
        assert error == "Unhandled"
        assert result["errorType"] == "Runtime.HandlerNotFound"
        assert result["errorMessage"] == "Handler 'nope' missing on module 'handler'"
    finally:
        lam.delete_function(FunctionName=name)


def test_non_python_runtime_is_refused_clearly(lam, role_arn):
    name = unique("node")
    lam.create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    try:
        state = wait_for(lambda: _settled_state(lam, name), 20, "the function to leave Pending")
        assert state["State"] == "Failed"
        assert "'process' Lambda executor" in state["StateReason"]
        assert "nodejs20.x" in state["StateReason"]
    finally:
        # LocalStack 4.14 cannot delete a function whose version failed to prepare
        with contextlib.suppress(lam.exceptions.ClientError):
            lam.delete_function(FunctionName=name)


def _settled_state(lam, name):
    config = lam.get_function_configuration(FunctionName=name)
    return config if config["State"] != "Pending" else None
