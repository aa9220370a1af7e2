"""Warm workers per function version, shared by that version's execution environments (no LocalStack imports).

LocalStack creates one execution environment (= one executor object) per concurrent invocation and keeps it
while warm. Measured on this project's 2-core machines, what made the API collapse under concurrency was not
a lack of reuse but cold starts: each new environment forked, imported and (MXNet) bound a fresh worker for
0.4-1.7 s of CPU while the warm one sat idle a few milliseconds later. Here workers belong to a pool per
function version instead of to one environment:

- an invocation leases an idle warm worker (most recently used first, so surplus workers age out);
- with none idle it starts ONE new worker in the background (up to the pool's cap) and takes whichever is free
  first: the new one, or a warm one that finishes its request meanwhile. A burst therefore queues for
  milliseconds behind warm workers instead of waiting seconds for cold starts; the new worker still joins
  the pool, so sustained concurrency gets its own worker, as on Lambda;
- the cap is the function's reserved concurrency when it has one, else ``WILDRYDES_EXECUTOR_MAX_WARM``
  (``DEFAULT_MAX_WARM``); beyond it invocations wait for a warm worker (never a cold start);
- an idle worker is stopped after ``WILDRYDES_EXECUTOR_IDLE_SECONDS`` (``DEFAULT_IDLE_SECONDS``, LocalStack's
  own environment keep-alive); a worker that timed out or died leaves the pool; deleting or updating the
  function closes its version's pool.

Workers are still forked by the spawner thread and guard their parent (spawner.py, worker.py): they die with
LocalStack whichever pool or environment they belong to.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

MAX_WARM_ENV = "WILDRYDES_EXECUTOR_MAX_WARM"
IDLE_SECONDS_ENV = "WILDRYDES_EXECUTOR_IDLE_SECONDS"
# Warm workers per function version when the function has no reserved concurrency. Beyond the machine's cores
# more workers only add memory and cold starts; 8 leaves headroom for sleeping (I/O-bound) handlers.
DEFAULT_MAX_WARM = 8
# LocalStack's LAMBDA_KEEPALIVE_MS default (600000 ms): a worker lives as long as an idle environment would.
DEFAULT_IDLE_SECONDS = 600.0
REAP_INTERVAL_SECONDS = 5.0
KILL_WAIT_SECONDS = 5.0


class WorkerInitError(Exception):
    """A new worker could not import its handler (or died first): the AWS-shaped init error payload."""

    def __init__(self, payload: bytes) -> None:
        super().__init__(payload.decode("utf-8", "replace"))
        self.payload = payload


class PoolClosed(Exception):
    """The function version was updated or deleted while an invocation waited for a worker."""


# ----------------------------------------------------------------------------- pure policy
def configured_max_warm(environ: Mapping[str, str]) -> int:
    """``WILDRYDES_EXECUTOR_MAX_WARM`` as a positive int (default ``DEFAULT_MAX_WARM``)."""
    raw = environ.get(MAX_WARM_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_WARM
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_WARM_ENV} must be a whole number >= 1, got {raw!r}")
    return value


def configured_idle_seconds(environ: Mapping[str, str]) -> float:
    """``WILDRYDES_EXECUTOR_IDLE_SECONDS`` as a positive float (default ``DEFAULT_IDLE_SECONDS``)."""
    raw = environ.get(IDLE_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_IDLE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"{IDLE_SECONDS_ENV} must be a number of seconds > 0, got {raw!r}")
    return value


def pool_cap(reserved_concurrency: int | None, configured: int) -> int:
    """Warm workers a version may have: its reserved concurrency (LocalStack throttles beyond it), else the
    configured cap. Reserved concurrency 0 throttles every invoke, so the pool never needs a worker then."""
    if reserved_concurrency is not None:
        return max(1, reserved_concurrency)
    return configured


def should_spawn(live: int, starting: int, waiting: int, cap: int) -> bool:
    """With no idle worker: start another one only below the cap and only if fewer are already starting than
    invocations wait (one cold start per waiting invocation at most)."""
    return live + starting < cap and starting < waiting


def expired(last_used: Mapping[int, float], now: float, idle_seconds: float) -> list[int]:
    """Ids of idle workers unused for longer than ``idle_seconds``."""
    return sorted(worker_id for worker_id, used in last_used.items() if now - used > idle_seconds)


# ----------------------------------------------------------------------------- workers
@dataclass(eq=False)
class Worker:
    """One warm worker process: its HTTP port, log, PID file, and who leases it right now."""

    id: str
    process: subprocess.Popen
    port: int
    log_path: Path
    pid_path: Path
    last_used: float = field(default_factory=time.monotonic)
    # Called by the watcher when the process exits without kill() (crash, OOM): (worker, returncode).
    on_unexpected_exit: Callable[[Worker, int], None] | None = None
    intended_exit: bool = False
    # Called by the result reader for each result the worker sends: (request id, logs, body, is error).
    on_result: Callable[[str, str, bytes, bool], None] | None = None
    invoke_pipe: Any = None  # the executor's end of the worker's invoke pipe: one JSON line per invocation
    limits: Any = None  # limits.WorkerLimits of this worker (cgroups to remove after it exits)
    oom_killed: bool = False  # set by the watcher: the kernel killed it for going past its memory limit

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (anything the function spawned too)."""
        self.intended_exit = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.invoke_pipe is not None:
            with contextlib.suppress(OSError):
                self.invoke_pipe.close()
        try:
            self.process.wait(timeout=KILL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            LOG.warning("worker pid %s did not exit after SIGKILL", self.process.pid)

    def watch(self, on_exit: Callable[[Worker, int], None]) -> None:
        """Start the thread that waits for the process and reports its exit."""

        def wait() -> None:
            returncode = self.process.wait()
            if self.pid_path.exists() and self.pid_path.read_text() == str(self.process.pid):
                self.pid_path.unlink(missing_ok=True)
            on_exit(self, returncode)

        threading.Thread(target=wait, name=f"watch-{self.id}", daemon=True).start()


class WorkerPool:
    """The warm workers of one function version."""

    def __init__(self, key: str, cap: Callable[[], int], idle_seconds: float) -> None:
        self.key = key
        self._cap = cap
        self.idle_seconds = idle_seconds
        self._cond = threading.Condition()
        self._idle: list[Worker] = []  # most recently released last
        self._busy: set[Worker] = set()
        self._starting = 0
        self._waiting = 0
        self._closed = False

    # -------------------------------------------------------------- leasing
    def acquire(self, spawn: Callable[[], Worker], timeout: float) -> Worker:
        """A warm worker for one invocation; starts at most one new worker for this caller (see module doc).

        Raises the spawn's exception (e.g. the function's init error) when no worker exists or starts;
        TimeoutError after ``timeout`` seconds; PoolClosed when the version goes away meanwhile.
        """
        deadline = time.monotonic() + timeout
        mine: Future | None = None
        with self._cond:
            self._waiting += 1
            try:
                while True:
                    if self._closed:
                        raise PoolClosed(f"function version {self.key} was stopped")
                    while self._idle:
                        worker = self._idle.pop()
                        if worker.alive():
                            self._busy.add(worker)
                            return worker
                    live = len(self._busy)
                    if mine is None and should_spawn(live, self._starting, self._waiting, self._cap()):
                        mine = self._start_spawn(spawn)
                    elif self._failed(mine) and live == 0 and self._starting == 0:
                        raise mine.exception()  # nothing else can serve this invocation
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"no worker of {self.key} became free within {timeout:.0f}s")
                    self._cond.wait(min(remaining, 1.0))
            finally:
                self._waiting -= 1

    @staticmethod
    def _failed(future: Future | None) -> bool:
        return future is not None and future.done() and future.exception() is not None

    def _start_spawn(self, spawn: Callable[[], Worker]) -> Future:
        """Start one worker in the background (caller holds the lock); it joins the idle list when ready."""
        self._starting += 1
        future: Future = Future()

        def run() -> None:
            try:
                worker = spawn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting invocation
                with self._cond:
                    self._starting -= 1
                    self._cond.notify_all()
                future.set_exception(exc)
                return
            with self._cond:
                self._starting -= 1
                closed = self._closed
                if not closed:
                    worker.last_used = time.monotonic()
                    self._idle.append(worker)
                self._cond.notify_all()
            if closed:
                worker.kill()
            future.set_result(worker)

        threading.Thread(target=run, name=f"spawn-{self.key[-24:]}", daemon=True).start()
        return future

    def release(self, worker: Worker) -> None:
        """The invocation is over: the worker is warm and idle again (unless it died or the pool closed)."""
        with self._cond:
            self._busy.discard(worker)
            keep = not self._closed and worker.alive() and not worker.intended_exit
            if keep:
                worker.last_used = time.monotonic()
                worker.on_unexpected_exit = None
                worker.on_result = None
                self._idle.append(worker)
            self._cond.notify_all()
        if not keep:
            worker.kill()

    def discard(self, worker: Worker) -> None:
        """Remove and kill a worker (it timed out, or is being replaced)."""
        self.forget(worker)
        worker.kill()

    def forget(self, worker: Worker) -> None:
        """Drop a worker from the pool (it exited on its own)."""
        with self._cond:
            self._busy.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
            self._cond.notify_all()

    # -------------------------------------------------------------- housekeeping
    def reap_idle(self, now: float | None = None) -> list[Worker]:
        """Kill the idle workers unused for longer than idle_seconds; returns them."""
        now = time.monotonic() if now is None else now
        with self._cond:
            by_id = {id(w): w for w in self._idle}
            last_used = {key: w.last_used for key, w in by_id.items()}
            old = [by_id[key] for key in expired(last_used, now, self.idle_seconds)]
            for worker in old:
                self._idle.remove(worker)
        for worker in old:
            LOG.debug("worker %s of %s idle for %.0fs: stopping it", worker.id, self.key, self.idle_seconds)
            worker.kill()
        return old

    def close(self) -> None:
        """The version is gone: kill every worker, idle or busy, and wake any waiting invocation."""
        with self._cond:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {
                "idle": len(self._idle),
                "busy": len(self._busy),
                "starting": self._starting,
                "waiting": self._waiting,
            }

    def pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in [*self._idle, *self._busy]]


