"""``ProcessRuntimeExecutor``: LocalStack's execution environments on warm local worker processes.

LocalStack creates one execution environment (and so one executor) per concurrent invocation and reuses it
while warm. The workers themselves belong to a pool per function version (pool.py) that every environment of
that version leases from, so a new environment does not pay a cold start while a warm worker is free or about
to be. This class prepares the code and layers of a function version, forks workers, and supervises each
invocation: it enforces the function timeout (the worker is killed; the next invoke gets another), turns a
worker that dies into ``Runtime.ExitError``, and closes the version's pool when the version goes away.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import Future, InvalidStateError
from importlib import metadata
from pathlib import Path

import requests
from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    InvokeSendError,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from . import EXECUTOR_NAME, errors, layout, limits, pool, spawner
from . import worker as worker_protocol

LOG = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
LOOPBACK = "127.0.0.1"
# Where prepared layers, worker logs and PID files live;
# src/wildrydes_dev/emulators.py points it into build/localstack/<port>/.
STATE_DIR_ENV = "WILDRYDES_EXECUTOR_STATE_DIR"
# File written when LocalStack loads this executor, so start-up tooling can prove it is the active one.
MARKER_ENV = "WILDRYDES_EXECUTOR_MARKER"
# How long a worker restarted after a timeout or crash may take to report ready.
RESTART_TIMEOUT_SECONDS = config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT
# get_logs() returns at most this much of the worker's log file (it is only used for diagnostics).
LOG_TAIL_BYTES = 64 * 1024
# How long an invocation waits for its result at most, as LocalStack's endpoint: Lambda's 900 s maximum + 5 s.
MAX_INVOCATION_WAIT_SECONDS = 905
_worker_numbers = itertools.count(1)


def state_dir() -> Path:
    root = os.environ.get(STATE_DIR_ENV) or os.path.join(tempfile.gettempdir(), "wildrydes-process-executor")
    return Path(root)


def _plain(value) -> str:
    """LocalStack's API enums -> their wire value (``Runtime.python3_13`` -> ``python3.13``)."""
    return str(getattr(value, "value", value))


def _layers_root(function_version: FunctionVersion) -> Path:
    # Keyed by revision: a configuration-only update (e.g. removing a layer) keeps the code hash but not this.
    return state_dir() / "layers" / function_version.config.revision_id


class ProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ExecutorEndpoint(id, container_address=LOOPBACK, container_port=None)
        self._lock = threading.RLock()
        self._env_vars: dict[str, str] = {}
        self._worker: pool.Worker | None = None  # leased for the invocation in flight
        self._current_request: str | None = None
        self._log_offset = 0
        self._last_log: Path | None = None
        self._pool = pool.pool_for(
            _pool_key(function_version),
            lambda: _cap(function_version),
            pool.configured_idle_seconds(os.environ),
        )

    # ------------------------------------------------------------------ lifecycle
    def start(self, env_vars: dict[str, str]) -> None:
        """Register this environment's endpoint; make sure a warm worker exists (a cold start only if none).

        LocalStack's own start-up timer bounds the wait; an init error of the function is raised as
        LocalStack's StatusErrorException, as its executor endpoint would have raised it."""
        self._env_vars = dict(env_vars)
        self.executor_endpoint.start()
        try:
            worker = self._pool.acquire(self._spawn, timeout=config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        except pool.WorkerInitError as exc:
            raise StatusErrorException("Environment startup failed", payload=exc.payload) from exc
        except (TimeoutError, pool.PoolClosed) as exc:
            raise LambdaRuntimeException(
                f"no worker for {self.function_version.qualified_arn}: {exc}"
            ) from exc
        self._last_log = worker.log_path
        self._pool.release(worker)

    def stop(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:  # stopped mid-invocation (LocalStack gave up on it): not reusable
            self._pool.discard(worker)
        try:
            self.executor_endpoint.shutdown()
        except Exception as exc:  # noqa: BLE001 - endpoint may already be unregistered after a failed start
            LOG.debug("executor endpoint %s shutdown: %s", self.id, exc)

    def _spawn(self) -> pool.Worker:
        """Fork one worker for this function version and wait until its handler is imported (or failed to)."""
        config_ = self.function_version.config
        try:
            interpreter = layout.interpreter_for(
                _plain(config_.runtime), _plain(config_.package_type), os.environ
            )
        except layout.UnsupportedFunction as exc:
            message = errors.unsupported_message(self.function_version.id.function_name, str(exc))
            raise LambdaRuntimeException(message) from None
        task_root = Path(config_.code.get_unzipped_code_location())
        layer_paths = (
            layout.layer_sys_path(_layers_root(self.function_version), _plain(config_.runtime))
            if config_.layers
            else []
        )
        worker_id = f"{self.id[:12]}-{next(_worker_numbers)}"
        tmp_dir = state_dir() / "tmp" / worker_id
        tmp_dir.mkdir(parents=True, exist_ok=True)
        env = layout.worker_environment(self._env_vars, task_root, tmp_dir, os.environ)
        if config_.layers:
            env["LD_LIBRARY_PATH"] = layout.layer_library_path(_layers_root(self.function_version), task_root)
        workers = state_dir() / "workers"
        workers.mkdir(parents=True, exist_ok=True)
        log_path, pid_path = workers / f"{worker_id}.log", workers / f"{worker_id}.pid"
        worker_limits = _limits().for_worker(worker_id, int(config_.memory_size))
        env.update(worker_limits.env)

        read_fd, write_fd = os.pipe()
        result_read_fd, result_write_fd = os.pipe()
        invoke_read_fd, invoke_write_fd = os.pipe()
        env[worker_protocol.INVOKE_FD_ENV] = str(invoke_read_fd)
        env.update(
            WILDRYDES_CONTROL_FD=str(write_fd),
            WILDRYDES_PARENT_PID=str(os.getpid()),
            WILDRYDES_LAYER_PATHS=json.dumps(layer_paths),
        )
        env[worker_protocol.RESULT_FD_ENV] = str(result_write_fd)
        try:
            with open(log_path, "ab") as log_file:
                process = spawner.popen(
                    [interpreter, "-u", "-s", str(WORKER_SCRIPT)],
                    env=env,
                    cwd=task_root,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd, result_write_fd, invoke_read_fd),
                    start_new_session=True,  # own process group: a kill takes anything the function spawned
                )
        except BaseException:
            os.close(result_read_fd)
            os.close(invoke_write_fd)
            raise
        finally:
            os.close(write_fd)
            os.close(result_write_fd)
            os.close(invoke_read_fd)
        pid_path.write_text(str(process.pid))
        try:
            worker_limits.add(process.pid)  # before the handler is imported: the worker is still starting up
        except OSError as exc:
            LOG.warning(
                "worker %s runs WITHOUT its limits (%s): %s", worker_id, worker_limits.describe(), exc
            )
        LOG.debug(
            "worker %s of %s: pid %s (%s)",
            worker_id,
            self.function_version.qualified_arn,
            process.pid,
            worker_limits.describe(),
        )
        with os.fdopen(read_fd, "r") as control:
            port_line = _read_line(control, config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
            status = _read_line(control, config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT) if port_line else ""
        port = int(port_line or 0)
        worker = pool.Worker(
            worker_id,
            process,
            port,
            log_path,
            pid_path,
            limits=worker_limits,
            invoke_pipe=os.fdopen(invoke_write_fd, "w", encoding="utf-8"),
        )
        _read_results(worker, result_read_fd)
        failure = worker_protocol.parse_status_line(status) if port_line and status else None
        if not port_line or not status or failure is not None:
            worker.kill()
            oom = worker_limits.oom_killed()
            worker_limits.remove()
            pid_path.unlink(missing_ok=True)
            if failure is not None:
                raise pool.WorkerInitError(json.dumps(failure).encode())
            # EOF: it died (or hung) before its handler was imported
            returncode = process.poll()
            code = returncode if returncode is not None else 1
            payload = errors.out_of_memory_payload("") if oom else errors.exit_error_payload("", code)
            raise pool.WorkerInitError(payload)
        worker.watch(self._pool_watch)
        return worker

    def _pool_watch(self, worker: pool.Worker, returncode: int) -> None:
        """Watcher callback of every worker this executor spawned: drop it from the pool; report a crash."""
        if worker.limits is not None:
            worker.oom_killed = worker.limits.oom_killed()
            worker.limits.remove()
        self._pool.forget(worker)
        callback = worker.on_unexpected_exit
        if not worker.intended_exit and callback is not None:
            callback(worker, returncode)

    def _worker_exited(self, worker: pool.Worker, returncode: int) -> None:
        """Turn an unexpected exit of the leased worker into the error LocalStack is waiting for."""
        endpoint = self.executor_endpoint
        request_id = self._current_request
        LOG.info("worker %s (pid %s) exited with %s", worker.id, worker.pid, returncode)
        if request_id and endpoint.invocation_future is not None and not endpoint.invocation_future.done():
            kind = errors.OUT_OF_MEMORY if worker.oom_killed else "Runtime.ExitError"
            logs = _logs_since(worker.log_path, self._log_offset) + (
                f"RequestId: {request_id} Error: Runtime exited with error: {errors.exit_reason(returncode)}\n"
                f"{kind}\n"
            )
            payload = (
                errors.out_of_memory_payload(request_id)
                if worker.oom_killed
                else errors.exit_error_payload(request_id, returncode)
            )
            _settle(endpoint.invocation_future, result=InvocationResult(request_id, payload, True, logs))

    # ------------------------------------------------------------------ invocation
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_seconds = float(self.function_version.config.timeout)
        try:
            # A worker replaced after a timeout or crash is a cold start, as on AWS; a busy pool waits.
            worker = self._pool.acquire(self._spawn, timeout=max(timeout_seconds, RESTART_TIMEOUT_SECONDS))
        except pool.WorkerInitError as exc:
            return InvocationResult(request_id, exc.payload, True, "")
        except (TimeoutError, pool.PoolClosed) as exc:
            raise LambdaRuntimeException(
                f"no worker for {self.function_version.qualified_arn}: {exc}"
            ) from exc
        self._log_offset = worker.log_path.stat().st_size if worker.log_path.exists() else 0
        self._last_log = worker.log_path
        self.executor_endpoint.container_port = worker.port
        with self._lock:
            self._worker = worker
            self._current_request = request_id
            worker.on_unexpected_exit = self._worker_exited
            worker.on_result = self._on_result
        deadline = _deadlines.add(timeout_seconds, self._on_timeout, worker, request_id, timeout_seconds)
        try:
            if not worker.alive():  # died between the lease and now (the watcher may not have run yet)
                raise InvokeSendError(f"worker {worker.id} exited")
            return self._dispatch(worker, payload)
        except (InvokeSendError, requests.ConnectionError) as exc:
            LOG.warning("worker %s unreachable for %s: %s", worker.id, request_id, exc)
            returncode = worker.process.poll()
            if returncode is None:
                self._pool.discard(worker)
                returncode = -signal.SIGKILL
            return InvocationResult(
                request_id, errors.exit_error_payload(request_id, returncode or 1), True, ""
            )
        finally:
            _deadlines.cancel(deadline)
            with self._lock:
                self._current_request = None
                leased, self._worker = self._worker, None
            if leased is not None:
                leased.on_unexpected_exit = None
                leased.on_result = None
                self._pool.release(leased)

    def _dispatch(self, worker: pool.Worker, payload: dict[str, str]) -> InvocationResult:
        """LocalStack's ExecutorEndpoint.invoke without its HTTP POST (a new requests session per call, in
        the GIL-bound process serving the API): the invocation goes down the worker's invoke pipe, the result
        comes back on its result pipe (_on_result) and completes the future LocalStack's endpoint would."""
        endpoint = self.executor_endpoint
        endpoint.invocation_future = Future()
        endpoint.logs = None
        line = json.dumps({**payload, worker_protocol.RUNTIME_ENDPOINT_KEY: self.get_runtime_endpoint()})
        try:
            worker.invoke_pipe.write(line + "\n")
            worker.invoke_pipe.flush()
        except (OSError, ValueError) as exc:  # EPIPE / closed: the worker is gone
            raise InvokeSendError(f"worker {worker.id} cannot take invocations: {exc}") from exc
        return endpoint.invocation_future.result(timeout=MAX_INVOCATION_WAIT_SECONDS)

    def _on_result(self, request_id: str, logs: str, body: bytes, is_error: bool) -> None:
        """A result from the leased worker's result pipe: complete the invocation LocalStack waits for."""
        future = self.executor_endpoint.invocation_future
        if request_id != self._current_request or future is None or future.done():
            LOG.debug("late result for %s dropped (current: %s)", request_id, self._current_request)
            return
        _settle(future, result=InvocationResult(request_id, body, is_error, logs))

    def _on_timeout(self, worker: pool.Worker, request_id: str, timeout_seconds: float) -> None:
        future = self.executor_endpoint.invocation_future
        if self._current_request != request_id or future is None or future.done():
            return
        message = errors.timeout_message(request_id, timeout_seconds)
        logs = _logs_since(worker.log_path, self._log_offset) + f"{message}\nEND RequestId: {request_id}\n"
        with self._lock:
            if self._worker is worker:
                self._worker = None
        self._pool.discard(worker)  # the next invoke gets another worker (a fresh one if none is warm)
        result = InvocationResult(request_id, errors.timeout_payload(request_id, timeout_seconds), True, logs)
        _settle(future, result=result)

    # ------------------------------------------------------------------ addresses
    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{LOOPBACK}:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def get_logs(self) -> str:
        if self._last_log is None:
            return "worker not started"
        try:
            size = self._last_log.stat().st_size
        except OSError:
            return "worker not started"
        return _logs_since(self._last_log, max(0, size - LOG_TAIL_BYTES))

    # ------------------------------------------------------------------ versions
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        config_ = function_version.config
        try:
            layout.interpreter_for(_plain(config_.runtime), _plain(config_.package_type), os.environ)
        except layout.UnsupportedFunction as exc:
            # Raised here, the function goes to state Failed with this reason instead of failing at invoke.
            message = errors.unsupported_message(function_version.id.function_name, str(exc))
            raise LambdaRuntimeException(message) from None
        config_.code.prepare_for_execution()
        layer_dirs = []
        for layer in config_.layers or []:
            layer.code.prepare_for_execution()
            layer_dirs.append(Path(layer.code.get_unzipped_code_location()))
        if layer_dirs:
            layout.merge_layers(layer_dirs, _layers_root(function_version))

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pool.close_pool(_pool_key(function_version))  # updated or deleted: its warm workers stop
        shutil.rmtree(_layers_root(function_version), ignore_errors=True)

    @classmethod
    def validate_environment(cls) -> bool:
        """Called when LocalStack's Lambda service starts: record that this executor is the active one."""
        status = {"executor": EXECUTOR_NAME, "pid": os.getpid(), "state_dir": str(state_dir())}
        try:
            status["version"] = metadata.version("wildrydes-localstack-executor")
        except metadata.PackageNotFoundError:
            status["version"] = "unknown"
        status["runtimes"] = layout.available_runtimes(os.environ)
        try:
            status["limits"] = _limits().mode
            if status["limits"] in (limits.MODE_V1, limits.MODE_V2):
                limits.remove_stale_parents()
        except ValueError as exc:  # a bad WILDRYDES_EXECUTOR_LIMITS value
            status["error"] = str(exc)
        try:  # the deployed runtime must run; others (python3.12) only when configured
            layout.interpreter_for(layout.DEFAULT_RUNTIME, layout.ZIP_PACKAGE, os.environ)
            ok = True
        except layout.UnsupportedFunction as exc:
            status["error"] = str(exc)
            ok = False
        ok = ok and "error" not in status
        LOG.warning("wildrydes process executor active: %s", json.dumps(status))
        marker = os.environ.get(MARKER_ENV)
        if marker:
            Path(marker).parent.mkdir(parents=True, exist_ok=True)
            Path(marker).write_text(json.dumps(status))
        return ok


def _pool_key(function_version: FunctionVersion) -> str:
    # Keyed like the layers: a configuration-only update (new environment variables) needs new workers too.
    return f"{function_version.qualified_arn}@{function_version.config.revision_id}"


def _cap(function_version: FunctionVersion) -> int:
    """The version's reserved concurrency (read live: put-function-concurrency applies at once) or the cap."""
    reserved = None
    try:
        from localstack.services.lambda_.invocation.models import lambda_stores

        fn_id = function_version.id
        function = lambda_stores[fn_id.account][fn_id.region].functions.get(fn_id.function_name)
        reserved = function.reserved_concurrent_executions if function is not None else None
    except Exception as exc:  # noqa: BLE001 - the store layout is LocalStack-internal: fall back to the cap
        LOG.debug("reserved concurrency of %s unknown: %s", function_version.qualified_arn, exc)
    return pool.pool_cap(reserved, pool.configured_max_warm(os.environ))


_deadlines = pool.Deadlines()
_limits_factory: limits.LimitsFactory | None = None
_limits_lock = threading.Lock()


def _limits() -> limits.LimitsFactory:
    """One factory per LocalStack process: detects cgroups once, names their parent folder after our PID."""
    global _limits_factory
    with _limits_lock:
        if _limits_factory is None:
            _limits_factory = limits.LimitsFactory(os.environ)
            LOG.info("Lambda limits for workers: %s", _limits_factory.mode)
        return _limits_factory


def _read_results(worker: pool.Worker, fd: int) -> None:
    """A thread per worker: each result line goes to whoever leases the worker (until the worker exits)."""

    def read() -> None:
        with os.fdopen(fd, "r", encoding="utf-8") as results:
            for line in results:
                try:
                    message = worker_protocol.result_message(line)
                except (ValueError, KeyError) as exc:
                    LOG.warning("worker %s sent a malformed result: %s", worker.id, exc)
                    continue
                callback = worker.on_result
                if callback is not None:
                    callback(*message)
                else:
                    LOG.debug("result %s of worker %s arrived with nobody waiting", message[0], worker.id)

    threading.Thread(target=read, name=f"results-{worker.id}", daemon=True).start()


def _read_line(control, timeout: float) -> str:
    """One line of the worker's control pipe, or "" on EOF (it died) or after ``timeout`` seconds."""
    ready, _, _ = select.select([control], [], [], timeout)
    return control.readline() if ready else ""


def _logs_since(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as log_file:
            log_file.seek(offset)
            return log_file.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _settle(future, *, result=None, exception=None) -> None:
    """Complete a future unless the worker already did (a late answer racing a timeout or an exit)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass
