"""wildrydes_dev/build_zip.py: same sources -> same bytes, no bytecode, the expected layout."""

import hashlib
import os
import zipfile
from pathlib import Path

from wildrydes_dev import build_zip

REPO = Path(__file__).resolve().parents[3]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_function_zip_is_reproducible_and_clean(tmp_path):
    handler_dir = tmp_path / "fn"
    (handler_dir / "__pycache__").mkdir(parents=True)
    (handler_dir / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (handler_dir / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")
    (handler_dir / "stray.pyc").write_bytes(b"junk")

    first = tmp_path / "one.zip"
    size, digest = build_zip.build_function_zip(handler_dir, first, requirements=None)
    assert size == first.stat().st_size and digest == sha(first)

    # Touch every source (new mtimes) and build again: the bytes must not change.
    for path in handler_dir.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    second = tmp_path / "two.zip"
    assert build_zip.build_function_zip(handler_dir, second, requirements=None)[1] == digest

    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert "handler.py" in names and "wildrydes_lambda/etl/rides.py" in names
        assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
        assert {info.date_time for info in zf.infolist()} == {build_zip.ZIP_EPOCH}
        assert {info.external_attr >> 16 for info in zf.infolist()} <= {
            build_zip.FILE_MODE,
            build_zip.EXEC_MODE,
        }


def test_zip_with_pinned_dependencies_is_reproducible(tmp_path):
    out1, out2 = tmp_path / "a.zip", tmp_path / "b.zip"
    digest1 = build_zip.build_function_zip(REPO / "lambda_src" / "ingest", out1)[1]
    digest2 = build_zip.build_function_zip(REPO / "lambda_src" / "ingest", out2)[1]
    assert digest1 == digest2
    names = zipfile.ZipFile(out1).namelist()
    assert "ijson/backends/yajl2_c.py" in names and "aws_lambda_powertools/__init__.py" in names
    assert not [n for n in names if n.startswith("bin/") or n.endswith(".pyc")]


def test_write_reproducible_zip_of_a_tree(tmp_path):
    root = tmp_path / "layer" / "python" / "pkg"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("x = 1\n")
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    build_zip.write_reproducible_zip(tmp_path / "layer", a)
    os.utime(root / "__init__.py", (1_600_000_000, 1_600_000_000))
    build_zip.write_reproducible_zip(tmp_path / "layer", b)
    assert sha(a) == sha(b) and zipfile.ZipFile(a).namelist() == ["python/pkg/__init__.py"]
