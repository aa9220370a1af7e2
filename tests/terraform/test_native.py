"""Runs each module's native `terraform test` files (modules/<name>/tests/*.tftest.hcl).

They use `mock_provider "aws"`, so they are offline; they cover what a plan with the real provider
cannot show (rendered redrive policies) and prove with `expect_failures` that bad inputs are refused.
"""

from __future__ import annotations

import re

import pytest
from tfhelpers import MODULES_DIR, copy_tree, init_args, run_terraform

# One entry per module (a module may have several test files; `terraform test` runs them all).
MODULES_WITH_NATIVE_TESTS = sorted({p.parent.parent.name for p in MODULES_DIR.glob("*/tests/*.tftest.hcl")})


def test_the_etl_modules_have_native_tests():
    assert {"storage", "queues", "etl_functions"} <= set(MODULES_WITH_NATIVE_TESTS)


@pytest.mark.parametrize("module", MODULES_WITH_NATIVE_TESTS)
def test_native_terraform_tests_pass(module, tmp_path, terraform_bin):
    workdir = copy_tree(MODULES_DIR / module, tmp_path / module)
    run_terraform(workdir, *init_args())
    proc = run_terraform(workdir, "test", "-no-color", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    summary = re.search(r"Success! (\d+) passed, 0 failed", output)
    assert summary and int(summary.group(1)) > 0, output
    runs = len(re.findall(r'^\s*run "', "".join(p.read_text() for p in (workdir / "tests").glob("*.tftest.hcl")), re.MULTILINE))
    assert int(summary.group(1)) == runs, f"{runs} run blocks but {summary.group(1)} passed:\n{output}"
