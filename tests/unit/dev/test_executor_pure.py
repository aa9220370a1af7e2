"""Pure parts of the process executor: error shapes, layer merge order, sys.path, and the worker protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from wildrydes_process_executor import errors, layout, worker

ROOT = Path(__file__).resolve().parents[3]


# ----------------------------------------------------------------------------- handler names and init errors
@pytest.mark.parametrize(
    "handler, expected",
    [
        ("handler.main", ("handler", "main")),
        ("pkg/mod.fn", ("pkg.mod", "fn")),
        ("a.b.c.fn", ("a.b.c", "fn")),
    ],
)
def test_parse_handler(handler, expected):
    assert worker.parse_handler(handler) == expected


@pytest.mark.parametrize("bad", ["nodot", ".fn", "mod."])
def test_parse_handler_rejects_malformed_names(bad):
    with pytest.raises(ValueError, match=f"Bad handler '{bad}'"):
        worker.parse_handler(bad)


def test_import_errors_are_shaped_like_aws():
    missing = worker.init_error(ModuleNotFoundError("No module named 'x'"), "handler")
    assert missing["errorType"] == "Runtime.ImportModuleError"
    assert missing["errorMessage"] == "Unable to import module 'handler': No module named 'x'"
    syntax = worker.init_error(SyntaxError("invalid syntax"), "handler")
    assert syntax["errorType"] == "Runtime.UserCodeSyntaxError"
    other = worker.init_error(KeyError("CONFIG"), "handler")
    assert other["errorType"] == "KeyError"


def test_handler_not_found_message():
    payload = worker.handler_not_found("nope", "handler")
    assert payload == {
        "errorMessage": "Handler 'nope' missing on module 'handler'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


def _user_code():
    raise ValueError("bad ride")


def test_invocation_error_starts_the_trace_in_user_code():
    try:
        _user_code()
    except ValueError as exc:
        payload = worker.invocation_error(exc, "req-1")
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "bad ride"
    assert payload["requestId"] == "req-1"
    assert len(payload["stackTrace"]) == 1 and "_user_code" in payload["stackTrace"][0]
    log = worker.error_log_line(payload)
    assert log.startswith("[ERROR] ValueError: bad ride\nTraceback (most recent call last):\n")


# ----------------------------------------------------------------------------- executor-side errors
def test_timeout_message_matches_lambda():
    at = datetime(2024, 5, 1, 12, 0, 3, 45000, tzinfo=UTC)
    assert (
        errors.timeout_message("r1", 2, at) == "2024-05-01T12:00:03.045Z r1 Task timed out after 2.00 seconds"
    )
    assert json.loads(errors.timeout_payload("r1", 2, at)) == {
        "errorMessage": errors.timeout_message("r1", 2, at)
    }


@pytest.mark.parametrize("code, reason", [(1, "exit status 1"), (3, "exit status 3"), (-9, "signal: killed")])
def test_exit_error(code, reason):
    payload = json.loads(errors.exit_error_payload("r2", code))
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: r2 Error: Runtime exited with error: {reason}",
    }


# ----------------------------------------------------------------------------- layout
def _fake_python(path: Path) -> str:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_interpreter_refuses_what_it_cannot_run(tmp_path):
    python = _fake_python(tmp_path / "python")
    env = {"WILDRYDES_LAMBDA_PYTHON313": python}
    assert layout.interpreter_for("python3.13", "Zip", env) == python
    with pytest.raises(layout.UnsupportedFunction, match="container images"):
        layout.interpreter_for(None, "Image", env)
    with pytest.raises(layout.UnsupportedFunction, match="nodejs20.x is not supported"):
        layout.interpreter_for("nodejs20.x", "Zip", env)
    with pytest.raises(layout.UnsupportedFunction, match="WILDRYDES_LAMBDA_PYTHON313 must name"):
        layout.interpreter_for("python3.13", "Zip", {})


def test_runtime_map_picks_the_interpreter_by_the_function_runtime(tmp_path):
    py313, py312 = _fake_python(tmp_path / "python3.13"), _fake_python(tmp_path / "python3.12")
    env = {"WILDRYDES_LAMBDA_PYTHON313": py313, "WILDRYDES_LAMBDA_PYTHON312": py312}
    assert layout.interpreter_for("python3.13", "Zip", env) == py313
    assert layout.interpreter_for("python3.12", "Zip", env) == py312
    assert layout.available_runtimes(env) == {"python3.13": py313, "python3.12": py312}
    assert layout.DEFAULT_RUNTIME == "python3.13"


def test_runtime_map_refuses_a_known_runtime_without_an_interpreter_and_retired_ones(tmp_path):
    env = {"WILDRYDES_LAMBDA_PYTHON313": _fake_python(tmp_path / "python3.13")}
    # python3.12 is in the map but nothing is configured for it: refused, naming the variable to set
    with pytest.raises(
        layout.UnsupportedFunction,
        match=r"runtime python3.12 has no interpreter here: WILDRYDES_LAMBDA_PYTHON312 must name",
    ):
        layout.interpreter_for("python3.12", "Zip", env)
    # python3.11 (deprecated 2027-06-30) is not in the map at all: refused, listing what would run
    with pytest.raises(
        layout.UnsupportedFunction,
        match=r"runtime python3.11 is not supported \(supported: python3.12, python3.13; "
        r"with an interpreter here: python3.13\)",
    ):
        layout.interpreter_for("python3.11", "Zip", env)
    # a variable naming something that is not executable counts as not configured
    (tmp_path / "not-executable").write_text("")
    broken = {"WILDRYDES_LAMBDA_PYTHON313": str(tmp_path / "not-executable")}
    assert layout.available_runtimes(broken) == {}
    with pytest.raises(layout.UnsupportedFunction, match="got .*not-executable"):
        layout.interpreter_for("python3.13", "Zip", broken)


def test_emulators_pass_the_runtime_map_to_the_executor(monkeypatch):
    from wildrydes_dev import emulators

    assert set(emulators.runtime_interpreters({})) == {"WILDRYDES_LAMBDA_PYTHON313"}
    assert emulators.runtime_interpreters({})["WILDRYDES_LAMBDA_PYTHON313"].endswith(
        "lambda-runtime-py313/bin/python"
    )
    with_312 = emulators.runtime_interpreters({"WILDRYDES_LAMBDA_PYTHON312": "/opt/py312/bin/python"})
    assert with_312["WILDRYDES_LAMBDA_PYTHON312"] == "/opt/py312/bin/python"
    # every variable the emulators set is one the executor reads
    assert set(with_312) <= set(layout.RUNTIME_INTERPRETER_ENV.values())


def test_layer_libraries_are_on_the_worker_library_path(tmp_path):
    assert layout.layer_library_path(tmp_path / "layers", tmp_path / "task").split(os.pathsep) == [
        str(tmp_path / "task" / "lib"),
        str(tmp_path / "layers" / "lib"),
    ]


def test_merge_layers_later_layer_wins_and_keeps_the_rest(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "python").mkdir(parents=True)
    (second / "python").mkdir(parents=True)
    (first / "python" / "shared.py").write_text("first")
    (first / "python" / "only_first.py").write_text("first")
    (second / "python" / "shared.py").write_text("second")
    merged = layout.merge_layers([first, second], tmp_path / "merged")
    assert (merged / "python" / "shared.py").read_text() == "second"
    assert (merged / "python" / "only_first.py").read_text() == "first"
    # Prepared once per revision: a second call does not rebuild (or re-order) the tree.
    (second / "python" / "shared.py").write_text("changed later")
    assert (layout.merge_layers([second, first], merged) / "python" / "shared.py").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging leftovers


def test_sys_path_order_task_root_then_layers_then_runtime(tmp_path):
    layers = layout.layer_sys_path(tmp_path, "python3.13")
    assert layers == [str(tmp_path / "python/lib/python3.13/site-packages"), str(tmp_path / "python")]
    path = worker.build_sys_path("/task", layers, ["/runtime/site-packages", "/task"])
    assert path == ["/task", *layers, "/runtime/site-packages"]


def test_worker_environment_is_minimal(tmp_path):
    base = {"PATH": "/bin", "LAMBDA_RUNTIME_EXECUTOR": "process", "GATEWAY_LISTEN": "x", "HOME": "/root"}
    env = layout.worker_environment(
        {"_HANDLER": "h.main", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": 128},
        tmp_path / "task",
        tmp_path / "tmp",
        base,
    )
    assert env["PATH"] == "/bin" and env["_HANDLER"] == "h.main"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path / "task") and env["TMPDIR"] == str(tmp_path / "tmp")
    assert "LAMBDA_RUNTIME_EXECUTOR" not in env and "GATEWAY_LISTEN" not in env


# ----------------------------------------------------------------------------- worker protocol, offline
class FakeRuntimeApi:
    """Records what the worker POSTs back, as LocalStack's executor endpoint would receive it."""

    def __init__(self):
        self.calls: list[tuple[str, bytes]] = []
        self.event = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.calls.append((self.path, body))
                self.send_response(202)
                self.end_headers()
                api.event.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_localstack_lambda/env1"

    def wait_for(self, suffix: str, timeout: float = 10):
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path, body in self.calls:
                if path.endswith(suffix):
                    return body
            self.event.wait(0.1)
            self.event.clear()
        raise AssertionError(f"worker never posted {suffix}: {self.calls}")


