"""wildrydes_dev.localaws: the export lines of `make aws-env`, the awslocal/tflocal routing, the client factory."""

from __future__ import annotations

import os
import subprocess

import pytest

from wildrydes_dev import localaws

LS_PORT, MOTO_PORT = 4700, 4701
LS_URL, MOTO_URL = f"http://127.0.0.1:{LS_PORT}", f"http://127.0.0.1:{MOTO_PORT}"


def exported(lines: list[str]) -> dict[str, str]:
    """Run the lines in a clean bash and read the environment back: what `eval "$(make -s aws-env)"` leaves."""
    script = "\n".join(lines) + "\nenv -0"
    env = {"PATH": "/usr/bin:/bin", "AWS_PROFILE": "real", "AWS_SESSION_TOKEN": "real-token"}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def test_export_lines_give_a_shell_every_endpoint_and_test_credentials():
    env = exported(localaws.export_lines(LS_PORT, MOTO_PORT))
    assert env["AWS_ENDPOINT_URL"] == LS_URL
    for service in ("ATHENA", "GLUE", "SAGEMAKER"):
        assert env[f"AWS_ENDPOINT_URL_{service}"] == MOTO_URL  # the aws CLI and boto3 route these to moto
        assert env[f"{service}_ENDPOINT"] == MOTO_URL  # tflocal's own per-service knob
    assert env["S3_ENDPOINT"] == LS_URL  # tflocal's default S3 host needs DNS
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == localaws.REGION
    assert (env["LOCALSTACK_PORT"], env["MOTO_PORT"]) == (str(LS_PORT), str(MOTO_PORT))
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env  # real credentials cannot mix in
    assert env["PATH"].split(":")[0] == str(localaws.SHIM_DIR)


def test_export_lines_do_not_stack_path_entries_when_evaluated_twice():
    lines = localaws.export_lines(LS_PORT, MOTO_PORT)
    env = exported(lines + lines)
    assert env["PATH"].split(":").count(str(localaws.SHIM_DIR)) == 1


