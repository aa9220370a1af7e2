"""Each function zip carries only what its function runs (issue 12), built with wildrydes_dev.build_zip.

- The ETL zips (ingest, enrich, writer) hold ``wildrydes_lambda/{contracts,aws,etl}`` and no serving or
  model-format module; the inference zip holds contracts, aws, model_format and serving and no ETL module.
- Every ``wildrydes_lambda`` import inside a zip resolves inside that zip (nothing is missing at run time).
- An inference-only source change (a copy of lambda_src/ with one file under serving/ edited) leaves the
  three ETL zips byte-identical and changes the inference zip; rebuilding unchanged sources gives the same bytes.

Third-party packages do not matter here, so the zips are built with ``requirements=None`` (fast, offline).
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from wildrydes_dev import build_zip

REPO = Path(__file__).resolve().parents[3]
PACKAGE = build_zip.RUNTIME_PACKAGE
ETL_FUNCTIONS = ("ingest", "enrich", "writer")
FUNCTIONS = (*ETL_FUNCTIONS, "inference")
ETL_SUBPACKAGES = {"contracts", "aws", "etl"}
INFERENCE_SUBPACKAGES = {"contracts", "aws", "model_format", "serving"}
CORE_MODULES = {f"{PACKAGE}/__init__.py", f"{PACKAGE}/settings.py"}
SERVING_FILE = Path(PACKAGE) / "serving" / "engine.py"


def build_all(source_root: Path, out_dir: Path) -> dict[str, str]:
    """Build the four zips from ``source_root`` (a lambda_src/ tree) into out_dir; function -> sha256."""
    digests = {}
    for function in FUNCTIONS:
        _, digests[function] = build_zip.build_function_zip(
            source_root / function, out_dir / f"{function}.zip", requirements=None, source_root=source_root
        )
    return digests


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def subpackages(entries: list[str]) -> set[str]:
    """wildrydes_lambda/<sub>/... -> {sub} (the runtime package's subpackages in a zip)."""
    return {name.split("/")[1] for name in entries if name.startswith(f"{PACKAGE}/") and name.count("/") >= 2}


def runtime_imports(source: str) -> set[str]:
    """Dotted wildrydes_lambda modules a source imports (``from wildrydes_lambda.x import y`` -> x, and x.y)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == PACKAGE
        ):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # may be an attribute, see below
    return found


def module_file(dotted: str, entries: set[str]) -> str | None:
    path = dotted.replace(".", "/")
    return next((name for name in (f"{path}.py", f"{path}/__init__.py") if name in entries), None)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zips")
    build_all(REPO / "lambda_src", out)
    return out


@pytest.mark.parametrize("function", ETL_FUNCTIONS)
def test_etl_zip_holds_contracts_aws_etl_and_no_serving_or_model_format(built, function):
    entries = names(built / f"{function}.zip")
    assert subpackages(entries) == ETL_SUBPACKAGES
    assert set(entries) >= CORE_MODULES and "handler.py" in entries
    unwanted = [n for n in entries if n.startswith((f"{PACKAGE}/serving", f"{PACKAGE}/model_format"))]
    assert not unwanted, f"{function}.zip carries serving/model-format code: {unwanted}"
    for sub in ETL_SUBPACKAGES:
        assert f"{PACKAGE}/{sub}/__init__.py" in entries


def test_inference_zip_holds_contracts_aws_model_format_serving_and_no_etl(built):
    entries = names(built / "inference.zip")
    assert subpackages(entries) == INFERENCE_SUBPACKAGES
    assert set(entries) >= CORE_MODULES and "handler.py" in entries
    assert not [n for n in entries if n.startswith(f"{PACKAGE}/etl")]
    for sub in INFERENCE_SUBPACKAGES:
        assert f"{PACKAGE}/{sub}/__init__.py" in entries


def test_zips_carry_every_runtime_module_they_import(built):
    """Static import closure: an import of a wildrydes_lambda module that its zip lacks would fail on Lambda."""
    source_modules = {
        p.relative_to(REPO / "lambda_src").as_posix()
        for p in (REPO / "lambda_src" / PACKAGE).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    for function in FUNCTIONS:
        with zipfile.ZipFile(built / f"{function}.zip") as archive:
            entries = set(archive.namelist())
            missing = []
            for name in sorted(n for n in entries if n.endswith(".py")):
                for dotted in runtime_imports(archive.read(name).decode("utf-8")):
                    if (
                        module_file(dotted, entries) is None
                        and module_file(dotted, source_modules) is not None
                    ):
                        missing.append(f"{name} imports {dotted}")
                    elif (
                        module_file(dotted, source_modules) is None
                        and module_file(dotted.rpartition(".")[0], source_modules) is None
                    ):
                        missing.append(f"{name} imports {dotted}, which is no module of lambda_src/")
        assert not missing, f"{function}.zip: " + "; ".join(missing)


def test_inference_only_change_leaves_etl_zips_byte_identical(tmp_path):
    source = tmp_path / "lambda_src"
    shutil.copytree(REPO / "lambda_src", source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    before = build_all(source, tmp_path / "before")
    # The copy builds the same bytes as the repository's own lambda_src/.
    assert before == build_all(REPO / "lambda_src", tmp_path / "repo")

    edited = source / SERVING_FILE
    edited.write_text(edited.read_text() + "\n# an inference-only change\n")
    after = build_all(source, tmp_path / "after")

    for function in ETL_FUNCTIONS:
        assert after[function] == before[function], f"{function}.zip changed on an inference-only edit"
        assert (tmp_path / "after" / f"{function}.zip").read_bytes() == (
            tmp_path / "before" / f"{function}.zip"
        ).read_bytes()
    assert after["inference"] != before["inference"]
    with zipfile.ZipFile(tmp_path / "after" / "inference.zip") as archive:
        assert archive.read(SERVING_FILE.as_posix()) == edited.read_bytes()


def test_zips_are_reproducible(tmp_path):
    source = tmp_path / "lambda_src"
    shutil.copytree(REPO / "lambda_src", source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    first = build_all(source, tmp_path / "first")
    # New mtimes on every source and a stray bytecode cache: the bytes must not change.
    for path in source.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (source / PACKAGE / "serving" / "__pycache__").mkdir()
    (source / PACKAGE / "serving" / "__pycache__" / "engine.cpython-313.pyc").write_bytes(b"junk")
    second = build_all(source, tmp_path / "second")
    assert first == second
    for function in FUNCTIONS:
        data = (tmp_path / "second" / f"{function}.zip").read_bytes()
        assert hashlib.sha256(data).hexdigest() == second[function]
        assert not [n for n in names(tmp_path / "second" / f"{function}.zip") if "__pycache__" in n]
