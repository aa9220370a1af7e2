"""Endpoint settings for the local emulators: every tool and test imports these instead of hard-coding URLs.

LocalStack (community, host mode) serves S3, SQS, Lambda, API Gateway, IAM, STS, CloudWatch and Logs; a moto
server beside it serves Athena, Glue and SageMaker (LocalStack community lacks them). Ports come from
``LOCALSTACK_PORT`` / ``MOTO_PORT`` so that several instances can run side by side.

boto3 clients for LocalStack's services come from ``localstack-client`` (its ``Session`` takes the instance as
``localstack_host``); the three moto services get a plain boto3 client on the moto server. The shell side:

    eval "$(python -m wildrydes_dev.localaws env)"   # = make -s aws-env: endpoints, credentials, PATH
    python -m wildrydes_dev.localaws awslocal ...     # what localstack/bin/awslocal runs
    python -m wildrydes_dev.localaws tflocal ...      # what localstack/bin/tflocal runs
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
DEFAULT_LOCALSTACK_PORT = 4566
DEFAULT_MOTO_PORT = 4567
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"
# Services LocalStack community does not have; they go to the moto server.
MOTO_SERVICES = frozenset({"athena", "glue", "sagemaker"})
# Everything the root Terraform module touches in LocalStack.
LOCALSTACK_SERVICES = ("s3", "sqs", "lambda", "iam", "sts", "apigateway", "cloudwatch", "logs")
ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
TFLOCAL_VENV_BIN = ROOT / "build" / "tflocal-venv" / "bin"
# The awslocal/tflocal shims that route Athena/Glue/SageMaker to moto; `aws-env` puts them first on PATH.
SHIM_DIR = ROOT / "localstack" / "bin"
# Where tf_local.py applies the root module for a LocalStack port (its state and variables live there).
TF_LOCAL_ROOT = ROOT / "build" / "tf-local"
# Short retry budget for clients on the emulators: an unsupported call fails in seconds, not minutes.
CLIENT_MAX_ATTEMPTS = 2
PORT_PROBE_SECONDS = 0.5
# upstream prints a 15-line "deprecated, use lstk" banner on every call (lstk is LocalStack's new CLI for
# its Docker/auth-token product; the pinned awscli-local/terraform-local work here as they are).
QUIET_DEPRECATION = {"DISABLE_DEPRECATION_NOTICE": "1"}
# Global options of the aws CLI that take a value (the value is not the service name).
AWS_CLI_VALUE_OPTIONS = frozenset(
    {
        "--output",
        "--query",
        "--profile",
        "--region",
        "--endpoint-url",
        "--color",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
    }
)


def localstack_port() -> int:
    return int(os.environ.get("LOCALSTACK_PORT") or DEFAULT_LOCALSTACK_PORT)


def moto_port() -> int:
    return int(os.environ.get("MOTO_PORT") or DEFAULT_MOTO_PORT)


def endpoint_url(port: int | None = None) -> str:
    """LocalStack's gateway URL."""
    return f"http://{HOST}:{port or localstack_port()}"


def moto_endpoint_url(port: int | None = None) -> str:
    return f"http://{HOST}:{port or moto_port()}"


def endpoint_for(service: str, localstack: int | None = None, moto: int | None = None) -> str:
    """The emulator URL that serves ``service`` (boto3 service name)."""
    return moto_endpoint_url(moto) if service in MOTO_SERVICES else endpoint_url(localstack)


def api_gateway_url(api_id: str, stage: str, path: str = "", port: int | None = None) -> str:
    """A REST API stage URL that needs no DNS (the trailing slash matters to LocalStack)."""
    return f"{endpoint_url(port)}/_aws/execute-api/{api_id}/{stage}/{path.lstrip('/')}"


