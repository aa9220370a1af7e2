"""Start, stop and inspect the local AWS emulators: LocalStack (host mode, no Docker) and a moto server.

    python -m wildrydes_dev.emulators up     [--port 4566] [--moto-port 4567]
    python -m wildrydes_dev.emulators down   [--port 4566]
    python -m wildrydes_dev.emulators status [--port 4566]

Each instance keeps everything under ``build/localstack/<port>/``: its own TMPDIR (host-mode LocalStack wipes
``$TMPDIR/localstack`` at start and stop, so instances must not share one), volume dir, PID files, logs and the
``process`` executor's state (worker logs and PIDs). Readiness is a real API call, never the health endpoint
(which reports "available" while every call fails), and start-up fails loudly unless the ``process`` Lambda
executor is the one LocalStack actually loaded. Only processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from wildrydes_dev import localaws

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
LOCALSTACK_VENV = Path(os.environ.get("WILDRYDES_LOCALSTACK_VENV") or BUILD / "localstack-venv")
# The Lambda runtime the functions deploy on, and the venv standing in for it (`make lambda-runtime`).
LAMBDA_RUNTIME = "python3.13"
LAMBDA_RUNTIME_VENV = Path(os.environ.get("WILDRYDES_LAMBDA_RUNTIME_VENV") or BUILD / "lambda-runtime-py313")
# Other runtimes the process executor can run when an interpreter is configured for them (by environment
# variable, e.g. WILDRYDES_LAMBDA_PYTHON312=/path/to/a/3.12/runtime-venv/bin/python); passed through as given.
OPTIONAL_RUNTIME_INTERPRETER_ENV = {"python3.12": "WILDRYDES_LAMBDA_PYTHON312"}
EXECUTOR_DIST = "wildrydes_localstack_executor"
EXECUTOR_NAME = "process"
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15
POLL_SECONDS = 0.2
# Workers poll their parent once a second as a fallback to the kernel's parent-death signal.
WORKER_EXIT_GRACE_SECONDS = 3
# LocalStack settings for fast, offline tests (see docs/localstack.md for each one's reason).
# LocalStack runs through the executor package's entry point, which binds its gateway to GATEWAY_LISTEN's host
# (LocalStack's twisted gateway alone listens on every interface; see localstack_main.py for why not hypercorn).
LOCALSTACK_ENTRY = "wildrydes_process_executor.localstack_main"
LEGACY_LOCALSTACK_ENTRY = "localstack.runtime.main"  # how older checkouts started it
LOCALSTACK_SPEED_SETTINGS = {
    "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": "1",
    "LAMBDA_RETRY_BASE_DELAY": "1",
}
# LocalStack's own service-to-service calls (API Gateway -> Lambda Invoke, Lambda -> CloudWatch Logs and
# metrics, S3 -> Lambda notifications, SQS pollers) go straight into its gateway's handler chain instead of
# over a loopback HTTP connection back to itself: about a third less of its one-process CPU per API request
# (docs/localstack.md, "Where LocalStack's time goes"). Set in the environment (e.g. IN_MEMORY_CLIENT=0) to
# override, as for a before/after measurement.
LOCALSTACK_DEFAULT_SETTINGS = {
    "IN_MEMORY_CLIENT": "1",
}


class EmulatorError(RuntimeError):
    """The emulators could not be started, verified or stopped; the message says what is missing."""


@dataclasses.dataclass(frozen=True)
class Instance:
    """Where one LocalStack + moto pair listens and keeps its state."""

    port: int
    moto_port: int

    @property
    def state_dir(self) -> Path:
        return BUILD / "localstack" / str(self.port)

    @property
    def tmp_dir(self) -> Path:
        return self.state_dir / "tmp"

    @property
    def volume_dir(self) -> Path:
        return self.state_dir / "volume"

    @property
    def executor_dir(self) -> Path:
        return self.state_dir / "executor"

    @property
    def workers_dir(self) -> Path:
        return self.executor_dir / "workers"

    @property
    def marker(self) -> Path:
        return self.state_dir / "executor-active.json"

    @property
    def boot_id_file(self) -> Path:
        """Written at every start: state made against this instance (Terraform's) records it and can tell
        it belongs to an earlier, vanished instance (the emulators keep nothing across a restart)."""
        return self.state_dir / "boot-id"

    @property
    def localstack_pid_file(self) -> Path:
        return self.state_dir / "localstack.pid"

    @property
    def moto_pid_file(self) -> Path:
        return self.state_dir / "moto.pid"

    @property
    def localstack_log(self) -> Path:
        return self.state_dir / "localstack.log"

    @property
    def moto_log(self) -> Path:
        return self.state_dir / "moto.log"

    @property
    def endpoint_url(self) -> str:
        return localaws.endpoint_url(self.port)

    @property
    def moto_endpoint_url(self) -> str:
        return localaws.moto_endpoint_url(self.moto_port)

    def env(self) -> dict[str, str]:
        """Variables for a subprocess (CLI, Terraform, pytest) that must use this instance."""
        return localaws.subprocess_env(self.port, self.moto_port)

    def client(self, service: str, **kwargs):
        return localaws.boto3_client(service, self.port, self.moto_port, **kwargs)

    def worker_pids(self) -> list[int]:
        """PIDs of the Lambda workers the executor currently runs (from its PID files)."""
        pids = []
        for pid_file in self.workers_dir.glob("*.pid"):
            try:
                pids.append(int(pid_file.read_text()))
            except (OSError, ValueError):
                continue
        return pids


# ----------------------------------------------------------------------------- processes
def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _read_pid(pid_file: Path, expect_in_cmdline: str) -> int | None:
    """The PID in ``pid_file`` if that process is still ours (guards against a recycled PID). A LocalStack
    started by an older checkout (plain ``localstack.runtime.main``) still counts as ours, so that
    ``make localstack-down`` stops it."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    markers = (
        (expect_in_cmdline, LEGACY_LOCALSTACK_ENTRY)
        if expect_in_cmdline == LOCALSTACK_ENTRY
        else (expect_in_cmdline,)
    )
    if pid_alive(pid) and any(marker in _cmdline(pid) for marker in markers):
        return pid
    return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((localaws.HOST, port)) == 0


