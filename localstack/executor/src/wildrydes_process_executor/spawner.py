"""Fork every worker from one long-lived thread.

``PR_SET_PDEATHSIG`` fires when the *thread* that forked a child exits, not the process. LocalStack starts
execution environments on short-lived threads (ESM pollers, async invokes), so forking there would kill the
worker as soon as that thread ends. One daemon thread that lives as long as LocalStack does the forking.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from concurrent.futures import Future

_requests: queue.Queue = queue.Queue()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def _serve() -> None:
    while True:
        future, args, kwargs = _requests.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(subprocess.Popen(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - hand any spawn failure back to the caller
            future.set_exception(exc)


def popen(*args, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` executed on the spawner thread."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_serve, name="wildrydes-worker-spawner", daemon=True)
            _thread.start()
    future: Future = Future()
    _requests.put((future, args, kwargs))
    return future.result()
