"""Lambda-faithful limits for one worker: MemorySize as a hard memory limit, MemorySize/1769 of a vCPU as CPU.

Lambda gives a function exactly its ``MemorySize`` of memory (the runtime included; going past it kills the
runtime: ``Runtime.OutOfMemory``) and CPU in proportion to memory: one full vCPU at 1,769 MB. Here each worker
gets its own cgroup under the LocalStack process's cgroup (no LocalStack imports in this module):

- cgroup v1 (``/sys/fs/cgroup/memory`` and ``/sys/fs/cgroup/cpu`` mounted and writable, as on these machines):
  ``memory.limit_in_bytes`` (+ ``memory.memsw.limit_in_bytes`` when present: no swapping past it) and
  ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``;
- cgroup v2 (a unified hierarchy with the ``memory`` and ``cpu`` controllers): ``memory.max``,
  ``memory.swap.max = 0`` and ``cpu.max``;
- neither usable: ``RLIMIT_AS`` = MemorySize on the worker (virtual memory, so only an approximation:
  libraries that reserve large address ranges can fail below the real limit) and NO CPU limit, with a warning.

The kernel's OOM killer ends a worker that goes past its memory: the executor reads the cgroup's ``oom_kill``
counter to answer ``Runtime.OutOfMemory`` instead of ``Runtime.ExitError``.

``WILDRYDES_EXECUTOR_LIMITS=off`` disables all of it (``on`` enables it; the default is ``DEFAULT_LIMITS``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LOG = logging.getLogger(__name__)

LIMITS_ENV = "WILDRYDES_EXECUTOR_LIMITS"
ON_VALUES = ("on", "1", "true", "yes")
OFF_VALUES = ("off", "0", "false", "no")
DEFAULT_LIMITS = "on"
# Lambda: "at 1,769 MB, a function has the equivalent of one vCPU".
MB_PER_VCPU = 1769
MIB = 1024 * 1024
CFS_PERIOD_US = 100_000  # the kernel's default period
MIN_CFS_QUOTA_US = 1_000  # the kernel refuses quotas below 1 ms
CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT_PREFIX = "wildrydes-executor-"
RLIMIT_ENV = "WILDRYDES_RLIMIT_AS_BYTES"  # read by worker.py when cgroups are unavailable
RMDIR_ATTEMPTS = 20
RMDIR_PAUSE_SECONDS = 0.05

MODE_V1 = "cgroup-v1"
MODE_V2 = "cgroup-v2"
MODE_RLIMIT = "rlimit"
MODE_OFF = "off"


# ----------------------------------------------------------------------------- pure
def limits_enabled(environ: Mapping[str, str]) -> bool:
    raw = (environ.get(LIMITS_ENV) or DEFAULT_LIMITS).strip().lower()
    if raw in ON_VALUES:
        return True
    if raw in OFF_VALUES:
        return False
    raise ValueError(f"{LIMITS_ENV} must be on or off, got {raw!r}")


def cpu_share(memory_mb: int, cores: int) -> float:
    """vCPUs Lambda gives ``memory_mb``: memory/1769, capped at the machine's cores."""
    return min(memory_mb / MB_PER_VCPU, float(cores))


def cfs_quota_us(share: float, period_us: int = CFS_PERIOD_US) -> int:
    """CPU time per period for a share of one CPU (at least the kernel's 1 ms minimum)."""
    return max(MIN_CFS_QUOTA_US, round(share * period_us))


def memory_limit_bytes(memory_mb: int) -> int:
    return memory_mb * MIB


def own_cgroups(proc_self_cgroup: str) -> dict[str, str]:
    """``/proc/self/cgroup`` -> {controller: path}; the v2 entry (``0::/path``) is under the key ``""``."""
    found: dict[str, str] = {}
    for line in proc_self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def oom_kills(text: str) -> int:
    """The ``oom_kill N`` counter of v1 ``memory.oom_control`` or v2 ``memory.events`` (0 when absent)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill" and value.strip().isdigit():
            return int(value)
    return 0


# ----------------------------------------------------------------------------- cgroups
@dataclass
class WorkerLimits:
    """The limits applied to one worker; ``add(pid)`` right after the fork, ``remove()`` after its exit."""

    mode: str
    memory_mb: int = 0
    cpu_share: float = 0.0
    dirs: list[Path] = field(default_factory=list)
    memory_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # extra worker environment (rlimit mode)

    def add(self, pid: int) -> None:
        for directory in self.dirs:
            (directory / "cgroup.procs").write_text(str(pid))

    def oom_killed(self) -> bool:
        if self.memory_dir is None:
            return False
        name = "memory.oom_control" if self.mode == MODE_V1 else "memory.events"
        try:
            return oom_kills((self.memory_dir / name).read_text()) > 0
        except OSError:
            return False

    def remove(self) -> None:
        for directory in self.dirs:
            _rmdir_patiently(directory)

    def describe(self) -> str:
        if self.mode == MODE_OFF:
            return "limits off"
        cpu = f", CPU {self.cpu_share:.3f} vCPU" if self.mode != MODE_RLIMIT else ", CPU unlimited"
        return f"{self.mode}: memory {self.memory_mb} MB{cpu}"


def _rmdir_patiently(directory: Path) -> None:
    """A memory cgroup can stay busy for a moment after its last process exits."""
    for _ in range(RMDIR_ATTEMPTS):
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                LOG.debug("cannot remove cgroup %s: %s", directory, exc)
                return
            time.sleep(RMDIR_PAUSE_SECONDS)


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def detect_mode(root: Path = CGROUP_ROOT, proc_self_cgroup: str | None = None) -> tuple[str, dict[str, Path]]:
    """Which mechanism works here, and the parent directories (per controller) new cgroups go under."""
    if proc_self_cgroup is None:
        try:
            proc_self_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            proc_self_cgroup = ""
    own = own_cgroups(proc_self_cgroup)
    memory_mount = next((root / name for name in ("memory",) if (root / name).is_dir()), None)
    cpu_mount = next((root / name for name in ("cpu", "cpu,cpuacct") if (root / name).is_dir()), None)
    if memory_mount is not None and cpu_mount is not None and "memory" in own and "cpu" in own:
        memory_parent = memory_mount / own["memory"].lstrip("/")
        cpu_parent = cpu_mount / own["cpu"].lstrip("/")
        if _writable_dir(memory_parent) and _writable_dir(cpu_parent):
            return MODE_V1, {"memory": memory_parent, "cpu": cpu_parent}
    controllers_file = root / "cgroup.controllers"
    if controllers_file.exists() and "" in own:
        available = controllers_file.read_text().split()
        parent = root / own[""].lstrip("/")
        if {"memory", "cpu"} <= set(available) and _writable_dir(parent):
            return MODE_V2, {"": parent}
    return MODE_RLIMIT, {}


class LimitsFactory:
    """Creates each worker's cgroups under ``<own cgroup>/wildrydes-executor-<pid>/`` (one per LocalStack)."""

    def __init__(
        self, environ: Mapping[str, str], root: Path = CGROUP_ROOT, cores: int | None = None
    ) -> None:
        self.enabled = limits_enabled(environ)
        self.cores = cores or os.cpu_count() or 1
        self.mode, parents = detect_mode(root) if self.enabled else (MODE_OFF, {})
        self.parents = {key: path / f"{PARENT_PREFIX}{os.getpid()}" for key, path in parents.items()}
        self._warned = False
        if self.mode == MODE_V2:
            self._enable_v2_controllers()

    def _enable_v2_controllers(self) -> None:
        parent = self.parents[""]
        try:
            parent.mkdir(exist_ok=True)
            (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        except OSError as exc:
            LOG.warning(
                "cgroup v2 controllers cannot be delegated under %s (%s): falling back to RLIMIT_AS",
                parent,
                exc,
            )
            self.mode, self.parents = MODE_RLIMIT, {}

    def for_worker(self, worker_id: str, memory_mb: int) -> WorkerLimits:
        if self.mode == MODE_OFF:
            return WorkerLimits(MODE_OFF)
        share = cpu_share(memory_mb, self.cores)
        if self.mode in (MODE_V1, MODE_V2):
            try:
                return self._cgroups(worker_id, memory_mb, share)
            except OSError as exc:
                LOG.warning("cannot create cgroups for worker %s (%s): RLIMIT_AS fallback", worker_id, exc)
        if not self._warned:
            LOG.warning(
                "Lambda limits: cgroups unavailable, so each worker gets RLIMIT_AS = MemorySize (virtual "
                "memory: approximate) and NO CPU limit (see docs/localstack.md)"
            )
            self._warned = True
        return WorkerLimits(
            MODE_RLIMIT, memory_mb, share, env={RLIMIT_ENV: str(memory_limit_bytes(memory_mb))}
        )

    def _cgroups(self, worker_id: str, memory_mb: int, share: float) -> WorkerLimits:
        limit, quota = memory_limit_bytes(memory_mb), cfs_quota_us(share)
        if self.mode == MODE_V1:
            memory_dir = self.parents["memory"] / worker_id
            cpu_dir = self.parents["cpu"] / worker_id
            for directory in (memory_dir, cpu_dir):
                directory.mkdir(parents=True, exist_ok=True)
            (memory_dir / "memory.limit_in_bytes").write_text(str(limit))
            with contextlib.suppress(OSError):  # absent without swap accounting
                (memory_dir / "memory.memsw.limit_in_bytes").write_text(str(limit))
            (cpu_dir / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (cpu_dir / "cpu.cfs_quota_us").write_text(str(quota))
            return WorkerLimits(MODE_V1, memory_mb, share, [memory_dir, cpu_dir], memory_dir)
        directory = self.parents[""] / worker_id
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "memory.max").write_text(str(limit))
        with contextlib.suppress(OSError):
            (directory / "memory.swap.max").write_text("0")
        (directory / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
        return WorkerLimits(MODE_V2, memory_mb, share, [directory], directory)

    def describe(self) -> str:
        return self.mode


def remove_stale_parents(root: Path = CGROUP_ROOT) -> list[Path]:
    """Remove the (empty) cgroup folders of executors whose LocalStack process is gone."""
    mode, parents = detect_mode(root)
    removed = []
    for parent in parents.values():
        for folder in parent.glob(f"{PARENT_PREFIX}*"):
            pid = folder.name.removeprefix(PARENT_PREFIX)
            if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                continue
            for child in folder.iterdir():
                if child.is_dir():
                    _rmdir_patiently(child)
            _rmdir_patiently(folder)
            removed.append(folder)
    del mode
    return removed
