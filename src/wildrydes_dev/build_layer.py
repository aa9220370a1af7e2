"""Build the MXNet Lambda layer (build/mxnet-layer.zip) from pinned prebuilt wheels, for python3.13.

Why this shape: Lambda cannot build MXNet, so we take the manylinux wheels that PyPI publishes, unpack them
into the layer's ``python/`` directory (which the runtime, and our LocalStack process executor, put on
``sys.path``), drop what inference never loads so layer + function stay under Lambda's 250 MB unzipped
limit, and zip the tree reproducibly (sorted names, fixed timestamps and modes) so the same pins always give
the same bytes and Terraform only re-uploads the layer when it changed.

On top of the wheels the layer carries:

* ``python/mxnet_numpy_compat.py`` (from ``lambda_src/layers/mxnet/``), imported by the first line of the
  layer's ``mxnet/__init__.py``: it puts back the numpy names mxnet 1.9.1 reads that numpy 2 removed, and a
  ``distutils.version`` stand-in for Python >= 3.12 (docs/runtime.md says what and why).
* ``.pyc`` files compiled for the target Python in ``unchecked-hash`` mode: a Lambda layer is read-only, so
  without them every cold start compiles mxnet's sources (~1 s); hash-based because the zip resets every
  file time, which would make timestamp ``.pyc`` files stale.
* ``lib/``: the shared libraries libmxnet.so needs that the python3.13 base image (Amazon Linux 2023) does
  not carry (Lambda puts ``/opt/lib`` on ``LD_LIBRARY_PATH``). ``BASE_IMAGE_LIBS`` is the list we rely on;
  ``missing_libraries()`` proves every NEEDED entry of every ``.so`` is in the layer or on that list.

Wheels are cached under ``build/cache/layer-wheels-<hash of pins+platform>/`` so rebuilding is offline.

Usage: python -m wildrydes_dev.build_layer [--output build/mxnet-layer.zip] [--function-zip build/inference.zip]
       python -m wildrydes_dev.build_layer --install-shim <site-packages>   (the project venv's mxnet)
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

from wildrydes_dev.build_zip import TARGET_PLATFORMS, TARGET_PYTHON, TARGET_RUNTIME, pip_platform_args

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIM_SOURCE = REPO_ROOT / "lambda_src" / "layers" / "mxnet" / "mxnet_numpy_compat.py"
SHIM_MODULE = SHIM_SOURCE.stem
SHIM_IMPORT_LINE = (
    f"import {SHIM_MODULE}  # noqa: F401  wildrydes layer: numpy 2 / Python 3.12+ names for mxnet 1.9.1\n"
)

# Exact pins. mxnet 1.9.1 declares numpy<2 but runs on numpy 2.4 with the shim (tests/unit/serving/
# test_mxnet_layer.py); numpy is pinned exactly because each numpy release removes names (2.4 removed more
# than 2.1). mxnet imports `requests` at load (mxnet/gluon/utils.py), so requests and its own dependencies
# ride along; graphviz is only imported inside mxnet.visualization functions, so it is left out.
LAYER_PINS = (
    "mxnet==1.9.1",
    "numpy==2.4.6",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "idna==3.20",
    "charset-normalizer==3.5.3",
    "certifi==2026.10.19.post1",
)
# Wheels downloaded only as the source of a system library the base image lacks (not unpacked into python/).
LIBRARY_DONOR_PINS = ("scikit-learn==1.7.2",)
# soname libmxnet.so (and its libopenblas/libgfortran) asks for -> (donor wheel's project, file inside it).
# Both are GCC runtime libraries, built on manylinux (glibc <= 2.28 <= AL2023's 2.34); taken from pinned
# wheels rather than the build host so the layer is byte-identical on every machine.
SHIPPED_LIBS = {
    "libgomp.so.1": ("scikit_learn", "scikit_learn.libs/libgomp-*.so.1.0.0"),
    "libquadmath.so.0": ("numpy", "numpy.libs/libquadmath-*.so.0.0.0"),
}
# Libraries the python3.13 Lambda base image (Amazon Linux 2023 minimal: glibc, libgcc, libstdc++, zlib) provides
# in /lib64, which the layer may link against without shipping them. Anything else must be in the layer.
BASE_IMAGE_LIBS = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libpthread.so.0",  # glibc 2.34
        "libgcc_s.so.1",  # libgcc
        "libstdc++.so.6",  # libstdc++
        "libz.so.1",  # zlib
    }
)

LAYER_SITE_DIR = "python"  # the layer's top-level directory that the runtime puts on sys.path
LAYER_LIB_DIR = "lib"  # /opt/lib on Lambda: on LD_LIBRARY_PATH
# Where Lambda extracts layers: compiled code objects name their source files under it (tracebacks).
LAYER_MOUNT = "/opt"
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # function + all layers, unzipped
MIB = 1024 * 1024

# What inference never loads (verified: `import mxnet` + Module.load/bind/predict with these removed,
# see tests/unit/serving/test_mxnet_layer.py). numpy.testing and mxnet.test_utils ARE imported at load: keep.
TRIM_DIR_NAMES = frozenset({"__pycache__", "tests", "include"})
TRIM_PACKAGE_DIRS = ("numpy/f2py", "numpy/distutils", "numpy/doc", "numpy/_pyinstaller", "numpy/typing/tests")
TRIM_SUFFIXES = (".pyc", ".pyo", ".h", ".hpp", ".cuh", ".pxd", ".pyx", ".c", ".cpp", ".pyi", ".a")
# A wheel's RECORD lists hashes of files we removed; drop it (and INSTALLER/REQUESTED-style noise)
# but keep METADATA/LICENSE so the layer still says what it contains.
TRIM_DIST_INFO_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# auditwheel's bundled-library directories (numpy.libs/): `strip` corrupts them (numpy 2.x's libraries are
# patched with patchelf; stripping them gives "ELF load command address/offset not page-aligned" at import).
NO_STRIP_DIR_SUFFIX = ".libs"


def pins_cache_key(pins: tuple[str, ...] = LAYER_PINS + LIBRARY_DONOR_PINS) -> str:
    """A short hash of everything that decides which wheel files pip picks."""
    material = "\n".join((*sorted(pins), *TARGET_PLATFORMS, TARGET_PYTHON))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def download_wheels(cache_root: Path, pins: tuple[str, ...] = LAYER_PINS + LIBRARY_DONOR_PINS) -> list[Path]:
    """Download (once) the pinned binary wheels for the Lambda platform; returns the wheel paths."""
    cache_dir = cache_root / f"layer-wheels-{pins_cache_key(pins)}"
    complete_marker = cache_dir / ".complete"
    if not complete_marker.exists():
        partial = cache_dir.with_name(cache_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        # --no-deps: the pin list above is the whole closure we want (no graphviz, numpy 2 despite mxnet's
        # numpy<2); pip would otherwise also resolve for the *host* interpreter's markers.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                *pip_platform_args(),
                "--python-version",
                TARGET_PYTHON,
                "--implementation",
                "cp",
                "--dest",
                str(partial),
                *pins,
            ],
            check=True,
        )
        (partial / ".complete").write_text("\n".join(pins) + "\n")
        shutil.rmtree(cache_dir, ignore_errors=True)
        partial.rename(cache_dir)
    wheels = sorted(cache_dir.glob("*.whl"))
    if len(wheels) != len(pins):
        raise SystemExit(
            f"expected {len(pins)} wheels in {cache_dir}, found {len(wheels)}; delete it and retry"
        )
    return wheels


def _project_of(wheel: Path) -> str:
    return wheel.name.split("-", 1)[0].lower()


def _donor_projects() -> set[str]:
    return {pin.split("==", 1)[0].replace("-", "_").lower() for pin in LIBRARY_DONOR_PINS}


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


def copy_shipped_libs(wheels: list[Path], lib_dir: Path) -> list[str]:
    """lib/<soname> for every SHIPPED_LIBS entry, copied out of its pinned donor wheel."""
    by_project = {_project_of(w): w for w in wheels}
    lib_dir.mkdir(parents=True, exist_ok=True)
    for soname, (project, pattern) in sorted(SHIPPED_LIBS.items()):
        with zipfile.ZipFile(by_project[project]) as zf:
            members = sorted(n for n in zf.namelist() if fnmatch.fnmatch(n, pattern))
            if len(members) != 1:
                raise SystemExit(f"build_layer: {pattern} matches {members} in {by_project[project].name}")
            with zf.open(members[0]) as src, open(lib_dir / soname, "wb") as dst:
                shutil.copyfileobj(src, dst)
        (lib_dir / soname).chmod(0o755)
    return sorted(SHIPPED_LIBS)


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
    for dirpath, _dirnames, filenames in os.walk(site_dir, topdown=False):
        here = Path(dirpath)
        for name in filenames:
            in_dist_info = here.name.endswith(".dist-info")
            if name.endswith(TRIM_SUFFIXES) or (in_dist_info and name in TRIM_DIST_INFO_FILES):
                _drop(here / name)
        if here.name in TRIM_DIR_NAMES and here != site_dir:
            _drop(here)
    return removed


def strip_shared_objects(root: Path) -> int:
    """`strip --strip-unneeded` every .so that still carries symbols, except auditwheel's ``*.libs/``
    directories (see NO_STRIP_DIR_SUFFIX); returns bytes saved. Skipped when binutils is absent (the result
    is still a valid layer, only larger)."""
    strip = shutil.which("strip")
    if strip is None:
        print("build_layer: `strip` not found; shared objects left as shipped", file=sys.stderr)
        return 0
    saved = 0
    for so in sorted(root.rglob("*.so*")):
        if not so.is_file() or any(part.endswith(NO_STRIP_DIR_SUFFIX) for part in so.relative_to(root).parts):
            continue
        before = so.stat().st_size
        result = subprocess.run([strip, "--strip-unneeded", str(so)], check=False, capture_output=True)
        if result.returncode == 0:
            saved += before - so.stat().st_size
    return saved


# ----------------------------------------------------------------------------- the compatibility module
def install_shim(site_dir: Path) -> Path:
    """Copy mxnet_numpy_compat.py next to mxnet/ and make mxnet/__init__.py import it first (idempotent).

    The import goes in mxnet's own ``__init__`` (not a sitecustomize, which would cost every start of the
    interpreter, ~0.6 s measured), so a function that never imports mxnet never pays for it."""
    site_dir = Path(site_dir)
    init = site_dir / "mxnet" / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"build_layer: {init} not found (is mxnet installed there?)")
    shutil.copyfile(SHIM_SOURCE, site_dir / SHIM_SOURCE.name)
    source = init.read_text()
    if SHIM_IMPORT_LINE not in source:
        # mxnet/__init__.py has no `from __future__` import, so the first line may be an import.
        if "from __future__" in source:
            raise SystemExit(f"build_layer: {init} has a __future__ import; place the shim import after it")
        init.write_text(SHIM_IMPORT_LINE + source)
    return init


# ----------------------------------------------------------------------------- bytecode
COMPILE_SCRIPT = r"""
import compileall, sys, warnings
warnings.simplefilter("ignore")  # mxnet's sources have invalid escape sequences: SyntaxWarning at compile
root, prepend = sys.argv[1], sys.argv[2]
ok = compileall.compile_dir(root, quiet=2, stripdir=root, prependdir=prepend, workers=1,
                            invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH)
