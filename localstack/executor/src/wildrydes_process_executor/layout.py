"""Pure decisions about what a worker runs: which interpreter, which files, which sys.path."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

# Lambda runtime name -> environment variable naming the interpreter that runs it (a venv of that Python with
# the packages the AWS runtime ships, e.g. build/lambda-runtime-py313). A runtime runs only when its variable
# names an executable; any other runtime (python3.11, nodejs*, ...) is refused with a clear message. Add a
# runtime by adding a line here and a venv for it (docs/runtime.md).
RUNTIME_INTERPRETER_ENV = {
    "python3.13": "WILDRYDES_LAMBDA_PYTHON313",
    "python3.12": "WILDRYDES_LAMBDA_PYTHON312",  # optional: only if a 3.12 runtime venv is configured
}
# The runtime the project deploys: the executor reports itself unusable when this one has no interpreter.
DEFAULT_RUNTIME = "python3.13"
ZIP_PACKAGE = "Zip"


class UnsupportedFunction(Exception):
    """The function cannot run here (other language, container image, missing interpreter)."""


def python_version_of(runtime: str) -> str:
    """``python3.13`` -> ``3.13`` (the folder name used by layers' site-packages)."""
    return runtime.removeprefix("python")


def interpreter_for(runtime: str | None, package_type: str, environ: Mapping[str, str]) -> str:
    """Path of the interpreter that runs this function, or UnsupportedFunction saying why not."""
    if package_type != ZIP_PACKAGE:
        raise UnsupportedFunction(
            f"package type {package_type} (container images) is not supported; use a zip"
        )
    if not runtime or runtime not in RUNTIME_INTERPRETER_ENV:
        available = ", ".join(sorted(available_runtimes(environ))) or "none"
        raise UnsupportedFunction(
            f"runtime {runtime} is not supported (supported: {', '.join(sorted(RUNTIME_INTERPRETER_ENV))}; "
            f"with an interpreter here: {available})"
        )
    variable = RUNTIME_INTERPRETER_ENV[runtime]
    interpreter = environ.get(variable, "")
    if not interpreter or not os.access(interpreter, os.X_OK):
        raise UnsupportedFunction(
            f"runtime {runtime} has no interpreter here: {variable} must name a Python "
            f"{python_version_of(runtime)} interpreter with the Lambda runtime packages "
            f"(got {interpreter or 'nothing'}); run `make lambda-runtime`"
        )
    return interpreter


def available_runtimes(environ: Mapping[str, str]) -> dict[str, str]:
    """The runtimes of RUNTIME_INTERPRETER_ENV whose variable names an executable interpreter."""
    found = {}
    for runtime, variable in RUNTIME_INTERPRETER_ENV.items():
        interpreter = environ.get(variable, "")
        if interpreter and os.access(interpreter, os.X_OK):
            found[runtime] = interpreter
    return found


def layer_library_path(layers_root: Path, task_root: Path) -> str:
    """LD_LIBRARY_PATH entries Lambda adds for code: ``/var/task/lib`` and ``/opt/lib`` (here: the task root's
    and the merged layers' ``lib/``), so a layer's shipped shared libraries are found as on AWS."""
    return os.pathsep.join([str(Path(task_root) / "lib"), str(Path(layers_root) / "lib")])


def layer_sys_path(layers_root: Path, runtime: str) -> list[str]:
    """The merged layer tree's entries in AWS order: site-packages of the runtime, then ``python/``."""
    version = python_version_of(runtime)
    return [
        str(layers_root / "python" / "lib" / f"python{version}" / "site-packages"),
        str(layers_root / "python"),
    ]


def merge_layers(layer_dirs: Sequence[Path], target: Path) -> Path:
    """Copy each unzipped layer into ``target`` in order, so a later layer's file replaces an earlier one's.

    Built in a sibling temp folder and renamed, so a concurrent reader never sees a half-merged tree.
    """
    if target.exists():
        return target
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    for layer_dir in layer_dirs:
        shutil.copytree(layer_dir, staging, dirs_exist_ok=True, symlinks=True)
    try:
        staging.rename(target)
    except OSError:  # another thread finished the same merge first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def worker_environment(
    given: Mapping[str, str], task_root: Path, tmp_dir: Path, base: Mapping[str, str]
) -> dict[str, str]:
    """The worker sees what LocalStack passes plus a minimal process environment, not LocalStack's own config."""
    env = {key: base[key] for key in ("PATH", "LANG", "LC_ALL", "HOME") if key in base}
    env.update({key: str(value) for key, value in given.items()})
    env["LAMBDA_TASK_ROOT"] = str(task_root)
    env["TMPDIR"] = str(tmp_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