def free_port_pair() -> tuple[int, int]:
    """Two consecutive free loopback ports (LocalStack, moto)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind((localaws.HOST, 0))
            port = sock.getsockname()[1]
        if port < 65535 and not port_in_use(port) and not port_in_use(port + 1):
            return port, port + 1
    raise EmulatorError("no free pair of loopback ports found")


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_pid(pid: int, name: str) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(POLL_SECONDS)
    print(f"{name} (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT_SECONDS}s; killing it", file=sys.stderr)
    os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- prerequisites
def localstack_python() -> Path:
    return LOCALSTACK_VENV / "bin" / "python"


def lambda_runtime_python() -> Path:
    return LAMBDA_RUNTIME_VENV / "bin" / "python"


def runtime_interpreters(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The executor's runtime map as environment variables: python3.13 -> the runtime venv, plus any optional
    runtime whose variable is set (the executor refuses every runtime without an interpreter)."""
    environ = os.environ if environ is None else environ
    interpreters = {"WILDRYDES_LAMBDA_PYTHON313": str(lambda_runtime_python())}
    for variable in OPTIONAL_RUNTIME_INTERPRETER_ENV.values():
        if environ.get(variable):
            interpreters[variable] = environ[variable]
    return interpreters


def check_prerequisites() -> None:
    """Fail with one message naming everything that is missing, and how to get it."""
    problems = []
    ls_python = localstack_python()
    if not ls_python.exists():
        try:
            from wildrydes_dev.find_python import PythonNotFound, find_python

            find_python("3.13")
            problems.append(f"LocalStack venv missing ({LOCALSTACK_VENV}): run `make localstack-venv`")
        except PythonNotFound as exc:
            problems.append(f"LocalStack venv missing ({LOCALSTACK_VENV}) and it cannot be built: {exc}")
    else:
        site = list(LOCALSTACK_VENV.glob("lib/python3.13/site-packages"))
        if not site:
            problems.append(
                f"{LOCALSTACK_VENV} is not a Python 3.13 venv (LocalStack 4.14.0 needs 3.13): "
                "delete it and run `make localstack-venv`"
            )
        elif not list(site[0].glob(f"{EXECUTOR_DIST}-*.dist-info")) and not list(
            site[0].glob(f"__editable__*{EXECUTOR_DIST}*")
        ):
            problems.append(
                f"the '{EXECUTOR_NAME}' Lambda executor package (localstack/executor) is not installed "
                f"in {LOCALSTACK_VENV}: run `make localstack-venv`"
            )
    if not lambda_runtime_python().exists():
        problems.append(
            f"Lambda runtime venv missing ({LAMBDA_RUNTIME_VENV}, Python 3.13 + boto3): "
            "run `make lambda-runtime`"
        )
    try:
        import moto.server  # noqa: F401
    except ImportError:
        problems.append(f"moto[server] is not importable by {sys.executable}: run `make venv`")
    if problems:
        raise EmulatorError("cannot start the emulators:\n  - " + "\n  - ".join(problems))


