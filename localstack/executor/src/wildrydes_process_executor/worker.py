"""The runtime loop that runs inside one Lambda worker process (stdlib only; runs on the function's runtime).

Lifecycle (see docs/localstack.md):
1. arm parent-death protection, bind an HTTP server on 127.0.0.1:<ephemeral>, write the port as the first line
   of the control pipe;
2. import the handler, then write ``ready`` (or ``error <AWS-shaped error JSON>``) as the second line and
   close the pipe. Readiness goes to the executor, not to one environment's endpoint: a warm worker belongs to
   its function version's pool and serves whichever execution environment leases it (pool.py);
3. for each ``POST /invoke``: answer 200 at once, run the handler on the main thread, then POST
   ``invocations/<req>/logs`` FIRST and ``invocations/<req>/response`` or ``.../error`` to the runtime
   endpoint named in the invocation (``RUNTIME_ENDPOINT_KEY``: the leasing environment's).

The executor (in LocalStack) enforces timeouts and reports crashes; this process only runs code.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import queue
import resource
import signal
import sys
import threading
import time
import traceback
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Linux prctl option: deliver a signal to this process when the thread that forked it dies.
PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 1.0
LOOPBACK = "127.0.0.1"
# Key the executor adds to each invocation: the runtime endpoint (base URL) of the environment that leased us.
RUNTIME_ENDPOINT_KEY = "wildrydes-runtime-endpoint"
# Pipe the executor reads results from (PipeResults); without it results go to the runtime endpoint over HTTP.
RESULT_FD_ENV = "WILDRYDES_RESULT_FD"
# Pipe the executor writes invocations to (one JSON line each); HTTP /invoke still works (LocalStack's path).
INVOKE_FD_ENV = "WILDRYDES_INVOKE_FD"
# Second line on the control pipe: the handler imported (or failed to: "error " + the init error's JSON).
STATUS_READY = "ready"
STATUS_ERROR = "error"
# Without a proxy bypass, urllib would honour http_proxy for loopback calls back to LocalStack.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ----------------------------------------------------------------------------- AWS-shaped errors (pure)
def parse_handler(handler: str) -> tuple[str, str]:
    """Split ``pkg/mod.func`` or ``pkg.mod.func`` into (module path, function name) like the AWS runtime."""
    module_part, sep, func = handler.rpartition(".")
    if not sep or not module_part or not func:
        raise ValueError(f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)")
    return module_part.replace("/", "."), func


def format_stack(tb) -> list[str]:
    """Stack frames formatted the way the AWS Python runtime puts them into ``stackTrace``."""
    return [line for line in traceback.format_list(traceback.extract_tb(tb))]


def error_payload(
    error_type: str, message: str, stack: list[str] | None = None, request_id: str = ""
) -> dict:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def init_error(exc: BaseException, module_name: str) -> dict:
    """Map an exception raised while importing the handler module to the AWS runtime's init error."""
    if isinstance(exc, SyntaxError):
        return error_payload("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
    if isinstance(exc, ImportError):
        return error_payload("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    return error_payload(type(exc).__name__, str(exc), format_stack(exc.__traceback__))


def handler_not_found(func: str, module_name: str) -> dict:
    return error_payload("Runtime.HandlerNotFound", f"Handler '{func}' missing on module '{module_name}'")


def invocation_error(exc: BaseException, request_id: str) -> dict:
    """An exception escaping the handler: its class name and message, frames below the runtime."""
    tb = exc.__traceback__
    # Drop the worker's own frame so the trace starts in user code, as on AWS.
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return error_payload(type(exc).__name__, str(exc), format_stack(tb), request_id)


def error_log_line(payload: dict) -> str:
    """The ``[ERROR]`` block the AWS runtime prints to the function's log for an error."""
    lines = [f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"]
    if payload.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in payload["stackTrace"])
    return "\n".join(lines) + "\n"


def build_sys_path(task_root: str, layer_paths: list[str], current: list[str]) -> list[str]:
    """Task root first, then the merged layers, then the interpreter's own entries (boto3 of the runtime)."""
    front = [task_root, *layer_paths]
    return front + [p for p in current if p not in front]


# ----------------------------------------------------------------------------- log capture
class InvocationLog:
    """Collects what the function writes during one invocation and tees it to the worker's own log file."""

    def __init__(self, passthrough):
        self._passthrough = passthrough
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        self._passthrough.write(text)
        self._passthrough.flush()
        return len(text)

    def flush(self) -> None:
        self._passthrough.flush()

    def isatty(self) -> bool:
        return False

    def take(self) -> str:
        with self._lock:
            text, self._parts = "".join(self._parts), []
        return text

    # Some libraries probe these attributes on sys.stdout.
    @property
    def encoding(self) -> str:
        return "utf-8"

    def fileno(self) -> int:
        return self._passthrough.fileno()


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_root_logging(stream, request_filter: _RequestIdFilter) -> None:
    """Root logger like the AWS runtime's: tab-separated level, UTC time, request id, message."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(request_filter)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
    )
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    handler.setFormatter(formatter)
    handler.terminator = ""
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


# ----------------------------------------------------------------------------- context
class LambdaContext:
    """The subset of the AWS context object that functions use."""

    def __init__(self, request_id: str, invoked_arn: str, deadline: float):
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


# ----------------------------------------------------------------------------- protocol
class RuntimeApi:
    """Calls back into the executor endpoint of the environment that sent an invocation."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def post(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(f"{self.base_url}/{path}", data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        with _HTTP.open(request, timeout=30) as response:
            response.read()

    def finish(self, request_id: str, logs: str, body: bytes, is_error: bool) -> None:
        # LocalStack attaches the logs it holds when the response arrives: logs must go first.
        self.post(f"invocations/{request_id}/logs", json.dumps({"logs": logs}).encode())
        self.post(f"invocations/{request_id}/{'error' if is_error else 'response'}", body)


class PipeResults:
    """Hands results straight to the executor over a pipe (``WILDRYDES_RESULT_FD``), one JSON line each.

    Through the runtime endpoint every result costs LocalStack two more HTTP requests through its gateway
    (logs, then response), in the same GIL-bound process that serves the API: the pipe skips both."""

    def __init__(self, fd: int):
        self._file = os.fdopen(fd, "w", encoding="utf-8")

    def finish(self, request_id: str, logs: str, body: bytes, is_error: bool) -> None:
        message = {"request-id": request_id, "logs": logs, "body": body.decode("utf-8"), "is-error": is_error}
        self._file.write(json.dumps(message) + "\n")
        self._file.flush()


def result_message(line: str) -> tuple[str, str, bytes, bool]:
    """Executor side of PipeResults: (request id, logs, body, is error)."""
    message = json.loads(line)
    return message["request-id"], message["logs"], message["body"].encode("utf-8"), bool(message["is-error"])


def status_line(payload: dict | None) -> str:
    """The control pipe's second line: ``ready``, or ``error`` and the init error's JSON."""
    return STATUS_READY if payload is None else f"{STATUS_ERROR} {json.dumps(payload)}"


def parse_status_line(line: str) -> dict | None:
    """Inverse of status_line (executor side): None when ready, the error payload otherwise."""
    line = line.strip()
    if line == STATUS_READY:
        return None
    if line.startswith(STATUS_ERROR + " "):
        return json.loads(line[len(STATUS_ERROR) + 1 :])
    raise ValueError(f"unexpected worker status line: {line[:200]!r}")


def _read_invocations(fd: int, invocations: queue.Queue) -> None:
    """Invocations the executor writes on the invoke pipe, one JSON line each (EOF: the executor is gone)."""
    with os.fdopen(fd, "r", encoding="utf-8") as pipe:
        for line in pipe:
            invocations.put(json.loads(line))


def _make_http_handler(invocations: queue.Queue):
    class InvokeHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path.rstrip("/") != "/invoke":
                self.send_response(404)
                self.end_headers()
                return
            # Acknowledge at once: LocalStack waits for the result on its own endpoint, not on this reply.
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            invocations.put(json.loads(body))

        def log_message(self, *args) -> None:  # keep the access log out of the function's output
            pass

    return InvokeHandler


def _guard_parent(expected_parent: int) -> None:
    """Die with LocalStack: kernel signal when the spawning thread exits, plus polling as a fallback."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the polling thread below still covers it
    if expected_parent and os.getppid() != expected_parent:
        os._exit(1)  # the parent died before prctl took effect

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if expected_parent and os.getppid() != expected_parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def reset_peak_memory() -> None:
    """Start the peak-RSS count afresh (Linux: writing 5 to /proc/self/clear_refs resets VmHWM to the
    current RSS), so each invocation's REPORT line shows that invocation's peak, not the worker's lifetime
    peak (what a warm worker kept from earlier invocations still counts, as it does on Lambda)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass  # not Linux (or no permission): the peak is the worker's since exec


def peak_memory_mb() -> int:
    """Peak RSS of this process since exec or the last :func:`reset_peak_memory` (ru_maxrss would include
    the forking LocalStack's memory)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def run_invocation(
    func,
    invocation: dict,
    capture: InvocationLog,
    request_filter,
    default_endpoint: str,
    results: PipeResults | None = None,
):
    api = results or RuntimeApi(invocation.get(RUNTIME_ENDPOINT_KEY) or default_endpoint)
    request_id = invocation["invoke-id"]
    timeout_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)
    reset_peak_memory()
    started = time.time()
    request_filter.request_id = request_id
    os.environ["_X_AMZN_TRACE_ID"] = invocation.get("trace-id") or ""
    capture.take()  # anything printed between invocations belongs to no request
    print(
        f"START RequestId: {request_id} Version: {os.environ.get('AWS_LAMBDA_FUNCTION_VERSION', '$LATEST')}"
    )
    is_error = False
    try:
        raw = invocation.get("payload")
        event = json.loads(raw) if raw else {}
        result = func(
            event, LambdaContext(request_id, invocation.get("invoked-function-arn", ""), started + timeout_s)
        )
        try:
            body = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            is_error = True
            payload = error_payload(
                "Runtime.MarshalError", f"Unable to marshal response: {exc}", [], request_id
            )
            sys.stdout.write(error_log_line(payload))
            body = json.dumps(payload).encode()
    except Exception as exc:  # noqa: BLE001 - the function's error is a result, not a worker failure
        is_error = True
        payload = invocation_error(exc, request_id)
        sys.stdout.write(error_log_line(payload))
        body = json.dumps(payload).encode()
    duration_ms = (time.time() - started) * 1000
    max_rss_mb = peak_memory_mb()
    print(f"END RequestId: {request_id}")
    print(
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
        f"\tBilled Duration: {int(duration_ms) + 1} ms"
        f"\tMemory Size: {os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '128')} MB"
        f"\tMax Memory Used: {max_rss_mb} MB"
    )
    request_filter.request_id = ""
    api.finish(request_id, capture.take(), body, is_error)


# Set by the executor when cgroups are unavailable (limits.py): MemorySize as the address-space limit.
RLIMIT_AS_ENV = "WILDRYDES_RLIMIT_AS_BYTES"


def main() -> None:
    # sys.path[0] is this package's folder: the function must not see the executor's modules.
    sys.path.pop(0)
    rlimit = os.environ.pop(RLIMIT_AS_ENV, "")
    if rlimit:
        resource.setrlimit(resource.RLIMIT_AS, (int(rlimit), int(rlimit)))
    _guard_parent(int(os.environ.pop("WILDRYDES_PARENT_PID", "0") or 0))
    control_fd = int(os.environ.pop("WILDRYDES_CONTROL_FD"))
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    layer_paths = json.loads(os.environ.pop("WILDRYDES_LAYER_PATHS", "[]"))
    sys.path[:] = build_sys_path(task_root, layer_paths, sys.path)
    os.chdir(task_root)

    capture = InvocationLog(sys.__stdout__)
    sys.stdout = capture
    sys.stderr = capture
    request_filter = _RequestIdFilter()
    _install_root_logging(capture, request_filter)

    invocations: queue.Queue = queue.Queue()
    invoke_fd = os.environ.pop(INVOKE_FD_ENV, "")
    if invoke_fd:
        threading.Thread(
            target=_read_invocations, args=(int(invoke_fd), invocations), name="invoke-pipe", daemon=True
        ).start()
    server = ThreadingHTTPServer((LOOPBACK, 0), _make_http_handler(invocations))
    threading.Thread(target=server.serve_forever, name="invoke-server", daemon=True).start()
    control = os.fdopen(control_fd, "w")
    control.write(f"{server.server_address[1]}\n")
    control.flush()

    func, failure = _load_handler(os.environ.get("_HANDLER", ""))
    control.write(status_line(failure) + "\n")
    control.close()
    if failure is not None:
        return
    default_endpoint = os.environ.get("LOCALSTACK_RUNTIME_ENDPOINT", "")
    result_fd = os.environ.pop(RESULT_FD_ENV, "")
    results = PipeResults(int(result_fd)) if result_fd else None
    while True:
        run_invocation(func, invocations.get(), capture, request_filter, default_endpoint, results)


def _load_handler(handler: str):
    """(handler function, None) or (None, the AWS runtime's init error payload)."""
    try:
        module_name, func_name = parse_handler(handler)
    except ValueError as exc:
        return None, error_payload("Runtime.MalformedHandlerName", str(exc))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is an init error reported to the caller
        payload = init_error(exc, module_name)
        sys.stdout.write(error_log_line(payload))
        return None, payload
    func = getattr(module, func_name, None)
    if not callable(func):
        return None, handler_not_found(func_name, module_name)
    return func, None


if __name__ == "__main__":
    main()
