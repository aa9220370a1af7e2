"""Fixtures of the offline Terraform tests (helpers live in tfhelpers.py)."""

from __future__ import annotations

import re
import shutil

import pytest
import tftest
from tfhelpers import (
    MODULES_DIR,
    OFFLINE_PROVIDER_TF,
    PLUGIN_DIR,
    REPO_ROOT,
    ROOT_TEST_BUCKET,
    TF_ENV,
    copy_tree,
    make_fake_lambda_zip,
)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    assert path, "terraform is not on PATH (the Terraform tests need Terraform >= 1.5)"
    return path


@pytest.fixture(scope="session")
def root(tmp_path_factory, terraform_bin) -> tftest.TerraformTest:
    """The ROOT module on a temporary copy (all six modules, the SQL, stand-in zips), initialised offline."""
    workdir = tmp_path_factory.mktemp("root")
    for tf_file in REPO_ROOT.glob("*.tf"):
        if not tf_file.name.endswith("_override.tf"):
            (workdir / tf_file.name).write_text(tf_file.read_text())
    (workdir / ".terraform.lock.hcl").write_text((REPO_ROOT / ".terraform.lock.hcl").read_text())
    copy_tree(MODULES_DIR, workdir / "modules")
    for extra in ("sql",):
        if (REPO_ROOT / extra).is_dir():
            copy_tree(REPO_ROOT / extra, workdir / extra)
    # Every package the root reads from the build folder, as a tiny stand-in zip.
    main_tf = (REPO_ROOT / "main.tf").read_text()
    for name in set(re.findall(r"\$\{local\.lambda_build_dir\}/([\w.-]+\.zip)", main_tf)):
        make_fake_lambda_zip(workdir / "build" / name)
    (workdir / "offline_override.tf").write_text(OFFLINE_PROVIDER_TF)
    tf = tftest.TerraformTest(str(workdir), env=TF_ENV)
    tf.setup(plugin_dir=PLUGIN_DIR, backend=False, cleanup_on_exit=False)
    return tf


@pytest.fixture(scope="session")
def root_plan(root) -> tftest.TerraformPlanOutput:
    """One root plan shared by the composition and the contract tests."""
    return root.plan(
        output=True,
        tf_vars={
            "name_prefix": "wr-root",
            "data_bucket_name": ROOT_TEST_BUCKET,
            "enrich_timeout_seconds": 40,
        },
    )