# ----------------------------------------------------------------------------- start / stop
def localstack_environment(instance: Instance, executor: str = EXECUTOR_NAME) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_", "GATEWAY_"))}
    env.update(
        GATEWAY_LISTEN=f"{localaws.HOST}:{instance.port}",
        # Queue URLs and other self-references must resolve offline: no *.localhost.localstack.cloud names.
        LOCALSTACK_HOST=f"{localaws.HOST}:{instance.port}",
        SQS_ENDPOINT_STRATEGY="off",
        DNS_ADDRESS="0",
        DISABLE_EVENTS="1",
        SKIP_SSL_CERT_DOWNLOAD="1",
        LOCALSTACK_VOLUME_DIR=str(instance.volume_dir),
        TMPDIR=str(instance.tmp_dir),
        LAMBDA_RUNTIME_EXECUTOR=executor,
        **runtime_interpreters(),
        WILDRYDES_EXECUTOR_STATE_DIR=str(instance.executor_dir),
        WILDRYDES_EXECUTOR_MARKER=str(instance.marker),
        **LOCALSTACK_SPEED_SETTINGS,
    )
    for key, value in LOCALSTACK_DEFAULT_SETTINGS.items():
        env.setdefault(key, value)
    return env


def running(instance: Instance) -> bool:
    return _read_pid(instance.localstack_pid_file, LOCALSTACK_ENTRY) is not None


def _spawn(args: list[str], env: dict[str, str], log: Path, pid_file: Path) -> subprocess.Popen:
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal must not kill a background emulator
        )
    pid_file.write_text(str(process.pid))
    return process


def _wait_ready(
    instance: Instance, process: subprocess.Popen, moto: subprocess.Popen | None, deadline: float
):
    """Poll real API calls until both emulators answer (or one of them exits)."""
    from botocore.config import Config

    quick = {"config": Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)}
    last_error: Exception | None = None
    pending = ["s3", "sqs", "lambda"] + (["athena"] if moto else [])
    while pending and time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(
                f"LocalStack exited with code {process.returncode} during start-up; "
                f"log {instance.localstack_log}:\n{_tail(instance.localstack_log)}"
            )
        if moto is not None and moto.poll() is not None:
            raise EmulatorError(
                f"moto server exited with code {moto.returncode}; log {instance.moto_log}:\n"
                f"{_tail(instance.moto_log)}"
            )
        service = pending[0]
        try:
            client = instance.client(service, **quick)
            probe = {
                "s3": "list_buckets",
                "sqs": "list_queues",
                "lambda": "list_functions",
                "athena": "list_work_groups",
            }[service]
            getattr(client, probe)()
            pending.pop(0)
        except Exception as exc:  # not up yet (connection refused, 500 while services load)
            last_error = exc
            time.sleep(POLL_SECONDS)
    if pending:
        raise EmulatorError(
            f"emulators not ready after {START_TIMEOUT_SECONDS}s ({', '.join(pending)} failing: "
            f"{last_error}); log {instance.localstack_log}:\n{_tail(instance.localstack_log)}"
        )


def verify_executor(instance: Instance, wait_seconds: float = 2.0) -> dict:
    """Prove that LocalStack loaded the ``process`` executor (an unknown name silently falls back to docker)."""
    deadline = time.monotonic() + wait_seconds
    while not instance.marker.exists() and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    log = instance.localstack_log.read_text(errors="replace") if instance.localstack_log.exists() else ""
    if not instance.marker.exists():
        hints = [
            line
            for line in log.splitlines()
            if "runtime executor" in line or "Invalid specified plugin" in line
        ]
        raise EmulatorError(
            f"LocalStack on port {instance.port} is up but the '{EXECUTOR_NAME}' Lambda runtime executor is NOT "
            f"active (no marker {instance.marker}): Lambda functions would need Docker. Check that "
            f"LAMBDA_RUNTIME_EXECUTOR={EXECUTOR_NAME} and that localstack/executor is installed in {LOCALSTACK_VENV} "
            f"(`make localstack-venv`)." + ("\nLocalStack log:\n" + "\n".join(hints[-5:]) if hints else "")
        )
    status = json.loads(instance.marker.read_text())
    if status.get("executor") != EXECUTOR_NAME or status.get("error"):
        raise EmulatorError(f"the '{EXECUTOR_NAME}' executor is loaded but not usable: {status}")
    return status


