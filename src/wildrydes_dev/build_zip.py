"""Build a Lambda function zip reproducibly: same sources and pins -> byte-identical zip (same sha256).

A zip bundles ``handler.py`` (the handler directory's files at the zip root), the parts of
``wildrydes_lambda/`` the function runs (``FUNCTION_SPECS``: the ETL zips never carry model-format or
serving code, the inference zip never carries ETL code) and the pinned third-party packages of its
``lambda_src/requirements-<kind>.txt`` installed for the Lambda runtime (python3.13, manylinux x86_64).
Reproducible because entries are sorted, every
entry gets the same timestamp and a mode derived only from the executable bit, and bytecode caches
(``__pycache__``, ``*.pyc``) are never included. Terraform's ``source_code_hash`` then changes only when
the code really changed.

Third-party packages are installed once per requirements content into
``build/cache/lambda-deps-<hash>/`` (the hash covers the file and the target platform), so rebuilding is
offline and fast.

Usage:
  python -m wildrydes_dev.build_zip --handler-dir lambda_src/ingest --out build/ingest.zip
  python -m wildrydes_dev.build_zip --handler-dir lambda_src/inference --out build/inference.zip
Library: ``build_function_zip(...)`` and ``write_reproducible_zip(root, output)`` (used by build_layer.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SRC = REPO_ROOT / "lambda_src"
RUNTIME_PACKAGE = "wildrydes_lambda"
RUNTIME_PACKAGE_DIR = LAMBDA_SRC / RUNTIME_PACKAGE
# Top-level modules of the runtime package that every function imports.
RUNTIME_CORE_MODULES = ("__init__.py", "settings.py")


@dataclass(frozen=True)
class ZipSpec:
    """What one kind of function carries: runtime subpackages and its third-party pins."""

    subpackages: tuple[str, ...]
    requirements: Path


ETL_SPEC = ZipSpec(("contracts", "aws", "etl"), LAMBDA_SRC / "requirements-etl.txt")
INFERENCE_SPEC = ZipSpec(
    ("contracts", "aws", "model_format", "serving"), LAMBDA_SRC / "requirements-inference.txt"
)
# Handler directory name -> what its zip carries.
FUNCTION_SPECS = {"ingest": ETL_SPEC, "enrich": ETL_SPEC, "writer": ETL_SPEC, "inference": INFERENCE_SPEC}
# A handler directory of another name (a test's own function) gets the ETL set.
DEFAULT_SPEC = ETL_SPEC
REQUIREMENTS = ETL_SPEC.requirements
CACHE_ROOT = REPO_ROOT / "build" / "cache"

# The Lambda python3.13 runtime: Amazon Linux 2023 x86_64 (glibc 2.34) -> manylinux2014 (glibc 2.17) and
# manylinux_2_28 wheels (numpy >= 2.3 and ijson >= 3.4 publish only the latter for cp313).
TARGET_RUNTIME = "python3.13"
TARGET_PYTHON = TARGET_RUNTIME.removeprefix("python")
TARGET_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")


def pip_platform_args(platforms: Iterable[str] = TARGET_PLATFORMS) -> list[str]:
    """``--platform X`` for every accepted platform tag (pip takes the option repeatedly)."""
    return [arg for platform in platforms for arg in ("--platform", platform)]


# The earliest timestamp a zip entry can carry; any fixed value works, this one is conventional.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
EXEC_MODE = 0o100755
COMPRESS_LEVEL = 9
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# pip --target puts console scripts under bin/; Lambda never runs them.
EXCLUDED_DEP_TOP_LEVEL = {"bin", ".complete"}
MIB = 1024 * 1024


def _wanted(rel: Path, keep_bytecode: bool = False) -> bool:
    if keep_bytecode:  # a tree compiled on purpose (the layer, hash-based .pyc): keep __pycache__/*.pyc
        return not any(part in EXCLUDED_DIRS - {"__pycache__"} for part in rel.parts)
    return not any(part in EXCLUDED_DIRS for part in rel.parts) and not rel.name.endswith(EXCLUDED_SUFFIXES)


def tree_entries(
    root: Path, arc_prefix: str = "", skip_top: Iterable[str] = (), keep_bytecode: bool = False
) -> list[tuple[str, Path]]:
    """(archive name, path) for every wanted file under root (bytecode only with ``keep_bytecode``)."""
    skip = set(skip_top)
    entries = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and _wanted(rel, keep_bytecode) and rel.parts[0] not in skip:
            entries.append((arc_prefix + rel.as_posix(), path))
    return entries


def write_zip_entries(entries: Iterable[tuple[str, Path]], output: Path) -> None:
    """Write entries sorted by name with fixed timestamps and modes; atomically replaces output."""
    by_name: dict[str, Path] = {}
    for name, path in entries:
        if name in by_name and by_name[name] != path:
            raise SystemExit(f"build_zip: {name} comes from both {by_name[name]} and {path}")
        by_name[name] = path
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
        for name in sorted(by_name):
            path = by_name[name]
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.create_system = 3  # unix, so external_attr carries the mode on every build host
            info.external_attr = (EXEC_MODE if os.access(path, os.X_OK) else FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, MIB)
    tmp.replace(output)


def write_reproducible_zip(root: Path, output: Path, keep_bytecode: bool = False) -> None:
    """Zip a whole directory tree reproducibly (e.g. a layer's staging dir with python/ inside).
    ``keep_bytecode`` keeps ``__pycache__/*.pyc``: only for trees compiled in unchecked-hash mode, whose
    ``.pyc`` bytes do not depend on file times (timestamp ``.pyc`` would be ignored after unzipping)."""
    write_zip_entries(tree_entries(Path(root), keep_bytecode=keep_bytecode), Path(output))


def requirements_hash(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"|{','.join(TARGET_PLATFORMS)}|{TARGET_PYTHON}".encode())
    return digest.hexdigest()[:16]


def install_requirements(requirements: Path = REQUIREMENTS, cache_root: Path = CACHE_ROOT) -> Path:
    """Directory with the pinned packages installed for the Lambda runtime (cached by content hash)."""
    target = cache_root / f"lambda-deps-{requirements_hash(requirements)}"
    if (target / ".complete").exists():
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--only-binary=:all:",
        *pip_platform_args(),
        "--python-version",
        TARGET_PYTHON,
        "--implementation",
        "cp",
        "--target",
        str(staging),
        "-r",
        str(requirements),
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build_zip: pip install failed:\n{result.stderr.strip()}")
    (staging / ".complete").write_text("")
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return target


def spec_for(handler_dir: Path) -> ZipSpec:
    return FUNCTION_SPECS.get(Path(handler_dir).name, DEFAULT_SPEC)


def runtime_entries(
    subpackages: Iterable[str], package_dir: Path = RUNTIME_PACKAGE_DIR
) -> list[tuple[str, Path]]:
    """(archive name, path) of the runtime package's core modules and the named subpackages."""
    package_dir = Path(package_dir)
    entries = [(f"{RUNTIME_PACKAGE}/{name}", package_dir / name) for name in RUNTIME_CORE_MODULES]
    for sub in subpackages:
        entries += tree_entries(package_dir / sub, f"{RUNTIME_PACKAGE}/{sub}/")
    return entries


_SPEC_REQUIREMENTS = object()  # sentinel: "the requirements of the function's spec"


def build_function_zip(
    handler_dir: Path,
    output: Path,
    *,
    include_common: bool = True,
    requirements: Path | None | object = _SPEC_REQUIREMENTS,
    cache_root: Path = CACHE_ROOT,
    source_root: Path = LAMBDA_SRC,
) -> tuple[int, str]:
    """Build one function zip; returns (size in bytes, sha256 hex). ``requirements=None`` bundles no
    third-party packages; by default the function's own requirements file (``FUNCTION_SPECS``).
    ``source_root`` is the ``lambda_src/`` tree whose ``wildrydes_lambda/`` is bundled (a test's copy)."""
    handler_dir = Path(handler_dir)
    if not (handler_dir / "handler.py").is_file():
        raise SystemExit(f"build_zip: {handler_dir}/handler.py not found")
    spec = spec_for(handler_dir)
    if requirements is _SPEC_REQUIREMENTS:
        requirements = spec.requirements
    entries = tree_entries(handler_dir)
    if include_common:
        entries += runtime_entries(spec.subpackages, Path(source_root) / RUNTIME_PACKAGE)
    if requirements is not None:
        deps = install_requirements(Path(requirements), Path(cache_root))
        entries += tree_entries(deps, skip_top=EXCLUDED_DEP_TOP_LEVEL)
    write_zip_entries(entries, Path(output))
    return Path(output).stat().st_size, sha256_file(Path(output))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler-dir", type=Path, required=True, help="directory holding handler.py")
    parser.add_argument("--out", type=Path, required=True, help="zip to write, e.g. build/ingest.zip")
    parser.add_argument("--no-deps", action="store_true", help="do not bundle third-party packages")
    parser.add_argument("--no-common", action="store_true", help="do not bundle wildrydes_lambda/")
    parser.add_argument(
        "--requirements",
        type=Path,
        default=None,
        help="pins to bundle (default: the function's lambda_src/requirements-<kind>.txt)",
    )
    parser.add_argument("--cache", type=Path, default=CACHE_ROOT)
    args = parser.parse_args(argv)
    size, sha = build_function_zip(
        args.handler_dir,
        args.out,
        include_common=not args.no_common,
        requirements=None if args.no_deps else (args.requirements or _SPEC_REQUIREMENTS),
        cache_root=args.cache,
    )
    print(f"{args.out}  {size / MIB:6.2f} MiB  ({size} bytes)  sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