def credentials_env() -> dict[str, str]:
    """Environment for subprocesses (CLI, Terraform) that must only ever talk to the emulators."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def subprocess_env(localstack: int | None = None, moto: int | None = None) -> dict[str, str]:
    """Credentials plus per-service endpoint variables (honoured by boto3 >= 1.28 and the AWS provider 5.x)."""
    env = credentials_env()
    env["AWS_ENDPOINT_URL"] = endpoint_url(localstack)
    env["LOCALSTACK_PORT"] = str(localstack or localstack_port())
    env["MOTO_PORT"] = str(moto or moto_port())
    for service in MOTO_SERVICES:
        env[f"AWS_ENDPOINT_URL_{service.upper()}"] = moto_endpoint_url(moto)
    return env


def tflocal_env(localstack: int | None = None, moto: int | None = None) -> dict[str, str]:
    """terraform-local's own knobs: it takes host and port from AWS_ENDPOINT_URL and a per-service override from
    ``<SERVICE>_ENDPOINT``. S3 needs one too: its default host s3.localhost.localstack.cloud needs DNS."""
    env = {f"{service.upper()}_ENDPOINT": moto_endpoint_url(moto) for service in sorted(MOTO_SERVICES)}
    env["S3_ENDPOINT"] = endpoint_url(localstack)
    return env


def shell_env(localstack: int | None = None, moto: int | None = None) -> dict[str, str]:
    """Everything ``make aws-env`` exports (before PATH)."""
    return {**subprocess_env(localstack, moto), **tflocal_env(localstack, moto), **QUIET_DEPRECATION}


def export_lines(localstack: int | None = None, moto: int | None = None) -> list[str]:
    """``export`` lines for a POSIX shell: endpoints, test credentials, ports, and the shim dir first on PATH.

    AWS_PROFILE and AWS_SESSION_TOKEN are unset so that a real profile or session token cannot mix with the
    test credentials."""
    lines = ["unset AWS_PROFILE AWS_SESSION_TOKEN"]
    lines += [
        f"export {key}={shlex.quote(value)}" for key, value in sorted(shell_env(localstack, moto).items())
    ]
    shims = shlex.quote(str(SHIM_DIR))
    lines.append(f'case ":$PATH:" in *:{shims}:*) ;; *) export PATH={shims}:"$PATH" ;; esac')
    return lines


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(PORT_PROBE_SECONDS)
        return sock.connect_ex((HOST, port)) == 0


def exported_endpoint_differs(port: int | None = None) -> bool:
    """Is another LocalStack URL exported in AWS_ENDPOINT_URL than the one at ``port``?"""
    exported = os.environ.get("AWS_ENDPOINT_URL", "").strip().rstrip("/")
    return bool(exported) and exported != endpoint_url(port)


def localstack_client_knows(service: str) -> bool:
    """Does localstack-client have ``service`` in its service list (its Session refuses any other)?"""
    from localstack_client import config

    return service in config.get_service_ports()


def localstack_session(port: int | None = None, **credentials: str):
    """A localstack-client session on the LocalStack instance at ``port`` (test credentials, project region).

    Note: localstack-client gives an exported ``AWS_ENDPOINT_URL`` precedence over the ``localstack_host`` it is
    handed (config.get_service_endpoints); boto3_client therefore bypasses it when the two differ."""
    from localstack_client.session import Session

    return Session(
        aws_access_key_id=credentials.get("aws_access_key_id", ACCESS_KEY_ID),
        aws_secret_access_key=credentials.get("aws_secret_access_key", SECRET_ACCESS_KEY),
        region_name=credentials.get("region_name", REGION),
        localstack_host=f"{HOST}:{port or localstack_port()}",
    )


def boto3_client(service: str, localstack: int | None = None, moto: int | None = None, **kwargs: Any):
    """A boto3 client for ``service`` on the right emulator, with test credentials and a short retry budget.

    LocalStack's services come from a localstack-client session; Athena, Glue and SageMaker from plain boto3 on
    the moto server (localstack-client only knows one host per session). Plain boto3 also serves LocalStack when
    the caller names an endpoint_url, for a service localstack-client does not list, or when the shell exported
    another instance's AWS_ENDPOINT_URL, which localstack-client would obey over the port asked for.
    ``config`` is merged over ours."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": CLIENT_MAX_ATTEMPTS, "mode": "standard"}, s3={"addressing_style": "path"}
    )
    if kwargs.get("config") is not None:
        config = config.merge(kwargs.pop("config"))
    kwargs["config"] = config
    credentials = {
        key: kwargs.pop(key)
        for key in ("aws_access_key_id", "aws_secret_access_key", "region_name")
        if key in kwargs
    }
    if (
        service in MOTO_SERVICES
        or "endpoint_url" in kwargs
        or exported_endpoint_differs(localstack)
        or not localstack_client_knows(service)
    ):
        settings = {
            "endpoint_url": endpoint_for(service, localstack, moto),
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
            **credentials,
            **kwargs,
        }
        return boto3.client(service, **settings)
    return localstack_session(localstack, **credentials).client(service, **kwargs)


# ----------------------------------------------------------------------------- shell tools
def first_command(args: list[str]) -> str | None:
    """The AWS CLI service name: the first argument that is neither an option nor the value of a global option."""
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg.startswith("-"):
            skip_next = "=" not in arg and arg in AWS_CLI_VALUE_OPTIONS
        else:
            return arg
    return None


def awslocal_command(
    args: list[str], environ: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The pinned awslocal with an environment that sends this command to the emulator serving its service.

    awslocal always passes ``--endpoint-url`` (AWS_ENDPOINT_URL, else LOCALSTACK_HOST) for every service, so the
    per-service AWS_ENDPOINT_URL_<SERVICE> variables the aws CLI honours are lost; this sets AWS_ENDPOINT_URL to
    the moto server for Athena, Glue and SageMaker."""
    environ = dict(os.environ if environ is None else environ)
    service = first_command(args)
    env = {**QUIET_DEPRECATION, **environ}
    env.setdefault("AWS_ENDPOINT_URL", endpoint_url())
    for key, value in credentials_env().items():
        env.setdefault(key, value)
    if service in MOTO_SERVICES:
        env["AWS_ENDPOINT_URL"] = environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or moto_endpoint_url()
    return [str(VENV_BIN / "awslocal"), *args], env


def tflocal_command(
    args: list[str], cwd: Path, environ: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The pinned tflocal with moto for Athena/Glue/SageMaker; run in the repository root it works on
    ``build/tf-local/<port>/`` (where ``make local-apply`` keeps the state and variables), never on the root's own
    (real-AWS) state."""
    environ = dict(os.environ if environ is None else environ)
    port = int(environ.get("LOCALSTACK_PORT") or DEFAULT_LOCALSTACK_PORT)
    mport = int(environ.get("MOTO_PORT") or DEFAULT_MOTO_PORT)
    env = {**QUIET_DEPRECATION, **environ}
    for key, value in {**subprocess_env(port, mport), **tflocal_env(port, mport)}.items():
        env.setdefault(key, value)  # what the shell exported (make -s aws-env) wins
    command = [str(TFLOCAL_VENV_BIN / "tflocal")]
    if cwd.resolve() == ROOT and not any(arg.startswith("-chdir=") for arg in args):
        work_dir = TF_LOCAL_ROOT / str(port)
        command.append(f"-chdir={work_dir}")
    return [*command, *args], env


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    usage = "usage: python -m wildrydes_dev.localaws env | awslocal ARGS... | tflocal ARGS..."
    if not argv or argv[0] not in ("env", "awslocal", "tflocal"):
        print(usage, file=sys.stderr)
        return 2
    action, rest = argv[0], argv[1:]
    if action == "env":
        print("\n".join(export_lines()))
        if not listening(localstack_port()):
            print(f"# note: nothing listens on {endpoint_url()} yet: make localstack-up", file=sys.stderr)
        return 0
    if action == "awslocal":
        command, env = awslocal_command(rest)
        missing = "run `make venv` (awscli-local is pinned in requirements-dev.txt)"
    else:
        command, env = tflocal_command(rest, Path.cwd())
        missing = "run `make tflocal-venv` (terraform-local is pinned in requirements-tflocal.txt)"
    if not Path(command[0]).exists():
        print(f"error: {command[0]} not found: {missing}", file=sys.stderr)
        return 1
    os.execve(command[0], command, env)
    return 0  # not reached


# LocalStack 4.14 serves a function's asynchronous invokes (S3 notifications) from a poller per function version
# that long-polls an internal queue for 2 s at a time. A configuration update replaces that poller; an event the
# old poller receives during its last long poll is dropped and comes back only after its visibility timeout
# (the function's timeout + 60 s: 6 minutes for ingest). Waiting this long after the update is served lets the
# old poller's last poll end first.
ASYNC_POLLER_WAIT_S = 2
ASYNC_POLLER_SETTLE_S = ASYNC_POLLER_WAIT_S + 1
CONFIG_UPDATE_TIMEOUT_S = 60
CONFIG_UPDATE_POLL_S = 0.5


def update_function_configuration(lam: Any, name: str, **config: Any) -> dict:
    """UpdateFunctionConfiguration, then wait until LocalStack serves it (Successful and Active with the new
    environment, when one is given) and the replaced version's event poller has stopped; returns the config."""
    lam.update_function_configuration(FunctionName=name, **config)
    wanted = config.get("Environment", {}).get("Variables")
    deadline = time.monotonic() + CONFIG_UPDATE_TIMEOUT_S
    while True:
        current = lam.get_function_configuration(FunctionName=name)
        served = wanted is None or current.get("Environment", {}).get("Variables") == wanted
        if served and current.get("LastUpdateStatus") == "Successful" and current.get("State") == "Active":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: configuration update not served after {CONFIG_UPDATE_TIMEOUT_S} s")
        time.sleep(CONFIG_UPDATE_POLL_S)
    time.sleep(ASYNC_POLLER_SETTLE_S)
    return current


if __name__ == "__main__":
    sys.exit(main())