def test_env_entry_point_prints_only_shell_lines(capsys, monkeypatch):
    monkeypatch.setenv("LOCALSTACK_PORT", str(LS_PORT))
    monkeypatch.setenv("MOTO_PORT", str(MOTO_PORT))
    assert localaws.main(["env"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == localaws.export_lines(LS_PORT, MOTO_PORT)


@pytest.mark.parametrize("service", ["athena", "glue", "sagemaker"])
def test_awslocal_sends_moto_services_to_moto(service):
    environ = localaws.subprocess_env(LS_PORT, MOTO_PORT)
    command, env = localaws.awslocal_command(["--output", "json", service, "list-x"], environ)
    assert command[0].endswith("/.venv/bin/awslocal") and command[1:] == [
        "--output",
        "json",
        service,
        "list-x",
    ]
    assert env["AWS_ENDPOINT_URL"] == MOTO_URL


def test_awslocal_finds_the_service_after_options_with_values():
    assert (
        localaws.first_command(["--region", "us-east-1", "--output=json", "glue", "get-databases"]) == "glue"
    )
    assert localaws.first_command(["--debug", "s3", "ls"]) == "s3"
    assert localaws.first_command(["--profile", "x"]) is None


def test_awslocal_keeps_localstack_for_its_services():
    environ = localaws.subprocess_env(LS_PORT, MOTO_PORT)
    _, env = localaws.awslocal_command(["s3", "ls"], environ)
    assert env["AWS_ENDPOINT_URL"] == LS_URL
    assert env["DISABLE_DEPRECATION_NOTICE"] == "1"


def test_tflocal_in_the_repository_root_works_on_the_local_apply_folder():
    environ = {"LOCALSTACK_PORT": str(LS_PORT), "MOTO_PORT": str(MOTO_PORT), "PATH": "/usr/bin"}
    command, env = localaws.tflocal_command(["plan"], localaws.ROOT, environ)
    assert command[1:] == [f"-chdir={localaws.TF_LOCAL_ROOT / str(LS_PORT)}", "plan"]
    assert env["AWS_ENDPOINT_URL"] == LS_URL and env["ATHENA_ENDPOINT"] == MOTO_URL
    assert env["S3_ENDPOINT"] == LS_URL and env["PATH"] == "/usr/bin"


def test_tflocal_elsewhere_runs_where_it_is_called(tmp_path):
    command, _ = localaws.tflocal_command(["plan"], tmp_path, {"LOCALSTACK_PORT": str(LS_PORT)})
    assert command[1:] == ["plan"]


def test_localstack_services_get_a_localstack_client_session(monkeypatch):
    from localstack_client import session as ls_session

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    made = []
    original = ls_session.Session.client

    def spy(self, service_name, **kwargs):
        made.append(service_name)
        return original(self, service_name, **kwargs)

    monkeypatch.setattr(ls_session.Session, "client", spy)
    s3 = localaws.boto3_client("s3", LS_PORT, MOTO_PORT)
    assert made == ["s3"]
    assert s3.meta.endpoint_url == LS_URL and s3.meta.region_name == localaws.REGION
    assert s3.meta.config.retries["total_max_attempts"] == localaws.CLIENT_MAX_ATTEMPTS + 1
    athena = localaws.boto3_client("athena", LS_PORT, MOTO_PORT)
    assert made == ["s3"] and athena.meta.endpoint_url == MOTO_URL  # moto: plain boto3


def test_caller_config_is_merged_not_replacing_ours(monkeypatch):
    from botocore.config import Config

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client = localaws.boto3_client("sqs", LS_PORT, MOTO_PORT, config=Config(connect_timeout=2))
    assert client.meta.config.connect_timeout == 2
    assert client.meta.config.retries["total_max_attempts"] == localaws.CLIENT_MAX_ATTEMPTS + 1


def test_an_exported_endpoint_of_another_instance_does_not_redirect_the_client(monkeypatch):
    # localstack-client would obey AWS_ENDPOINT_URL over the port asked for (a shell that evaluated aws-env
    # for 4566 while tests run their own instance): the port asked for wins, as with boto3's endpoint_url.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert localaws.boto3_client("s3", LS_PORT, MOTO_PORT).meta.endpoint_url == LS_URL
    assert localaws.boto3_client("lambda", LS_PORT, MOTO_PORT).meta.endpoint_url == LS_URL
    monkeypatch.setenv("AWS_ENDPOINT_URL", LS_URL)
    assert localaws.boto3_client("s3", LS_PORT, MOTO_PORT).meta.endpoint_url == LS_URL


def test_shims_are_executable_and_call_the_module():
    for name in ("awslocal", "tflocal"):
        shim = localaws.SHIM_DIR / name
        assert os.access(shim, os.X_OK), f"{shim} is not executable"
        assert f"-m wildrydes_dev.localaws {name}" in shim.read_text()


def test_a_service_localstack_client_does_not_list_still_gets_a_client(monkeypatch):
    from localstack_client import config

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert localaws.localstack_client_knows("s3")
    monkeypatch.setattr(config, "get_service_ports", lambda: {"s3": LS_PORT})
    assert not localaws.localstack_client_knows("sqs")
    assert localaws.boto3_client("sqs", LS_PORT, MOTO_PORT).meta.endpoint_url == LS_URL


class _Lambda:
    """GetFunctionConfiguration answers in order: the update is applied asynchronously."""

    def __init__(self, answers):
        self.answers, self.updates = list(answers), []

    def update_function_configuration(self, **kwargs):
        self.updates.append(kwargs)

    def get_function_configuration(self, FunctionName):  # noqa: N803 (boto3's name)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_a_configuration_update_waits_until_served_then_past_the_old_pollers_last_poll(monkeypatch):
    slept = []
    monkeypatch.setattr(localaws.time, "sleep", slept.append)
    new = {"Variables": {"RIDES_PER_MESSAGE": "3"}}
    lam = _Lambda(
        [
            {"Environment": {"Variables": {}}, "LastUpdateStatus": "Successful", "State": "Active"},  # stale
            {"Environment": new, "LastUpdateStatus": "InProgress", "State": "Active"},
            {"Environment": new, "LastUpdateStatus": "Successful", "State": "Active"},
        ]
    )
    localaws.update_function_configuration(lam, "ingest", Environment=new)
    assert lam.updates == [{"FunctionName": "ingest", "Environment": new}]
    assert slept == [localaws.CONFIG_UPDATE_POLL_S] * 2 + [localaws.ASYNC_POLLER_SETTLE_S]
    assert localaws.ASYNC_POLLER_SETTLE_S > localaws.ASYNC_POLLER_WAIT_S


def test_a_configuration_update_that_is_never_served_times_out(monkeypatch):
    clock = iter(range(0, 10_000, 30))
    monkeypatch.setattr(localaws.time, "sleep", lambda s: None)
    monkeypatch.setattr(localaws.time, "monotonic", lambda: next(clock))
    lam = _Lambda([{"Environment": {"Variables": {}}, "LastUpdateStatus": "Failed", "State": "Active"}])
    with pytest.raises(TimeoutError, match="not served"):
        localaws.update_function_configuration(lam, "ingest", Environment={"Variables": {"A": "1"}})
