"""bench/api_concurrency.py without LocalStack: the keep-alive client, the goal and its ceiling, the settings."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from bench import api_concurrency as bench

from wildrydes_dev import emulators

REQUESTS = 12
CLIENTS = 3
NO_SUCH_PID = 2**22 + 7  # above Linux's pid_max limit


class _Server:
    """A loopback HTTP/1.1 server that counts connections; ``close_first`` drops the first connection after
    its first response without saying so (as a server that timed out an idle keep-alive connection)."""

    def __init__(self, close_first: bool = False) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str | None, bytes]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1
                    self.number = server.connections

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server._lock:
                    server.requests.append((self.path, self.headers.get("x-api-key"), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                if close_first and self.number == 1:
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/_aws/execute-api/abc/v1/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send_all(send, requests: int, clients: int) -> list[tuple[float, int]]:
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: send(), range(requests)))


def test_keep_alive_clients_reuse_one_connection_per_thread():
    with _Server() as server:
        send, close = bench.requester(server.url, "k3y", keep_alive=True)
        try:
            results = _send_all(send, REQUESTS, CLIENTS)
        finally:
            close()
    assert [status for _, status in results] == [200] * REQUESTS
    assert 1 <= server.connections <= CLIENTS
    assert {(path, key, body) for path, key, body in server.requests} == {
        ("/_aws/execute-api/abc/v1/", "k3y", bench.BODY)
    }


def test_new_connections_open_one_per_request():
    with _Server() as server:
        send, close = bench.requester(server.url, "k3y", keep_alive=False)
        results = _send_all(send, REQUESTS, CLIENTS)
        close()
    assert [status for _, status in results] == [200] * REQUESTS
    assert server.connections == REQUESTS


def test_keep_alive_client_reopens_a_connection_the_server_closed():
    with _Server(close_first=True) as server:
        clients = bench.KeepAliveClients(server.url, "k3y")
        try:
            statuses = [clients.request()[1] for _ in range(3)]
        finally:
            clients.close()
    assert statuses == [200, 200, 200]
    assert len(server.requests) == 3  # each request reached the server exactly once
    assert server.connections == 2  # the dropped one, then one kept for the rest


def _level(rps: float, p99: float, localstack_bound: float | None, machine_bound: float | None) -> dict:
    return {
        "requests_per_s": rps,
        "p99_ms": p99,
        "localstack_bound_requests_per_s": localstack_bound,
        "machine_bound_requests_per_s": machine_bound,
    }


def test_goal_met_and_its_ceiling_is_the_tighter_bound_over_one_client():
    result = {"1": _level(50.0, 30.0, 70.0, 90.0), "4": _level(150.0, 180.0, 160.0, 200.0)}
    assert bench.goal(result) == {
        "speedup_4_over_1": 3.0,
        "speedup_met": True,
        "p99_at_4_met": True,
        "speedup_ceiling_4_over_1": 3.2,  # LocalStack's 160 req/s (< the machine's 200) / 50
    }


def test_goal_not_met():
    result = {"1": _level(50.0, 30.0, 70.0, 90.0), "4": _level(90.0, 250.0, 110.0, 95.0)}
    goal = bench.goal(result)
    assert goal["speedup_met"] is False
    assert goal["p99_at_4_met"] is False
    assert goal["speedup_4_over_1"] == pytest.approx(1.8)
    assert goal["speedup_ceiling_4_over_1"] == pytest.approx(1.9)  # the machine's 95 req/s / 50


def test_goal_without_both_levels_is_empty():
    assert bench.goal({"1": _level(50.0, 30.0, None, None)}) == {}


def test_localstack_settings_come_from_the_process_environment():
    # /proc/<pid>/environ is the environment a process started with: read a child's
    env = {**os.environ, "IN_MEMORY_CLIENT": "1"}
    env.pop("WILDRYDES_EXECUTOR_LIMITS", None)
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Until the child has exec'd, /proc/<pid>/environ is still this process's environment.
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert bench.localstack_settings(child.pid) == {
            "IN_MEMORY_CLIENT": "1",
            "WILDRYDES_EXECUTOR_LIMITS": "",
        }
    finally:
        child.kill()
        child.wait()
    assert bench.localstack_settings(NO_SUCH_PID) == {}


def test_emulators_use_the_in_memory_client_unless_the_environment_says_otherwise(monkeypatch):
    instance = emulators.Instance(45999, 46000)
    monkeypatch.delenv("IN_MEMORY_CLIENT", raising=False)
    assert emulators.localstack_environment(instance)["IN_MEMORY_CLIENT"] == "1"
    monkeypatch.setenv("IN_MEMORY_CLIENT", "0")
    assert emulators.localstack_environment(instance)["IN_MEMORY_CLIENT"] == "0"
