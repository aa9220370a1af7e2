"""Shared helpers for the offline Terraform tests.

Every test works on a temporary copy of the module under test: tftest deletes `.terraform`, the
lock file and state in the folder it runs in, and `terraform init` writes there too, so the
working tree is never touched. Plans use static fake credentials and the provider's skip flags,
which makes them run without any network or emulator.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import tftest

from wildrydes_lambda.contracts import layout as layout_contract

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "modules"
ETL_MODULES = ("storage", "queues", "etl_functions")
ALL_MODULES = tuple(sorted(p.name for p in MODULES_DIR.iterdir() if (p / "main.tf").is_file()))

# The provider mirror on the offline machines; on a connected machine init uses the registry.
DEFAULT_PLUGIN_DIR = Path("/opt/tf-plugins")
PLUGIN_DIR = os.environ.get("WILDRYDES_TF_PLUGIN_DIR") or (
    str(DEFAULT_PLUGIN_DIR) if DEFAULT_PLUGIN_DIR.is_dir() else None
)

# The bucket layout as the storage module outputs it, built from the Python contract (the two are
# compared in test_contracts.py); modules that take `layout` are planned with it.
LAYOUT = {
    **{prefix.name.lower(): prefix.value for prefix in layout_contract.Prefix},
    "model_versions": layout_contract.MODEL_VERSIONS_PREFIX,
    "model_pointer_key": layout_contract.MODEL_POINTER_KEY,
    "model_jobs": layout_contract.MODEL_JOBS_PREFIX,
}

TEST_ACCOUNT_ID = "000000000000"
ROOT_TEST_BUCKET = "wr-root-test-data"
TEST_REGION = "us-east-1"

# Configures the provider so that `plan` makes no API call (fake static credentials, no STS lookup).
OFFLINE_PROVIDER_TF = f"""
provider "aws" {{
  region                      = "{TEST_REGION}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
}}
"""

TF_ENV = {
    "CHECKPOINT_DISABLE": "1",
    "TF_IN_AUTOMATION": "1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def terraform_env() -> dict[str, str]:
    """Environment for terraform subprocesses: ours on top of the caller's, minus emulator endpoints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(TF_ENV)
    return env


def init_args() -> list[str]:
    args = ["init", "-backend=false", "-input=false", "-no-color"]
    if PLUGIN_DIR:
        args.append(f"-plugin-dir={PLUGIN_DIR}")
    return args


def run_terraform(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["terraform", *args], cwd=workdir, env=terraform_env(), capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} failed in {workdir}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def copy_tree(src: Path, dest: Path) -> Path:
    """Copy Terraform sources without local state, caches or lock files of earlier runs."""
    shutil.copytree(
        src,
        dest,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "*_override.tf"),
    )
    return dest


def make_fake_lambda_zip(
    path: Path, body: str = "def lambda_handler(event, context):\n    return None\n"
) -> Path:
    """A tiny valid function package: enough for filebase64sha256 at plan time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("handler.py", body)
    return path


def base64_sha256(path: Path) -> str:
    """What Terraform's filebase64sha256() returns, computed independently."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def module_copy(tmp_path: Path, module: str) -> Path:
    """A temporary copy of modules/<module> laid out as in the repository (every module, and sql/ next to
    modules/), so relative paths such as `../lambda_function` and the athena module's `../../sql` resolve."""
    copy_tree(MODULES_DIR, tmp_path / "modules")
    copy_tree(REPO_ROOT / "sql", tmp_path / "sql")
    return tmp_path / "modules" / module


def offline_module(tmp_path: Path, module: str) -> tftest.TerraformTest:
    """A tftest handle on an initialised temporary copy of modules/<module> with the offline provider."""
    workdir = module_copy(tmp_path, module)
    # Modules declare no provider block, so the test adds the offline one.
    (workdir / "offline_provider.tf").write_text(OFFLINE_PROVIDER_TF)
    tf = tftest.TerraformTest(str(workdir), env=TF_ENV)
    tf.setup(plugin_dir=PLUGIN_DIR, backend=False, cleanup_on_exit=False)
    return tf


def plan_error(tf: tftest.TerraformTest, tf_vars: dict[str, Any] | None = None, **more_vars: Any) -> str:
    """The error text of a plan that must fail, with Terraform's line wrapping undone (variables as a dict
    and/or keywords)."""
    tf_vars = {**(tf_vars or {}), **more_vars}
    try:
        tf.plan(output=True, tf_vars=tf_vars)
    except tftest.TerraformTestError as exc:  # carries Terraform's stdout and stderr
        return " ".join(str(exc).replace("\\n", " ").split())
    raise AssertionError(f"plan succeeded but should have failed with vars {tf_vars}")


def tf_bool(value: bool) -> str:
    """tftest passes -var values verbatim: Terraform booleans must be the strings true/false."""
    return "true" if value else "false"


def plan(tf: tftest.TerraformTest, **tf_vars: Any) -> tftest.TerraformPlanOutput:
    return tf.plan(output=True, tf_vars=tf_vars)


def values(plan_output: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    """Planned attribute values of one resource (address relative to the module)."""
    return plan_output.resources[address]["values"]


def lambda_function(
    plan_module: tftest.TerraformPlanOutput | tftest.TerraformPlanModule, key: str | None = None
) -> dict[str, Any]:
    """Planned resources of one modules/lambda_function call named `function` inside a planned module
    (`module.function`, or `module.function["<key>"]` for the for_each in etl_functions), by address
    relative to it (aws_lambda_function.this, aws_iam_role_policy.data_access, ...)."""
    children = (
        plan_module.modules
        if isinstance(plan_module, tftest.TerraformPlanOutput)
        else plan_module.child_modules
    )
    address = "module.function" if key is None else f'module.function["{key}"]'
    assert address in children, f"{address} not planned; planned modules: {sorted(children)}"
    return children[address].resources
