"""tf_local.py helpers behind `tflocal plan` showing no changes after `make local-apply`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from wildrydes_dev import tf_local


def test_applied_variables_become_a_tfvars_file_terraform_reads_like_var_flags(tmp_path):
    if not shutil.which("terraform"):
        pytest.fail("terraform is not on PATH")
    (tmp_path / "main.tf").write_text(
        'variable "n" {\n  type = number\n}\nvariable "b" {\n  type = bool\n}\n'
        'variable "s" {\n  type = string\n}\nvariable "l" {\n  type = list(number)\n}\n'
        'output "all" {\n  value = { n = var.n, b = var.b, s = var.s, l = var.l }\n}\n'
    )
    variables = {"n": "0", "b": "true", "s": 'a "quoted" ${not_interpolated}', "l": "[2017, 2018]"}
    (tmp_path / tf_local.APPLIED_VARS_NAME).write_text(tf_local.tfvars_text(variables))
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "CHECKPOINT_DISABLE": "1", "HOME": str(tmp_path)}
    env["PATH"] = f"{shutil.which('terraform').rsplit('/', 1)[0]}:{env['PATH']}"
    # `make lint` runs `terraform fmt -check -recursive`, which also reads build/.
    subprocess.run(
        ["terraform", "fmt", "-check", tf_local.APPLIED_VARS_NAME], cwd=tmp_path, env=env, check=True
    )
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        subprocess.run(["terraform", *args], cwd=tmp_path, env=env, check=True, capture_output=True)
    out = subprocess.run(
        ["terraform", "output", "-json", "all"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out) == {"n": 0, "b": True, "s": 'a "quoted" ${not_interpolated}', "l": [2017, 2018]}


def state_with_alarms(tags_by_key: dict[str, dict]) -> dict:
    return {
        "version": 4,
        "resources": [
            {
                "module": "module.etl_functions",
                "mode": "managed",
                "type": "aws_cloudwatch_metric_alarm",
                "name": "dlq_not_empty",
                "instances": [
                    {"index_key": key, "attributes": {"tags_all": tags}} for key, tags in tags_by_key.items()
                ],
            },
            {
                "mode": "managed",
                "type": "aws_sqs_queue",
                "name": "q",
                "instances": [{"attributes": {"tags_all": {}}}],
            },
        ],
    }


def test_only_alarms_whose_tags_read_back_empty_are_converged(tmp_path):
    state = tmp_path / "terraform.tfstate"
    state.write_text(json.dumps(state_with_alarms({"ingest-dlq": {}, "groundstation-dlq": {"Project": "x"}})))
    assert tf_local.untagged_addresses(state) == [
        'module.etl_functions.aws_cloudwatch_metric_alarm.dlq_not_empty["ingest-dlq"]'
    ]


def test_no_state_means_nothing_to_converge(tmp_path):
    assert tf_local.untagged_addresses(tmp_path / "terraform.tfstate") == []
