#!/usr/bin/env python3
"""Print the path of a working ``python<X.Y>`` interpreter, the way a user's machine would provide it.

Looks at ``python<X.Y>`` on PATH (checking that it really runs: a pyenv shim for a version that is installed
but not selected fails), then at pyenv's installed versions. Stdlib only: the Makefile runs this before any
venv exists.  Usage: find_python.py 3.13
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys


class PythonNotFound(Exception):
    pass


def _resolve(candidate: str, version: str) -> str | None:
    """The real interpreter behind ``candidate`` (not a pyenv shim) if it runs and has the version."""
    try:
        out = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split(maxsplit=1)
    if out.returncode == 0 and len(parts) == 2 and parts[0] == version:
        return parts[1].strip()
    return None


def _pyenv_candidates(version: str) -> list[str]:
    roots = []
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            roots.append(out.stdout.strip())
    roots += [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    found = []
    for root in filter(None, roots):
        # Newest patch release first (3.13.10 sorts after 3.13.9 by numeric parts).
        paths = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))
        found += sorted(
            paths,
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split("/")[-3].split(".")],
            reverse=True,
        )
    return found


def find_python(version: str) -> str:
    candidates = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    candidates += _pyenv_candidates(version)
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in dict.fromkeys(candidates):
        resolved = _resolve(candidate, version) if os.path.exists(candidate) else None
        if resolved:
            return resolved
    raise PythonNotFound(
        f"No working Python {version} found: tried `python{version}` on PATH and pyenv "
        f"(`pyenv install {version}`). Everything runs on Python 3.13: the project venv, LocalStack 4.14.0's venv "
        f"and the Lambda functions (runtime python3.13). Install it, or pass its path "
        f"(PYTHON313=/path/to/python3.13)."
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(find_python(argv[1]))
    except PythonNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
