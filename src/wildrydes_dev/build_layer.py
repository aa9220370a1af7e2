"""Build the MXNet Lambda layer (build/mxnet-layer.zip) from pinned prebuilt wheels.

Why this shape: Lambda's python3.11 runtime cannot build MXNet, so we take the manylinux wheels that
PyPI publishes, unpack them into the layer's ``python/`` directory (which the runtime, and our LocalStack
process executor, put on ``sys.path``), drop what inference never loads so layer + function stay under
Lambda's 250 MB unzipped limit, and zip the tree reproducibly (sorted names, fixed timestamps and modes)
so the same pins always give the same bytes and Terraform only re-uploads the layer when it changed.

Wheels are cached under ``build/cache/layer-wheels-<hash of pins+platform>/`` so rebuilding is offline.

Usage: python -m wildrydes_dev.build_layer [--output build/mxnet-layer.zip] [--function-zip build/inference.zip]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Exact pins. mxnet 1.9.1 needs numpy < 1.24 (it uses the removed np.bool alias elsewhere) and imports
# `requests` at load (mxnet/gluon/utils.py), so requests and its own dependencies ride along; graphviz
# is only imported inside mxnet.visualization functions, so it is left out.
LAYER_PINS = (
    "mxnet==1.9.1",
    "numpy==1.23.5",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "idna==3.20",
    "charset-normalizer==3.5.3",
    "certifi==2026.10.19.post1",
)
# The Lambda python3.11 runtime is Amazon Linux 2 (glibc 2.26) on x86_64: manylinux2014 = glibc 2.17.
WHEEL_PLATFORM = "manylinux2014_x86_64"
WHEEL_PYTHON_VERSION = "3.11"

LAYER_SITE_DIR = "python"  # the layer's top-level directory that the runtime puts on sys.path
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # function + all layers, unzipped
MIB = 1024 * 1024

# What inference never loads (verified: `import mxnet` + Module.load/bind/predict with these removed,
# see tests/unit/test_mxnet_layer.py). numpy.testing and mxnet.test_utils ARE imported at load: keep.
TRIM_DIR_NAMES = frozenset({"__pycache__", "tests", "include"})
TRIM_PACKAGE_DIRS = ("numpy/f2py", "numpy/distutils", "numpy/doc")
TRIM_SUFFIXES = (".pyc", ".pyo", ".h", ".hpp", ".cuh", ".pxd", ".pyx", ".c", ".cpp", ".pyi")
# A wheel's RECORD lists hashes of files we removed; drop it (and INSTALLER/REQUESTED-style noise)
# but keep METADATA/LICENSE so the layer still says what it contains.
TRIM_DIST_INFO_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


def pins_cache_key(pins: tuple[str, ...] = LAYER_PINS) -> str:
    """A short hash of everything that decides which wheel files pip picks."""
    material = "\n".join((*sorted(pins), WHEEL_PLATFORM, WHEEL_PYTHON_VERSION))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def download_wheels(cache_root: Path, pins: tuple[str, ...] = LAYER_PINS) -> list[Path]:
    """Download (once) the pinned binary wheels for the Lambda platform; returns the wheel paths."""
    cache_dir = cache_root / f"layer-wheels-{pins_cache_key(pins)}"
    complete_marker = cache_dir / ".complete"
    if not complete_marker.exists():
        partial = cache_dir.with_name(cache_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        # --no-deps: the pin list above is the whole closure we want (no graphviz); pip would otherwise
        # also resolve for the *host* interpreter's markers.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "--platform", WHEEL_PLATFORM,
             "--python-version", WHEEL_PYTHON_VERSION, "--implementation", "cp",
             "--dest", str(partial), *pins],
            check=True,
        )
        (partial / ".complete").write_text("\n".join(pins) + "\n")
        shutil.rmtree(cache_dir, ignore_errors=True)
        partial.rename(cache_dir)
    wheels = sorted(cache_dir.glob("*.whl"))
    if len(wheels) != len(pins):
        raise SystemExit(f"expected {len(pins)} wheels in {cache_dir}, found {len(wheels)}; delete it and retry")
    return wheels


def unpack_wheels(wheels: list[Path], site_dir: Path) -> None:
    """Unpack wheels as `pip install --target` would for pure/platlib content (no scripts/headers)."""
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                top = info.filename.split("/", 1)[0]
                # <name>.data/{scripts,headers,data} are not importable: the layer does not need them.
                if top.endswith(".data"):
                    continue
                target = site_dir / info.filename
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                # Keep the executable bit the wheel recorded (unix mode in the high 16 bits).
                if (info.external_attr >> 16) & 0o111:
                    target.chmod(0o755)


def trim_tree(site_dir: Path) -> int:
    """Remove what inference never loads; returns bytes removed."""
    removed = 0

    def _drop(path: Path) -> None:
        nonlocal removed
        if path.is_dir():
            removed += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
        elif path.exists():
            removed += path.stat().st_size
            path.unlink()

    for rel in TRIM_PACKAGE_DIRS:
        _drop(site_dir / rel)
    # Walk bottom-up so removing a directory never disturbs the walk.
    for dirpath, dirnames, filenames in os.walk(site_dir, topdown=False):
        here = Path(dirpath)
        for name in filenames:
            in_dist_info = here.name.endswith(".dist-info")
            if name.endswith(TRIM_SUFFIXES) or (in_dist_info and name in TRIM_DIST_INFO_FILES):
                _drop(here / name)
        if here.name in TRIM_DIR_NAMES and here != site_dir:
            _drop(here)
    return removed


def strip_shared_objects(site_dir: Path) -> int:
    """`strip --strip-unneeded` every .so that still carries symbols; returns bytes saved.

    The manylinux wheels are mostly stripped already; this catches the rest and is skipped when
    binutils is absent (the result is still a valid layer, only larger)."""
    strip = shutil.which("strip")
    if strip is None:
        print("build_layer: `strip` not found; shared objects left as shipped", file=sys.stderr)
        return 0
    saved = 0
    for so in sorted(site_dir.rglob("*.so*")):
        if not so.is_file():
            continue
        before = so.stat().st_size
        result = subprocess.run([strip, "--strip-unneeded", str(so)], check=False, capture_output=True)
        if result.returncode == 0:
            saved += before - so.stat().st_size
    return saved


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as zf:
        return sum(info.file_size for info in zf.infolist())


def write_zip(staging_root: Path, output: Path) -> None:
    """Reproducible zip of staging_root: the same writer as the function zips (sorted, fixed times/modes)."""
    from wildrydes_dev.build_zip import write_reproducible_zip

    write_reproducible_zip(staging_root, output)


def build_layer(output: Path, cache_root: Path, staging: Path, strip: bool = True) -> dict[str, int]:
    wheels = download_wheels(cache_root)
    shutil.rmtree(staging, ignore_errors=True)
    site_dir = staging / LAYER_SITE_DIR
    site_dir.mkdir(parents=True)
    unpack_wheels(wheels, site_dir)
    unpacked = tree_size(site_dir)
    trimmed = trim_tree(site_dir)
    stripped = strip_shared_objects(site_dir) if strip else 0
    output.parent.mkdir(parents=True, exist_ok=True)
    write_zip(staging, output)
    return {
        "unpacked": unpacked,
        "trimmed": trimmed,
        "stripped": stripped,
        "unzipped": unzipped_size(output),
        "zipped": output.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "build" / "mxnet-layer.zip")
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "build" / "cache")
    parser.add_argument("--staging", type=Path, default=REPO_ROOT / "build" / "layer-staging")
    parser.add_argument("--function-zip", type=Path, action="append", default=[],
                        help="function zip(s) deployed with this layer, for the 250 MB unzipped check")
    parser.add_argument("--no-strip", action="store_true", help="do not strip debug symbols from .so files")
    parser.add_argument("--check-only", action="store_true",
                        help="do not build: report the existing layer zip's sizes and check the limit")
    args = parser.parse_args(argv)

    print(f"mxnet layer: {args.output}")
    if args.check_only:
        if not args.output.exists():
            raise SystemExit(f"build_layer: {args.output} not found (run `make layer`)")
        sizes = {"zipped": args.output.stat().st_size, "unzipped": unzipped_size(args.output)}
    else:
        sizes = build_layer(args.output, args.cache, args.staging, strip=not args.no_strip)
        print(f"  wheels unpacked {sizes['unpacked'] / MIB:7.1f} MiB; trimmed {sizes['trimmed'] / MIB:.1f} MiB;"
              f" stripped {sizes['stripped'] / MIB:.1f} MiB")
    print(f"  zipped {sizes['zipped'] / MIB:7.1f} MiB, unzipped {sizes['unzipped'] / MIB:7.1f} MiB")
    total = sizes["unzipped"]
    for function_zip in args.function_zip:
        if not function_zip.exists():
            raise SystemExit(f"build_layer: {function_zip} not found (build the function zip first)")
        size = unzipped_size(function_zip)
        total += size
        print(f"  + {function_zip.name} unzipped {size / MIB:7.1f} MiB")
    print(f"  layer + function unzipped {total / MIB:.1f} MiB of {LAMBDA_UNZIPPED_LIMIT_BYTES / MIB:.0f} MiB limit")
    if total >= LAMBDA_UNZIPPED_LIMIT_BYTES:
        print("build_layer: over Lambda's 250 MB unzipped limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
