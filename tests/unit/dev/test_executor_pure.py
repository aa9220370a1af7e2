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
from wildrydes_process_executor import errors, layout, limits, pool, worker

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
    """A worker on a fake runtime endpoint: (process, port, status line from the control pipe)."""
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
        status = control.readline()
    return process, port, status


def _invoke(port: int, invocation: dict) -> int:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invoke", data=json.dumps(invocation).encode())
    return opener.open(request, timeout=5).status


def test_worker_protocol_ready_invoke_logs_then_response(tmp_path):
    api = FakeRuntimeApi()
    code = "def main(event, context):\n    print('seen', event['n'])\n    return {'double': event['n'] * 2}\n"
    process, port, status = _start_worker(tmp_path, api, code)
    try:
        assert status == "ready\n" and worker.parse_status_line(status) is None  # readiness on the pipe
        invocation = {
            "invoke-id": "req-9",
            "invoked-function-arn": "arn",
            "payload": json.dumps({"n": 21}),
            "trace-id": "Root=1",
        }
        assert _invoke(port, invocation) == 200
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


def test_pooled_worker_answers_the_environment_named_in_each_invocation(tmp_path):
    """A warm worker serves any environment of its version: results go to the endpoint the invocation names."""
    first_env, second_env = FakeRuntimeApi(), FakeRuntimeApi()
    process, port, status = _start_worker(
        tmp_path, first_env, "def main(event, context):\n    return event\n"
    )
    try:
        assert worker.parse_status_line(status) is None
        for env, request_id in ((second_env, "req-a"), (first_env, "req-b")):
            invocation = {
                "invoke-id": request_id,
                "payload": json.dumps({"id": request_id}),
                worker.RUNTIME_ENDPOINT_KEY: env.url,
            }
            assert _invoke(port, invocation) == 200
            assert json.loads(env.wait_for(f"/invocations/{request_id}/response")) == {"id": request_id}
        assert not any(path.endswith("req-a/response") for path, _ in first_env.calls)
        assert not any(path.endswith("req-b/response") for path, _ in second_env.calls)
    finally:
        process.kill()
        process.wait()


def test_worker_reports_init_error_on_the_pipe_and_exits(tmp_path):
    api = FakeRuntimeApi()
    process, _, status = _start_worker(tmp_path, api, "import no_such_module_here\n")
    try:
        payload = worker.parse_status_line(status)
        assert payload["errorType"] == "Runtime.ImportModuleError"
        assert process.wait(timeout=10) == 0
        assert api.calls == []  # nothing goes to an environment's endpoint before an invocation
    finally:
        process.kill()


@pytest.mark.parametrize("payload", [None, {"errorType": "Runtime.HandlerNotFound", "errorMessage": "x y"}])
def test_status_line_round_trip(payload):
    line = worker.status_line(payload)
    assert "\n" not in line and worker.parse_status_line(line + "\n") == payload


def test_status_line_rejects_garbage():
    with pytest.raises(ValueError, match="unexpected worker status line"):
        worker.parse_status_line("12345")


# ----------------------------------------------------------------------------- warm worker pool
@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, pool.DEFAULT_MAX_WARM),
        ({pool.MAX_WARM_ENV: "3"}, 3),
        ({pool.MAX_WARM_ENV: " "}, pool.DEFAULT_MAX_WARM),
    ],
)
def test_max_warm_setting(environ, expected):
    assert pool.configured_max_warm(environ) == expected


@pytest.mark.parametrize("bad", ["0", "-2", "many", "1.5"])
def test_max_warm_setting_rejects_nonsense(bad):
    with pytest.raises(ValueError, match=pool.MAX_WARM_ENV):
        pool.configured_max_warm({pool.MAX_WARM_ENV: bad})


def test_idle_seconds_setting():
    assert pool.configured_idle_seconds({}) == pool.DEFAULT_IDLE_SECONDS == 600
    assert pool.configured_idle_seconds({pool.IDLE_SECONDS_ENV: "2.5"}) == 2.5
    with pytest.raises(ValueError, match=pool.IDLE_SECONDS_ENV):
        pool.configured_idle_seconds({pool.IDLE_SECONDS_ENV: "0"})


def test_cap_is_reserved_concurrency_else_the_configured_cap():
    assert pool.pool_cap(None, 8) == 8
    assert pool.pool_cap(3, 8) == 3
    assert pool.pool_cap(20, 8) == 20  # reserved concurrency is the function's own promise: honoured
    assert pool.pool_cap(0, 8) == 1  # 0 throttles every invoke in LocalStack; never a zero-size pool


@pytest.mark.parametrize(
    "live, starting, waiting, cap, expected",
    [
        (0, 0, 1, 8, True),  # nothing warm: one cold start
        (1, 0, 1, 8, True),  # all busy, below the cap: start one more
        (1, 1, 1, 8, False),  # one already starting for the one waiter
        (1, 1, 2, 8, True),  # two waiters, one starting
        (8, 0, 3, 8, False),  # at the cap: wait for a warm worker, never a cold start
        (7, 1, 3, 8, False),
    ],
)
def test_should_spawn(live, starting, waiting, cap, expected):
    assert pool.should_spawn(live, starting, waiting, cap) is expected


def test_expired_idle_workers():
    assert pool.expired({1: 100.0, 2: 50.0, 3: 89.0}, now=100.0, idle_seconds=10) == [2, 3]
    assert pool.expired({}, now=1.0, idle_seconds=1) == []


class _Spawner:
    """Counts spawns; each one is a real (sleeping) process so liveness and kill are real."""

    def __init__(self, tmp_path, delay: float = 0.0, fail: bytes | None = None):
        self.tmp_path, self.delay, self.fail, self.count = tmp_path, delay, fail, 0
        self.workers: list = []

    def __call__(self):
        import time

        self.count += 1
        time.sleep(self.delay)
        if self.fail is not None:
            raise pool.WorkerInitError(self.fail)
        process = subprocess.Popen(["sleep", "60"], start_new_session=True)
        w = pool.Worker(
            f"w{self.count}",
            process,
            0,
            self.tmp_path / f"w{self.count}.log",
            self.tmp_path / f"w{self.count}.pid",
        )
        self.workers.append(w)
        return w

    def cleanup(self):
        for w in self.workers:
            w.kill()


@pytest.fixture
def spawner_factory(tmp_path):
    made = []

    def make(**kwargs):
        made.append(_Spawner(tmp_path, **kwargs))
        return made[-1]

    yield make
    for s in made:
        s.cleanup()


def test_pool_reuses_an_idle_worker_instead_of_starting_another(spawner_factory):
    spawn = spawner_factory()
    p = pool.WorkerPool("fn@1", lambda: 8, idle_seconds=600)
    first = p.acquire(spawn, timeout=10)
    p.release(first)
    for _ in range(5):
        again = p.acquire(spawn, timeout=10)
        assert again is first
        p.release(again)
    assert spawn.count == 1 and p.stats()["idle"] == 1