def _start_worker(tmp_path, api, handler_code, handler="handler.main"):
    task = tmp_path / "task"
    task.mkdir()
    (task / "handler.py").write_text(handler_code)
    read_fd, write_fd = os.pipe()
    env = {
        "PATH": os.environ["PATH"],
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": handler,
        "LOCALSTACK_RUNTIME_ENDPOINT": api.url,
        "LOCALSTACK_RUNTIME_ID": "env1",
        "WILDRYDES_CONTROL_FD": str(write_fd),
        "WILDRYDES_PARENT_PID": str(os.getpid()),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-u", worker.__file__],
        env=env,
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as control:
        port = int(control.readline() or 0)
    return process, port


def test_worker_protocol_ready_invoke_logs_then_response(tmp_path):
    api = FakeRuntimeApi()
    code = "def main(event, context):\n    print('seen', event['n'])\n    return {'double': event['n'] * 2}\n"
    process, port = _start_worker(tmp_path, api, code)
    try:
        api.wait_for("/status/env1/ready")
        import urllib.request

        invocation = {
            "invoke-id": "req-9",
            "invoked-function-arn": "arn",
            "payload": json.dumps({"n": 21}),
            "trace-id": "Root=1",
        }
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invoke", data=json.dumps(invocation).encode()
        )
        assert opener.open(request, timeout=5).status == 200
        assert json.loads(api.wait_for("/invocations/req-9/response")) == {"double": 42}
        paths = [path for path, _ in api.calls]
        assert paths.index("/_localstack_lambda/env1/invocations/req-9/logs") < paths.index(
            "/_localstack_lambda/env1/invocations/req-9/response"
        )  # logs first, as LocalStack requires
        logs = json.loads(api.wait_for("/invocations/req-9/logs"))["logs"]
        assert "START RequestId: req-9" in logs and "seen 21" in logs and "REPORT RequestId: req-9" in logs
    finally:
        process.kill()
        process.wait()


