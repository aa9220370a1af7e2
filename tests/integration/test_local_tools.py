"""The tools LocalStack users type, against the session's emulators, exactly as a shell gets them:
`eval "$(make -s aws-env)"` (here its engine, `python -m wildrydes_dev.localaws env`), then awslocal / tflocal.

awslocal reaches LocalStack for S3 and the moto server for Athena (LocalStack community answers Athena with
InternalFailure); tflocal, run in the repository root after the root module was applied, plans no changes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wildrydes_dev import localaws

pytestmark = pytest.mark.localstack
TOOL_TIMEOUT_SECONDS = 120
TCP_LISTEN_STATE = "0A"
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
TFLOCAL_TIMEOUT_SECONDS = 600


def listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp{,6}) of the sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if fields[3] == TCP_LISTEN_STATE and int(port_hex, 16) == port:
                    found.append(address)
    return found


def test_emulators_listen_on_loopback_only(localstack):
    # LocalStack 4.14.0 gets no security fixes: it must not be reachable from other machines.
    for port in (localstack.port, localstack.moto_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert set(addresses) == {LOOPBACK_HEX}, f"port {port} listens on {addresses} (0.0.0.0 = 00000000)"


def in_shell(localstack, command: str, timeout: int = TOOL_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    """Run ``command`` in bash after evaluating the aws-env lines for the session's instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(LOCALSTACK_PORT=str(localstack.port), MOTO_PORT=str(localstack.moto_port))
    script = f'set -e\neval "$({sys.executable} -m wildrydes_dev.localaws env)"\n{command}'
    return subprocess.run(
        ["bash", "-c", script],
        cwd=localaws.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_awslocal_lists_the_data_bucket(localstack, tf_local):
    bucket = tf_local.apply()["data_bucket_name"]["value"]
    result = in_shell(localstack, "command -v awslocal\nawslocal s3 ls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == str(
        localaws.SHIM_DIR / "awslocal"
    )  # the routing shim, first on PATH
    assert bucket in result.stdout


def test_awslocal_reaches_moto_for_athena(localstack, tf_local):
    workgroup = tf_local.apply()["athena_workgroup_name"]["value"]
    result = in_shell(
        localstack, "awslocal athena list-work-groups --query 'WorkGroups[].Name' --output text"
    )
    assert result.returncode == 0, result.stderr
    assert workgroup in result.stdout.split()


def test_plain_aws_cli_follows_the_exported_per_service_endpoints(localstack, tf_local):
    database = tf_local.apply()["glue_database_name"]["value"]
    result = in_shell(
        localstack,
        f"{localaws.VENV_BIN / 'aws'} glue get-databases --query 'DatabaseList[].Name' --output text",
    )
    assert result.returncode == 0, result.stderr
    assert database in result.stdout.split()


def test_tflocal_plans_no_changes_after_the_apply(localstack, tf_local):
    tf_local.apply()
    tflocal = localaws.TFLOCAL_VENV_BIN / "tflocal"
    assert tflocal.exists(), f"{tflocal} missing: run `make tflocal-venv`"
    result = in_shell(
        localstack, "tflocal plan -detailed-exitcode -no-color -input=false", TFLOCAL_TIMEOUT_SECONDS
    )
    # -detailed-exitcode: 0 = no changes, 2 = changes, 1 = error.
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    assert "No changes." in result.stdout
    # The refresh read the Athena workgroup and Glue database: on LocalStack (not moto) that is an error, exit 1.
    # tflocal removes its endpoint override file when it is done.
    assert not (localaws.TF_LOCAL_ROOT / str(localstack.port) / "localstack_providers_override.tf").exists()
