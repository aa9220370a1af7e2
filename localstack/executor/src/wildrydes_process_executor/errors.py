"""AWS-shaped error payloads that the executor produces itself (the worker cannot: it is gone or stuck)."""

from __future__ import annotations

import json
from datetime import UTC, datetime


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO time with milliseconds and a Z, as in Lambda's timeout message."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def timeout_message(request_id: str, timeout_seconds: float, now: datetime | None = None) -> str:
    return f"{utc_timestamp(now)} {request_id} Task timed out after {timeout_seconds:.2f} seconds"


def timeout_payload(request_id: str, timeout_seconds: float, now: datetime | None = None) -> bytes:
    # AWS returns only errorMessage for a timeout (no errorType) with FunctionError "Unhandled".
    return json.dumps({"errorMessage": timeout_message(request_id, timeout_seconds, now)}).encode()


def exit_reason(returncode: int) -> str:
    """How the Lambda service words a runtime's exit: ``exit status 1`` or ``signal: killed``."""
    if returncode < 0:
        names = {9: "killed", 6: "aborted", 11: "segmentation fault", 15: "terminated"}
        return f"signal: {names.get(-returncode, str(-returncode))}"
    return f"exit status {returncode}"


def exit_error_payload(request_id: str, returncode: int) -> bytes:
    message = f"RequestId: {request_id} Error: Runtime exited with error: {exit_reason(returncode)}"
    return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode()


def unsupported_message(function_name: str, reason: str) -> str:
    return f"Function {function_name} cannot run on the local 'process' Lambda executor: {reason}"


OUT_OF_MEMORY = "Runtime.OutOfMemory"


def out_of_memory_payload(request_id: str) -> bytes:
    """What Lambda answers when the runtime goes past MemorySize: the kernel killed it."""
    message = f"RequestId: {request_id} Error: Runtime exited with error: {exit_reason(-9)}"
    return json.dumps({"errorType": OUT_OF_MEMORY, "errorMessage": message}).encode()