def test_busy_pool_serves_a_burst_from_a_warm_worker_freed_before_a_cold_start_ends(spawner_factory):
    import time

    slow = spawner_factory(delay=1.5)  # the cold start of the burst
    p = pool.WorkerPool("fn@1", lambda: 8, idle_seconds=600)
    warm = spawner_factory()()
    p.release(warm)  # as if it had served a request
    busy = p.acquire(slow, timeout=10)
    assert busy is warm and slow.count == 0
    threading.Timer(0.2, p.release, args=(warm,)).start()  # the warm request ends after 0.2 s
    started = time.monotonic()
    second = p.acquire(slow, timeout=10)
    assert second is warm and time.monotonic() - started < 1.0  # did not wait for the 1.5 s cold start
    assert slow.count == 1  # ...which was started and joins the pool for sustained concurrency
    p.release(second)
    deadline = time.monotonic() + 5
    while p.stats()["idle"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.stats()["idle"] == 2


def test_pool_at_its_cap_waits_for_a_warm_worker(spawner_factory):
    spawn = spawner_factory()
    p = pool.WorkerPool("fn@1", lambda: 1, idle_seconds=600)
    only = p.acquire(spawn, timeout=10)
    threading.Timer(0.3, p.release, args=(only,)).start()
    assert p.acquire(spawn, timeout=10) is only
    assert spawn.count == 1
    with pytest.raises(TimeoutError):
        p.acquire(spawn, timeout=0.3)


def test_init_error_reaches_the_invocation_when_nothing_else_can_serve_it(spawner_factory):
    p = pool.WorkerPool("fn@1", lambda: 8, idle_seconds=600)
    with pytest.raises(pool.WorkerInitError) as caught:
        p.acquire(spawner_factory(fail=b'{"errorType": "Runtime.ImportModuleError"}'), timeout=10)
    assert b"ImportModuleError" in caught.value.payload
    assert p.stats() == {"idle": 0, "busy": 0, "starting": 0, "waiting": 0}


def test_dead_workers_are_not_leased_and_idle_ones_are_reaped(spawner_factory):
    import time

    spawn = spawner_factory()
    p = pool.WorkerPool("fn@1", lambda: 8, idle_seconds=600)
    a = p.acquire(spawn, timeout=10)
    p.release(a)
    a.process.kill()
    a.process.wait()
    b = p.acquire(spawn, timeout=10)
    assert b is not a and spawn.count == 2
    p.release(b)
    assert p.reap_idle(now=time.monotonic() + 10) == []
    assert p.reap_idle(now=time.monotonic() + 601) == [b]
    assert not b.alive() and p.stats()["idle"] == 0


def test_closing_the_pool_kills_every_worker_and_wakes_waiters(spawner_factory):
    spawn = spawner_factory()
    p = pool.WorkerPool("fn@1", lambda: 1, idle_seconds=600)
    busy = p.acquire(spawn, timeout=10)
    errors_seen = []

    def wait_for_worker():
        try:
            p.acquire(spawn, timeout=10)
        except pool.PoolClosed as exc:
            errors_seen.append(exc)

    waiter = threading.Thread(target=wait_for_worker)
    waiter.start()
    closer = threading.Timer(0.2, p.close)
    closer.start()
    waiter.join(5)
    closer.join(5)
    assert len(errors_seen) == 1 and not busy.alive()


# ----------------------------------------------------------------------------- Lambda limits
def test_limits_setting():
    assert limits.limits_enabled({limits.LIMITS_ENV: "on"}) is True
    assert limits.limits_enabled({limits.LIMITS_ENV: "OFF"}) is False
    assert limits.limits_enabled({}) is (limits.DEFAULT_LIMITS == "on")
    with pytest.raises(ValueError, match=limits.LIMITS_ENV):
        limits.limits_enabled({limits.LIMITS_ENV: "maybe"})


@pytest.mark.parametrize(
    "memory_mb, cores, share, quota",
    [
        (1769, 2, 1.0, 100_000),  # one full vCPU at 1,769 MB
        (128, 2, 128 / 1769, 7_236),  # 7.2 ms of CPU per 100 ms
        (256, 2, 256 / 1769, 14_471),
        (3538, 2, 2.0, 200_000),  # two vCPUs
        (10240, 2, 2.0, 200_000),  # capped at the machine's cores
    ],
)
def test_cpu_share_follows_lambda(memory_mb, cores, share, quota):
    assert limits.cpu_share(memory_mb, cores) == pytest.approx(share)
    assert limits.cfs_quota_us(limits.cpu_share(memory_mb, cores)) == quota
    assert limits.memory_limit_bytes(memory_mb) == memory_mb * 1024 * 1024


def test_cfs_quota_never_below_the_kernel_minimum():
    assert limits.cfs_quota_us(0.001) == limits.MIN_CFS_QUOTA_US


def test_own_cgroups_and_oom_counter_parsing():
    own = limits.own_cgroups("4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/user.slice\n")
    assert own == {"memory": "/process_api/abc", "cpu": "/", "cpuacct": "/", "": "/user.slice"}
    assert limits.oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2
    assert limits.oom_kills("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n") == 1
    assert limits.oom_kills("under_oom 0\n") == 0


def _fake_v1(root: Path) -> str:
    (root / "memory" / "ls").mkdir(parents=True)
    (root / "cpu").mkdir()
    return "4:memory:/ls\n1:cpu:/\n0::/\n"


def test_v1_cgroups_get_memory_and_cpu_quota(tmp_path, monkeypatch):
    proc = _fake_v1(tmp_path)
    monkeypatch.setattr(limits, "detect_mode", lambda root=None: _detect(tmp_path, proc))
    factory = limits.LimitsFactory({limits.LIMITS_ENV: "on"}, root=tmp_path, cores=2)
    assert factory.mode == limits.MODE_V1
    worker_limits = factory.for_worker("w1", 128)
    parent = f"{limits.PARENT_PREFIX}{os.getpid()}"
    memory_dir, cpu_dir = tmp_path / "memory" / "ls" / parent / "w1", tmp_path / "cpu" / parent / "w1"
    assert (memory_dir / "memory.limit_in_bytes").read_text() == str(128 * 1024 * 1024)
    assert (cpu_dir / "cpu.cfs_quota_us").read_text() == "7236"
    assert (cpu_dir / "cpu.cfs_period_us").read_text() == "100000"
    worker_limits.add(4242)
    assert (memory_dir / "cgroup.procs").read_text() == "4242" == (cpu_dir / "cgroup.procs").read_text()
    (memory_dir / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert worker_limits.oom_killed()
    assert worker_limits.env == {}


_real_detect = limits.detect_mode


def _detect(root, proc):
    return _real_detect(root, proc)


def test_v2_cgroups_when_only_the_unified_hierarchy_is_there(tmp_path, monkeypatch):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "app").mkdir()
    monkeypatch.setattr(limits, "detect_mode", lambda root=None: _detect(tmp_path, "0::/app\n"))
    factory = limits.LimitsFactory({limits.LIMITS_ENV: "on"}, root=tmp_path, cores=2)
    assert factory.mode == limits.MODE_V2
    directory = tmp_path / "app" / f"{limits.PARENT_PREFIX}{os.getpid()}"
    assert (directory / "cgroup.subtree_control").read_text() == "+memory +cpu"
    factory.for_worker("w2", 1769)
    assert (directory / "w2" / "memory.max").read_text() == str(1769 * 1024 * 1024)
    assert (directory / "w2" / "cpu.max").read_text() == "100000 100000"


def test_no_cgroups_falls_back_to_rlimit_as_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(limits, "detect_mode", lambda root=None: _detect(tmp_path, ""))
    factory = limits.LimitsFactory({limits.LIMITS_ENV: "on"}, root=tmp_path, cores=2)
    assert factory.mode == limits.MODE_RLIMIT
    with caplog.at_level("WARNING"):
        worker_limits = factory.for_worker("w3", 256)
    assert worker_limits.env == {limits.RLIMIT_ENV: str(256 * 1024 * 1024)} and worker_limits.dirs == []
    assert "RLIMIT_AS" in caplog.text and "NO CPU limit" in caplog.text


def test_limits_off_changes_nothing(tmp_path):
    _fake_v1(tmp_path)
    factory = limits.LimitsFactory({limits.LIMITS_ENV: "off"}, root=tmp_path, cores=2)
    worker_limits = factory.for_worker("w4", 128)
    assert factory.mode == worker_limits.mode == limits.MODE_OFF and worker_limits.env == {}
    assert not any(tmp_path.rglob(f"{limits.PARENT_PREFIX}*"))


def test_worker_applies_rlimit_as_from_the_executor(tmp_path):
    """The fallback: a worker started with WILDRYDES_RLIMIT_AS_BYTES cannot allocate past it."""
    code = "import os\ndef main(event, context):\n    return len(bytearray(300 * 1024 * 1024))\n"
    api = FakeRuntimeApi()
    task = tmp_path / "task"
    task.mkdir()
    (task / "handler.py").write_text(code)
    read_fd, write_fd = os.pipe()
    env = {
        "PATH": os.environ["PATH"],
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "handler.main",
        "LOCALSTACK_RUNTIME_ENDPOINT": api.url,
        "WILDRYDES_CONTROL_FD": str(write_fd),
        "WILDRYDES_PARENT_PID": str(os.getpid()),
        limits.RLIMIT_ENV: str(200 * 1024 * 1024),
    }
    process = subprocess.Popen(
        [sys.executable, "-u", worker.__file__],
        env=env,
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as control:
            port = int(control.readline())
            assert worker.parse_status_line(control.readline()) is None
        assert _invoke(port, {"invoke-id": "r-oom", "payload": "{}"}) == 200
        assert json.loads(api.wait_for("/invocations/r-oom/error"))["errorType"] == "MemoryError"
    finally:
        process.kill()
        process.wait()


def test_out_of_memory_payload_is_lambdas():
    payload = json.loads(errors.out_of_memory_payload("r9"))
    assert payload == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: r9 Error: Runtime exited with error: signal: killed",
    }


def test_worker_with_a_result_pipe_hands_results_to_the_executor_not_to_the_gateway(tmp_path):
    api = FakeRuntimeApi()
    task = tmp_path / "task"
    task.mkdir()
    (task / "handler.py").write_text(
        "def main(event, context):\n    print('hi')\n    return {'n': event['n']}\n"
    )
    read_fd, write_fd = os.pipe()
    result_read, result_write = os.pipe()
    env = {
        "PATH": os.environ["PATH"],
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "handler.main",
        "LOCALSTACK_RUNTIME_ENDPOINT": api.url,
        "WILDRYDES_CONTROL_FD": str(write_fd),
        "WILDRYDES_PARENT_PID": str(os.getpid()),
        worker.RESULT_FD_ENV: str(result_write),
    }
    process = subprocess.Popen(
        [sys.executable, "-u", worker.__file__],
        env=env,
        pass_fds=(write_fd, result_write),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    os.close(result_write)
    try:
        with os.fdopen(read_fd) as control:
            port = int(control.readline())
            assert worker.parse_status_line(control.readline()) is None
        with os.fdopen(result_read) as results:
            for n in (1, 2):
                assert _invoke(port, {"invoke-id": f"r{n}", "payload": json.dumps({"n": n})}) == 200
                request_id, logs, body, is_error = worker.result_message(results.readline())
                assert (request_id, json.loads(body), is_error) == (f"r{n}", {"n": n}, False)
                assert f"START RequestId: r{n}" in logs and "hi" in logs and f"REPORT RequestId: r{n}" in logs
        assert api.calls == []  # nothing went through LocalStack's gateway
    finally:
        process.kill()
        process.wait()


def test_deadlines_fire_in_order_on_one_thread_and_cancelled_ones_never():
    import time

    fired: list[str] = []
    deadlines = pool.Deadlines()
    deadlines.add(0.3, fired.append, "late")
    cancelled = deadlines.add(0.1, fired.append, "cancelled")
    deadlines.add(0.05, fired.append, "early")
    deadlines.cancel(cancelled)
    time.sleep(0.6)
    assert fired == ["early", "late"]


def test_worker_takes_invocations_from_its_invoke_pipe(tmp_path):
    api = FakeRuntimeApi()
    task = tmp_path / "task"
    task.mkdir()
    (task / "handler.py").write_text("def main(event, context):\n    return event\n")
    read_fd, write_fd = os.pipe()
    invoke_read, invoke_write = os.pipe()
    env = {
        "PATH": os.environ["PATH"],
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "handler.main",
        "WILDRYDES_CONTROL_FD": str(write_fd),
        "WILDRYDES_PARENT_PID": str(os.getpid()),
        worker.INVOKE_FD_ENV: str(invoke_read),
    }
    process = subprocess.Popen(
        [sys.executable, "-u", worker.__file__],
        env=env,
        pass_fds=(write_fd, invoke_read),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    os.close(invoke_read)
    try:
        with os.fdopen(read_fd) as control:
            control.readline()
            assert worker.parse_status_line(control.readline()) is None
        with os.fdopen(invoke_write, "w") as pipe:
            pipe.write(
                json.dumps(
                    {"invoke-id": "p1", "payload": '{"via": "pipe"}', worker.RUNTIME_ENDPOINT_KEY: api.url}
                )
                + "\n"
            )
            pipe.flush()
            assert json.loads(api.wait_for("/invocations/p1/response")) == {"via": "pipe"}
    finally:
        process.kill()
        process.wait()


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


def test_peak_memory_restarts_per_invocation():
    """REPORT's Max Memory Used is the invocation's peak: a worker that once held 100 MB reports less after
    the reset (run in a child so the test process's own peak does not matter)."""
    code = (
        "from wildrydes_process_executor import worker\n"
        "x = bytearray(100 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); del x\n"
        "before = worker.peak_memory_mb(); worker.reset_peak_memory()\n"
        "print(before, worker.peak_memory_mb())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after = map(int, out.split())
    assert before >= 100 and after < before - 50
