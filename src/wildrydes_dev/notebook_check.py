"""`make lint`: notebooks are committed with outputs stripped (no outputs, no execution counts).

    python -m wildrydes_dev.notebook_check [NOTEBOOK ...]     # default: notebooks/*.ipynb; exit 1 on any

Outputs would commit one machine's paths, timings and figures (and make every run a diff); the notebook
is executed by a real Jupyter kernel in tests/unit/training/test_notebook.py instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GLOB = "notebooks/*.ipynb"


def problems(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    found = []
    for number, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            found.append(f"{path}: code cell {number} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"{path}: code cell {number} has an execution count")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted(ROOT.glob(DEFAULT_GLOB))
    found = [p for path in paths for p in problems(path)]
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print("clear them before committing (Jupyter: Edit > Clear Outputs of All Cells)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
