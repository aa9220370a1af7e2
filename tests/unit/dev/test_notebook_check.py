"""`make lint`'s notebook check: the committed notebooks carry no outputs; a notebook with any fails it."""

from __future__ import annotations

import json

from wildrydes_dev import notebook_check


def test_the_committed_notebooks_are_stripped():
    assert notebook_check.main([]) == 0


def test_outputs_or_execution_counts_fail_the_check(tmp_path, capsys):
    notebook = json.loads((notebook_check.ROOT / "notebooks" / "linear_learner.ipynb").read_text())
    code = next(i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code")
    notebook["cells"][code]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    notebook["cells"][code]["execution_count"] = 1
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(notebook))
    assert notebook_check.main([str(dirty)]) == 1
    err = capsys.readouterr().err
    assert f"code cell {code} has outputs" in err and f"code cell {code} has an execution count" in err
