"""fmt, validate and checkov over all Terraform in the repository (offline)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tfhelpers import (
    ALL_MODULES,
    MODULES_DIR,
    REPO_ROOT,
    copy_tree,
    init_args,
    module_copy,
    run_terraform,
    terraform_env,
)

CHECKOV = REPO_ROOT / ".venv" / "bin" / "checkov"
ROOT_TF_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")


def test_fmt_is_clean(terraform_bin):
    proc = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", "-no-color"],
        cwd=REPO_ROOT,
        env=terraform_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("module", ALL_MODULES)
def test_module_validates(module, tmp_path, terraform_bin):
    workdir = module_copy(tmp_path, module)
    run_terraform(workdir, *init_args())
    proc = run_terraform(workdir, "validate", "-json", check=False)
    report = json.loads(proc.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)


def test_root_validates(tmp_path, terraform_bin):
    workdir = tmp_path / "root"
    workdir.mkdir()
    for name in Path(REPO_ROOT).glob("*.tf"):
        if not name.name.endswith("_override.tf"):
            (workdir / name.name).write_text(name.read_text())
    copy_tree(MODULES_DIR, workdir / "modules")
    for extra in ("sql", "localstack"):  # modules may read files next to the root (e.g. SQL text)
        if (REPO_ROOT / extra).is_dir():
            copy_tree(REPO_ROOT / extra, workdir / extra)
    # The committed lock file must accept the provider we init with.
    (workdir / ".terraform.lock.hcl").write_text((REPO_ROOT / ".terraform.lock.hcl").read_text())
    run_terraform(workdir, *init_args(), "-lockfile=readonly")
    proc = run_terraform(workdir, "validate", "-json", check=False)
    report = json.loads(proc.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)


def test_every_module_has_the_standard_files():
    for module in ALL_MODULES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (MODULES_DIR / module / name).is_file(), f"modules/{module}/{name} is missing"
    for name in ROOT_TF_FILES:
        assert (REPO_ROOT / name).is_file(), f"root {name} is missing"


def test_checkov_reports_zero_failed_checks():
    assert CHECKOV.is_file(), f"checkov not installed in the project venv ({CHECKOV}); run `make venv`"
    proc = subprocess.run(
        [str(CHECKOV), "--config-file", ".checkov.yaml", "--output", "json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.stdout.strip(), f"checkov printed nothing:\n{proc.stderr[-3000:]}"
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = {"passed": 0, "failed": 0, "skipped": 0}
    failures = []
    for report in reports:
        for key in summary:
            summary[key] += report["summary"][key]
        for check in report["results"].get("failed_checks", []):
            failures.append(f"{check['check_id']} {check['resource']} ({check['file_path']})")
    assert summary["passed"] > 0, "checkov passed nothing: did it scan the Terraform at all?"
    assert not failures, "checkov failed checks:\n" + "\n".join(failures)
    # Every skip must carry a written reason (`#checkov:skip=ID:reason`).
    for report in reports:
        for check in report["results"].get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason.strip()) >= 20, (
                f"skip of {check['check_id']} on {check['resource']} has no real reason"
            )
