"""Runs each module's native `terraform test` files (modules/<name>/tests/*.tftest.hcl).

Module-level plan rules live there (tests/terraform keeps fmt/validate/checkov, the root composition and
the cross-language contracts). They are offline: `mock_provider "aws"` where computed values must flow
(apply runs), and the real provider with fake credentials and no API call where rendered documents are
read at plan time (IAM policies, dashboards); `expect_failures` proves that bad inputs are refused.
Each module is run from a copy laid out as in the repository (`../lambda_function`, `../../sql`).
"""

from __future__ import annotations

import re

import pytest
from tfhelpers import ALL_MODULES, MODULES_DIR, init_args, module_copy, run_terraform

# One entry per module (a module may have several test files; `terraform test` runs them all).
MODULES_WITH_NATIVE_TESTS = sorted({p.parent.parent.name for p in MODULES_DIR.glob("*/tests/*.tftest.hcl")})


def test_every_module_has_native_tests():
    assert set(MODULES_WITH_NATIVE_TESTS) == set(ALL_MODULES)


@pytest.mark.parametrize("module", MODULES_WITH_NATIVE_TESTS)
def test_native_terraform_tests_pass(module, tmp_path, terraform_bin):
    workdir = module_copy(tmp_path, module)
    run_terraform(workdir, *init_args())
    proc = run_terraform(workdir, "test", "-no-color", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    summary = re.search(r"Success! (\d+) passed, 0 failed", output)
    assert summary and int(summary.group(1)) > 0, output
    runs = len(
        re.findall(
            r'^\s*run "',
            "".join(p.read_text() for p in (workdir / "tests").glob("*.tftest.hcl")),
            re.MULTILINE,
        )
    )
    assert int(summary.group(1)) == runs, f"{runs} run blocks but {summary.group(1)} passed:\n{output}"