class Deadlines:
    """Function timeouts on one thread (a threading.Timer per invocation costs LocalStack a thread start)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, tuple]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, callback, *args) -> int:
        entry_id = next(self._ids)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, entry_id, (callback, args)))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wildrydes-timeouts", daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry_id

    def cancel(self, entry_id: int) -> None:
        with self._cond:
            self._cancelled.add(entry_id)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                _, entry_id, (callback, args) = heapq.heappop(self._heap)
                if entry_id in self._cancelled:
                    self._cancelled.discard(entry_id)
                    continue
            try:
                callback(*args)
            except Exception as exc:  # noqa: BLE001 - one failing timeout must not stop the others
                LOG.warning("timeout handler failed: %s", exc)


# ----------------------------------------------------------------------------- registry
_pools: dict[str, WorkerPool] = {}
_registry_lock = threading.Lock()
_reaper: threading.Thread | None = None


def pool_for(key: str, cap: Callable[[], int], idle_seconds: float) -> WorkerPool:
    """The pool of one function version (created on first use), plus the idle reaper thread."""
    global _reaper
    with _registry_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = WorkerPool(key, cap, idle_seconds)
        if _reaper is None or not _reaper.is_alive():
            _reaper = threading.Thread(target=_reap_forever, name="wildrydes-worker-reaper", daemon=True)
            _reaper.start()
    return pool


def close_pool(key: str) -> None:
    with _registry_lock:
        pool = _pools.pop(key, None)
    if pool is not None:
        pool.close()


def _reap_forever() -> None:
    while True:
        time.sleep(REAP_INTERVAL_SECONDS)
        with _registry_lock:
            pools = list(_pools.values())
        for pool in pools:
            try:
                pool.reap_idle()
            except Exception as exc:  # noqa: BLE001 - housekeeping must never stop
                LOG.warning("reaping idle workers of %s failed: %s", pool.key, exc)