def start(
    port: int | None = None,
    moto_port: int | None = None,
    *,
    executor: str = EXECUTOR_NAME,
    with_moto: bool = True,
) -> Instance:
    """Start LocalStack (+ moto) in the background, wait until they answer, verify the executor."""
    instance = Instance(port or localaws.localstack_port(), moto_port or localaws.moto_port())
    check_prerequisites()
    if running(instance):
        raise EmulatorError(
            f"LocalStack already running on port {instance.port} "
            f"(pid file {instance.localstack_pid_file}); `make localstack-down` first"
        )
    # A stale record (dead LocalStack, or a moto left behind by one that died) is cleaned up first.
    stop(instance)
    instance.boot_id_file.unlink(missing_ok=True)
    busy = [p for p in ([instance.port] + ([instance.moto_port] if with_moto else [])) if port_in_use(p)]
    if busy:
        raise EmulatorError(
            f"port(s) {busy} already in use by another process; choose LOCALSTACK_PORT/MOTO_PORT"
        )
    for folder in (instance.tmp_dir, instance.volume_dir, instance.executor_dir):
        folder.mkdir(parents=True, exist_ok=True)
    instance.marker.unlink(missing_ok=True)
    for log in (instance.localstack_log, instance.moto_log):
        log.write_text("")

    began = time.monotonic()
    process = _spawn(
        [str(localstack_python()), "-m", LOCALSTACK_ENTRY],
        localstack_environment(instance, executor),
        instance.localstack_log,
        instance.localstack_pid_file,
    )
    moto = None
    if with_moto:
        moto_env = {**os.environ, "MOTO_ACCOUNT_ID": localaws.ACCOUNT_ID, **localaws.credentials_env()}
        moto = _spawn(
            [sys.executable, "-m", "moto.server", "-H", localaws.HOST, "-p", str(instance.moto_port)],
            moto_env,
            instance.moto_log,
            instance.moto_pid_file,
        )
    try:
        _wait_ready(instance, process, moto, began + START_TIMEOUT_SECONDS)
        verify_executor(instance)
    except BaseException:
        stop(instance)
        raise
    (instance.state_dir / "startup-seconds").write_text(f"{time.monotonic() - began:.2f}\n")
    instance.boot_id_file.write_text(f"{uuid.uuid4()}\n")
    return instance


def boot_id(port: int | None = None) -> str | None:
    """The running instance's boot id on ``port``, or None when nothing of ours runs there."""
    instance = Instance(port or localaws.localstack_port(), localaws.moto_port())
    if not running(instance):
        return None
    if not instance.boot_id_file.exists():  # started before boot ids existed: give it one now
        instance.boot_id_file.write_text(f"{uuid.uuid4()}\n")
    return instance.boot_id_file.read_text().strip() or None


def stop(instance: Instance) -> list[str]:
    """Stop the LocalStack and moto processes recorded for this instance (only those, by PID)."""
    stopped = []
    for name, pid_file, signature in (
        ("LocalStack", instance.localstack_pid_file, LOCALSTACK_ENTRY),
        ("moto", instance.moto_pid_file, "moto.server"),
    ):
        pid = _read_pid(pid_file, signature)
        if pid is not None:
            _stop_pid(pid, name)
            stopped.append(f"{name} (pid {pid})")
        pid_file.unlink(missing_ok=True)
    # Workers die with LocalStack (parent-death signal); report any that did not, without guessing further.
    deadline = time.monotonic() + WORKER_EXIT_GRACE_SECONDS
    leftovers = [pid for pid in instance.worker_pids() if pid_alive(pid)]
    while leftovers and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        leftovers = [pid for pid in leftovers if pid_alive(pid)]
    if leftovers:
        raise EmulatorError(f"Lambda worker processes outlived LocalStack: {leftovers}")
    return stopped


# ----------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--port", type=int, default=localaws.localstack_port())
    parser.add_argument("--moto-port", type=int, default=localaws.moto_port())
    args = parser.parse_args(argv)
    instance = Instance(args.port, args.moto_port)
    try:
        if args.action == "up":
            if running(instance) and _read_pid(instance.moto_pid_file, "moto.server") is not None:
                print(
                    f"LocalStack already running at {instance.endpoint_url}, moto at {instance.moto_endpoint_url} "
                    f"(boot {boot_id(instance.port) or 'unknown'}); nothing to do"
                )
                return 0
            if running(instance):  # LocalStack without its moto: restart the pair so both are known-good
                print(f"moto on {instance.moto_port} is gone; restarting LocalStack + moto", file=sys.stderr)
                stop(instance)
            began = time.monotonic()
            start(instance.port, instance.moto_port)
            print(
                f"LocalStack ready at {instance.endpoint_url}, moto at {instance.moto_endpoint_url} "
                f"(process executor active; {time.monotonic() - began:.1f}s). State: {instance.state_dir}"
            )
            print(f"export LOCALSTACK_PORT={instance.port} MOTO_PORT={instance.moto_port}")
        elif args.action == "down":
            stopped = stop(instance)
            instance.boot_id_file.unlink(missing_ok=True)
            print(
                "stopped "
                + (
                    ", ".join(stopped)
                    if stopped
                    else f"nothing: no emulator running on {instance.port} (already down)"
                )
            )
        else:
            if running(instance):
                print(
                    f"running: LocalStack {instance.endpoint_url}, moto {instance.moto_endpoint_url}; "
                    f"workers {instance.worker_pids()}"
                )
            else:
                print(f"not running on port {instance.port}")
                return 1
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
