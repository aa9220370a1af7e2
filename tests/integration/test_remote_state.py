"""examples/remote-state on LocalStack S3: the bootstrap module creates the state bucket, a configuration with
the S3 backend (backend.hcl, use_lockfile = true) applies into it, a second apply while the first one runs is
refused with the lock error while ``<key>.tflock`` exists, and the lock file is gone when the run ends.

Terraform runs offline: the backend is built into Terraform, the configuration uses only ``terraform_data``,
and the bootstrap module's AWS provider comes from the plugin mirror when there is one (as in tf_local.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from wildrydes_dev import localaws, tf_local

pytestmark = pytest.mark.localstack

EXAMPLE = localaws.ROOT / "examples" / "remote-state"
STATE_KEY = "wildrydes-ml/lock-test/terraform.tfstate"
LOCK_KEY = f"{STATE_KEY}.tflock"
# How long the first apply holds the lock (its provisioner sleeps), and how long we wait for its lock file.
HOLD_SECONDS = 20
LOCK_APPEAR_TIMEOUT_SECONDS = 120
POLL_SECONDS = 0.5
TERRAFORM_TIMEOUT_SECONDS = 600

SLOW_CONFIGURATION = """
terraform {
  required_version = ">= 1.10"
  backend "s3" {}
}

variable "run_id" {
  type = string
}

variable "hold_seconds" {
  type    = number
  default = 0
}

# Replaced on every run_id, so every apply runs the provisioner, which holds the state lock for hold_seconds.
resource "terraform_data" "slow" {
  triggers_replace = var.run_id

  provisioner "local-exec" {
    command = "sleep ${var.hold_seconds}"
  }
}

output "run_id" {
  value = terraform_data.slow.triggers_replace
}
"""


def terraform_env(localstack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env.update(localaws.credentials_env(), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    if env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).exists():
        env.pop("TF_CLI_CONFIG_FILE")
    return env


def terraform(localstack, workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["terraform", *args],
        cwd=workdir,
        env=terraform_env(localstack),
        capture_output=True,
        text=True,
        timeout=TERRAFORM_TIMEOUT_SECONDS,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"terraform {' '.join(args)} failed in {workdir}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def init_args() -> list[str]:
    args = ["init", "-input=false", "-no-color"]
    if tf_local.PLUGIN_MIRROR.is_dir():
        args.append(f"-plugin-dir={tf_local.PLUGIN_MIRROR}")
    return args


@pytest.fixture(scope="module")
def state_bucket(localstack, tmp_path_factory):
    """The bootstrap module applied to LocalStack (local state), as step 1 of the example's README."""
    workdir = tmp_path_factory.mktemp("bootstrap")
    for source in (EXAMPLE / "bootstrap").glob("*.tf"):
        shutil.copy(source, workdir / source.name)
    (workdir / tf_local.OVERRIDE_NAME).write_text(
        tf_local.provider_override(localstack.port, localstack.moto_port)
    )
    bucket = f"wildrydes-tfstate-{localstack.port}"
    variables = [f"-var=state_bucket_name={bucket}", "-var=force_destroy=true"]
    terraform(localstack, workdir, *init_args())
    terraform(localstack, workdir, "apply", "-auto-approve", "-no-color", "-input=false", *variables)
    yield bucket
    terraform(localstack, workdir, "destroy", "-auto-approve", "-no-color", "-input=false", *variables)


def test_bootstrap_bucket_is_versioned_encrypted_and_private(localstack, state_bucket):
    s3 = localstack.client("s3")
    assert s3.get_bucket_versioning(Bucket=state_bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=state_bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=state_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4


def lock_file_exists(s3, bucket: str) -> bool:
    return s3.list_objects_v2(Bucket=bucket, Prefix=LOCK_KEY).get("KeyCount", 0) > 0


def test_s3_backend_takes_and_releases_the_lock_file(localstack, state_bucket, tmp_path):
    s3 = localstack.client("s3")
    workdir = tmp_path / "config"
    workdir.mkdir()
    (workdir / "main.tf").write_text(SLOW_CONFIGURATION)
    # The committed backend.hcl (use_lockfile = true), then what differs on LocalStack: bucket, key, endpoint.
    (workdir / "localstack.backend.hcl").write_text(
        f'bucket = "{state_bucket}"\n'
        f'key    = "{STATE_KEY}"\n'
        f'endpoints = {{ s3 = "{localstack.endpoint_url}" }}\n'
        "use_path_style              = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id  = true\n"
        "skip_metadata_api_check     = true\n"
        "skip_region_validation      = true\n"
    )
    terraform(
        localstack,
        workdir,
        *init_args(),
        f"-backend-config={EXAMPLE / 'backend.hcl'}",
        "-backend-config=localstack.backend.hcl",
    )
    assert "use_lockfile = true" in (EXAMPLE / "backend.hcl").read_text().replace("  ", " ")

    apply = ["apply", "-auto-approve", "-no-color", "-input=false", "-lock-timeout=0s"]
    first = subprocess.Popen(
        ["terraform", *apply, "-var=run_id=first", f"-var=hold_seconds={HOLD_SECONDS}"],
        cwd=workdir,
        env=terraform_env(localstack),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + LOCK_APPEAR_TIMEOUT_SECONDS
        while not lock_file_exists(s3, state_bucket):
            assert first.poll() is None, f"first apply ended before its lock was seen:\n{first.stdout.read()}"
            assert time.monotonic() < deadline, f"no {LOCK_KEY} within {LOCK_APPEAR_TIMEOUT_SECONDS}s"
            time.sleep(POLL_SECONDS)

        second = terraform(localstack, workdir, *apply, "-var=run_id=second", check=False)
        assert second.returncode != 0, f"a concurrent apply was not refused:\n{second.stdout}"
        assert "Error acquiring the state lock" in second.stderr + second.stdout
        assert first.poll() is None, "the lock must still be held by the first apply"
        assert lock_file_exists(s3, state_bucket)
    finally:
        output, _ = first.communicate(timeout=TERRAFORM_TIMEOUT_SECONDS)
    assert first.returncode == 0, output[-4000:]

    assert not lock_file_exists(s3, state_bucket), "the lock file outlived the apply"
    state = s3.get_object(Bucket=state_bucket, Key=STATE_KEY)["Body"].read().decode()
    assert '"run_id"' in state and '"first"' in state
    # Released for real: the next apply takes the lock and succeeds.
    terraform(localstack, workdir, *apply, "-var=run_id=third")
    assert not lock_file_exists(s3, state_bucket)
    assert '"third"' in s3.get_object(Bucket=state_bucket, Key=STATE_KEY)["Body"].read().decode()