sys.exit(0 if ok else 1)
"""


def target_python() -> str:
    """An interpreter of the target Python version (this one when it matches), to compile bytecode with."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == TARGET_PYTHON:
        return sys.executable
    from wildrydes_dev.find_python import PythonNotFound, find_python

    try:
        return find_python(TARGET_PYTHON)
    except PythonNotFound as exc:
        raise SystemExit(
            f"build_layer: bytecode for {TARGET_RUNTIME} needs Python {TARGET_PYTHON}: {exc}"
        ) from exc


def compile_bytecode(site_dir: Path, python: str | None = None) -> int:
    """Compile every .py under site_dir to __pycache__/*.cpython-3XX.pyc in unchecked-hash mode; returns
    the bytes added. PYTHONHASHSEED=0 and one worker make the bytes independent of the run (set constants
    are marshalled in hash order); code objects name their files under /opt/python like on Lambda."""
    before = tree_size(site_dir)
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # not -I/-E: they would ignore PYTHONHASHSEED
    result = subprocess.run(
        [
            python or target_python(),
            "-s",
            "-c",
            COMPILE_SCRIPT,
            str(site_dir),
            f"{LAYER_MOUNT}/{LAYER_SITE_DIR}",
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise SystemExit(f"build_layer: compileall failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return tree_size(site_dir) - before


# ----------------------------------------------------------------------------- shared-library closure
_SHT_DYNAMIC = 6
_DT_NEEDED = 1


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF64 little-endian shared object (what `readelf -d` lists as NEEDED),
    read from its section headers; stdlib only so tests need no binutils."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not an ELF64 little-endian file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    needed = []
    for _name, sh_type, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if sh_type != _SHT_DYNAMIC:
            continue
        strtab_offset = sections[link][4]
        for pos in range(offset, offset + size, entsize or 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == 0:
                break
            if tag == _DT_NEEDED:
                end = data.index(b"\0", strtab_offset + value)
                needed.append(data[strtab_offset + value : end].decode())
    return needed


def missing_libraries(layer_root: Path, base_libs: frozenset[str] = BASE_IMAGE_LIBS) -> dict[str, list[str]]:
    """{shared object (relative path): [NEEDED names neither in the layer nor on the base image]}."""
    layer_root = Path(layer_root)
    shared = [
        p for p in sorted(layer_root.rglob("*.so*")) if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"
    ]
    in_layer = {p.name for p in shared}
    missing = {}
    for so in shared:
        absent = [name for name in needed_libraries(so) if name not in in_layer and name not in base_libs]
        if absent:
            missing[so.relative_to(layer_root).as_posix()] = absent
    return missing


# ----------------------------------------------------------------------------- sizes and the zip
def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as zf:
        return sum(info.file_size for info in zf.infolist())


def write_zip(staging_root: Path, output: Path) -> None:
    """Reproducible zip of staging_root: the same writer as the function zips (sorted, fixed times/modes),
    keeping the hash-based bytecode."""
    from wildrydes_dev.build_zip import write_reproducible_zip

    write_reproducible_zip(staging_root, output, keep_bytecode=True)


def build_layer(
    output: Path, cache_root: Path, staging: Path, strip: bool = True, bytecode: bool = True
) -> dict[str, int]:
    wheels = download_wheels(cache_root)
    donors = _donor_projects()
    shutil.rmtree(staging, ignore_errors=True)
    site_dir = staging / LAYER_SITE_DIR
    site_dir.mkdir(parents=True)
    unpack_wheels([w for w in wheels if _project_of(w) not in donors], site_dir)
    copy_shipped_libs(wheels, staging / LAYER_LIB_DIR)
    unpacked = tree_size(staging)
    trimmed = trim_tree(site_dir)
    install_shim(site_dir)
    stripped = strip_shared_objects(staging) if strip else 0
    missing = missing_libraries(staging)
    if missing:
        raise SystemExit(
            f"build_layer: shared libraries neither in the layer nor on the base image: {missing}"
        )
    compiled = compile_bytecode(site_dir) if bytecode else 0
    output.parent.mkdir(parents=True, exist_ok=True)
    write_zip(staging, output)
    return {
        "unpacked": unpacked,
        "trimmed": trimmed,
        "stripped": stripped,
        "bytecode": compiled,
        "unzipped": unzipped_size(output),
        "zipped": output.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "build" / "mxnet-layer.zip")
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "build" / "cache")
    parser.add_argument("--staging", type=Path, default=REPO_ROOT / "build" / "layer-staging")
    parser.add_argument(
        "--function-zip",
        type=Path,
        action="append",
        default=[],
        help="function zip(s) deployed with this layer, for the 250 MB unzipped check",
    )
    parser.add_argument("--no-strip", action="store_true", help="do not strip debug symbols from .so files")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="do not precompile .pyc (cold-start bench)"
    )
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="do not build: report the existing layer zip's sizes and check the limit",
    )
    parser.add_argument(
        "--install-shim",
        type=Path,
        metavar="SITE_PACKAGES",
        help="only install the compatibility module into an existing mxnet (the project venv)",
    )
    args = parser.parse_args(argv)

    if args.install_shim:
        print(f"mxnet compat: {install_shim(args.install_shim)} imports {SHIM_MODULE}")
        return 0
    print(f"mxnet layer ({TARGET_RUNTIME}): {args.output}")
    if args.check_only:
        if not args.output.exists():
            raise SystemExit(f"build_layer: {args.output} not found (run `make layer`)")
        sizes = {"zipped": args.output.stat().st_size, "unzipped": unzipped_size(args.output)}
    else:
        sizes = build_layer(
            args.output, args.cache, args.staging, strip=not args.no_strip, bytecode=not args.no_bytecode
        )
        print(
            f"  wheels unpacked {sizes['unpacked'] / MIB:7.1f} MiB; trimmed {sizes['trimmed'] / MIB:.1f} MiB;"
            f" stripped {sizes['stripped'] / MIB:.1f} MiB; bytecode +{sizes['bytecode'] / MIB:.1f} MiB"
        )
    print(f"  zipped {sizes['zipped'] / MIB:7.1f} MiB, unzipped {sizes['unzipped'] / MIB:7.1f} MiB")
    total = sizes["unzipped"]
    for function_zip in args.function_zip:
        if not function_zip.exists():
            raise SystemExit(f"build_layer: {function_zip} not found (build the function zip first)")
        size = unzipped_size(function_zip)
        total += size
        print(f"  + {function_zip.name} unzipped {size / MIB:7.1f} MiB")
    margin = LAMBDA_UNZIPPED_LIMIT_BYTES - total
    print(
        f"  layer + function unzipped {total / MIB:.1f} MiB of {LAMBDA_UNZIPPED_LIMIT_BYTES / MIB:.0f} MiB limit"
        f" (margin {margin / MIB:.1f} MiB)"
    )
    if margin <= 0:
        print("build_layer: over Lambda's 250 MB unzipped limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