def test_worker_reports_init_error_and_exits(tmp_path):
    api = FakeRuntimeApi()
    process, _ = _start_worker(tmp_path, api, "import no_such_module_here\n")
    try:
        payload = json.loads(api.wait_for("/status/env1/error"))
        assert payload["errorType"] == "Runtime.ImportModuleError"
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()


# ------------------------------------------------------------------------------ LocalStack entry point
@pytest.mark.parametrize(
    "listen, host",
    [
        ("127.0.0.1:4566", "127.0.0.1"),
        ("127.0.0.1:4566,127.0.0.1:4510", "127.0.0.1"),
        (":4566", ""),
        ("0.0.0.0:4566", "0.0.0.0"),
        ("[::1]:4566", ""),
        ("4566", ""),
        (None, ""),
    ],
)
def test_localstack_entry_binds_the_ipv4_listen_host(listen, host):
    from wildrydes_process_executor import localstack_main

    assert localstack_main.listen_host(listen) == host


def test_localstack_entry_defaults_twisted_ipv4_endpoints_to_the_host():
    from types import SimpleNamespace

    from wildrydes_process_executor import localstack_main

    seen = {}

    def fake(reactor, port, backlog=50, interface=""):
        seen.update(port=port, interface=interface)

    endpoints = SimpleNamespace(
        TCP4ServerEndpoint=fake
    )  # twisted.internet.endpoints lives in LocalStack's venv
    localstack_main.bind_ipv4_endpoints_to("127.0.0.1", endpoints)
    endpoints.TCP4ServerEndpoint(None, 4566)
    assert seen == {"port": 4566, "interface": "127.0.0.1"}
    endpoints.TCP4ServerEndpoint(None, 4567, interface="10.0.0.1")  # an explicit interface still wins
    assert seen["interface"] == "10.0.0.1"
