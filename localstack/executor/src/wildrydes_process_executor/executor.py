"""``ProcessRuntimeExecutor``: one local worker process per LocalStack execution environment.

LocalStack creates one execution environment (and so one executor) per concurrent invocation and reuses it
while warm. This class prepares the code and layers of a function version, forks the worker, and supervises
it: it enforces the function timeout (the worker is killed and replaced on the next invoke), turns a worker
that dies into ``Runtime.ExitError``, and kills the worker's whole process group on stop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import InvalidStateError
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

from . import EXECUTOR_NAME, errors, layout, spawner

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
        self._process: subprocess.Popen | None = None
        self._intended_exits: set[int] = set()
        self._env_vars: dict[str, str] = {}
        self._current_request: str | None = None
        self._log_offset = 0
        workers = state_dir() / "workers"
        workers.mkdir(parents=True, exist_ok=True)
        self._log_path = workers / f"{id}.log"
        self._pid_path = workers / f"{id}.pid"

    # ------------------------------------------------------------------ lifecycle
    def start(self, env_vars: dict[str, str]) -> None:
        self._env_vars = dict(env_vars)
        self._spawn_and_wait(startup_timeout=None)  # LocalStack's own start-up timer bounds the first start

    def stop(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            self._kill(process)
        try:
            self.executor_endpoint.shutdown()
        except Exception as exc:  # noqa: BLE001 - endpoint may already be unregistered after a failed start
            LOG.debug("executor endpoint %s shutdown: %s", self.id, exc)

    def _spawn_and_wait(self, startup_timeout: float | None) -> None:
        config_ = self.function_version.config
        try:
            interpreter = layout.interpreter_for(
                _plain(config_.runtime), _plain(config_.package_type), os.environ
            )
        except layout.UnsupportedFunction as exc:
            raise LambdaRuntimeException(
                errors.unsupported_message(self.function_version.id.function_name, str(exc))
            ) from exc
        task_root = Path(config_.code.get_unzipped_code_location())
        layer_paths = (
            layout.layer_sys_path(_layers_root(self.function_version), _plain(config_.runtime))
            if config_.layers
            else []
        )
        tmp_dir = state_dir() / "tmp" / self.id
        tmp_dir.mkdir(parents=True, exist_ok=True)
        env = layout.worker_environment(self._env_vars, task_root, tmp_dir, os.environ)
        if config_.layers:
            env["LD_LIBRARY_PATH"] = layout.layer_library_path(_layers_root(self.function_version), task_root)

        self.executor_endpoint.start()  # (re)registers the routes and a fresh start-up future
        read_fd, write_fd = os.pipe()
        env.update(
            WILDRYDES_CONTROL_FD=str(write_fd),
            WILDRYDES_PARENT_PID=str(os.getpid()),
            WILDRYDES_LAYER_PATHS=json.dumps(layer_paths),
        )
        try:
            with open(self._log_path, "ab") as log_file:
                process = spawner.popen(
                    [interpreter, "-u", "-s", str(WORKER_SCRIPT)],
                    env=env,
                    cwd=task_root,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    start_new_session=True,  # own process group: stop() kills anything the function spawned
                )
        finally:
            os.close(write_fd)
        with self._lock:
            self._process = process
        self._pid_path.write_text(str(process.pid))
        threading.Thread(target=self._watch, args=(process,), name=f"watch-{self.id}", daemon=True).start()
        LOG.debug(
            "worker %s for %s started as pid %s", self.id, self.function_version.qualified_arn, process.pid
        )

        port = self._read_port(read_fd, timeout=startup_timeout or config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        if port:
            self.executor_endpoint.container_port = port
        if startup_timeout is None:
            self.executor_endpoint.wait_for_startup()
        else:
            self.executor_endpoint.startup_future.result(timeout=startup_timeout)

    @staticmethod
    def _read_port(read_fd: int, timeout: float) -> int | None:
        """The worker writes its HTTP port on the control pipe; EOF means it died (the watcher reports why)."""
        with os.fdopen(read_fd, "r") as control:
            ready, _, _ = select.select([control], [], [], timeout)
            line = control.readline() if ready else ""
        return int(line) if line.strip() else None

    def _watch(self, process: subprocess.Popen) -> None:
        """Turn an unexpected worker exit into the error LocalStack is waiting for, instead of a hang."""
        returncode = process.wait()
        with self._lock:
            if self._process is process:
                self._process = None
            intended = process.pid in self._intended_exits
            self._intended_exits.discard(process.pid)
        if self._pid_path.exists() and self._pid_path.read_text() == str(process.pid):
            self._pid_path.unlink(missing_ok=True)
        if intended:
            return
        endpoint = self.executor_endpoint
        request_id = self._current_request
        LOG.info("worker %s (pid %s) exited with %s", self.id, process.pid, returncode)
        if endpoint.startup_future is not None and not endpoint.startup_future.done():
            payload = errors.exit_error_payload(request_id or "", returncode)
            _settle(endpoint.startup_future, exception=StatusErrorException("worker exited", payload=payload))
        elif request_id and endpoint.invocation_future is not None and not endpoint.invocation_future.done():
            logs = self._logs_since(self._log_offset) + (
                f"RequestId: {request_id} Error: Runtime exited with error: {errors.exit_reason(returncode)}\n"
                "Runtime.ExitError\n"
            )
            result = InvocationResult(
                request_id, errors.exit_error_payload(request_id, returncode), True, logs
            )
            _settle(endpoint.invocation_future, result=result)

    def _kill(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._intended_exits.add(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            LOG.warning("worker pid %s did not exit after SIGKILL", process.pid)

    # ------------------------------------------------------------------ invocation
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        with self._lock:
            alive = self._process is not None and self._process.poll() is None
        if not alive:  # replaced after a timeout or crash: cold start, as on AWS
            try:
                self._spawn_and_wait(startup_timeout=RESTART_TIMEOUT_SECONDS)
            except StatusErrorException as exc:
                return InvocationResult(request_id, exc.payload, True, "")
        self._log_offset = self._log_path.stat().st_size if self._log_path.exists() else 0
        self._current_request = request_id
        timeout_seconds = float(self.function_version.config.timeout)
        timer = threading.Timer(timeout_seconds, self._on_timeout, args=(request_id, timeout_seconds))
        timer.daemon = True
        timer.start()
        try:
            return self.executor_endpoint.invoke(payload)
        except (InvokeSendError, requests.ConnectionError) as exc:
            LOG.warning("worker %s unreachable for %s: %s", self.id, request_id, exc)
            with self._lock:
                process = self._process
            returncode = process.poll() if process is not None else None
            if process is not None and returncode is None:
                self._kill(process)
                returncode = -signal.SIGKILL
            return InvocationResult(
                request_id, errors.exit_error_payload(request_id, returncode or 1), True, ""
            )
        finally:
            timer.cancel()
            self._current_request = None

    def _on_timeout(self, request_id: str, timeout_seconds: float) -> None:
        future = self.executor_endpoint.invocation_future
        if self._current_request != request_id or future is None or future.done():
            return
        message = errors.timeout_message(request_id, timeout_seconds)
        logs = self._logs_since(self._log_offset) + f"{message}\nEND RequestId: {request_id}\n"
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            self._kill(process)  # the next invoke starts a fresh worker
        result = InvocationResult(request_id, errors.timeout_payload(request_id, timeout_seconds), True, logs)
        _settle(future, result=result)

    def _logs_since(self, offset: int) -> str:
        try:
            with open(self._log_path, "rb") as log_file:
                log_file.seek(offset)
                return log_file.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ addresses
    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{LOOPBACK}:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def get_logs(self) -> str:
        try:
            size = self._log_path.stat().st_size
        except OSError:
            return "worker not started"
        return self._logs_since(max(0, size - LOG_TAIL_BYTES))

    # ------------------------------------------------------------------ versions
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        config_ = function_version.config
        try:
            layout.interpreter_for(_plain(config_.runtime), _plain(config_.package_type), os.environ)
        except layout.UnsupportedFunction as exc:
            # Raised here, the function goes to state Failed with this reason instead of failing at invoke.
            raise LambdaRuntimeException(
                errors.unsupported_message(function_version.id.function_name, str(exc))
            ) from exc
        config_.code.prepare_for_execution()
        layer_dirs = []
        for layer in config_.layers or []:
            layer.code.prepare_for_execution()
            layer_dirs.append(Path(layer.code.get_unzipped_code_location()))
        if layer_dirs:
            layout.merge_layers(layer_dirs, _layers_root(function_version))

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
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
        try:  # the deployed runtime must run; others (python3.12) only when configured
            layout.interpreter_for(layout.DEFAULT_RUNTIME, layout.ZIP_PACKAGE, os.environ)
            ok = True
        except layout.UnsupportedFunction as exc:
            status["error"] = str(exc)
            ok = False
        LOG.warning("wildrydes process executor active: %s", json.dumps(status))
        marker = os.environ.get(MARKER_ENV)
        if marker:
            Path(marker).parent.mkdir(parents=True, exist_ok=True)
            Path(marker).write_text(json.dumps(status))
        return ok


def _settle(future, *, result=None, exception=None) -> None:
    """Complete a future unless the worker already did (a late answer racing a timeout or an exit)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass
