"""Endpoint settings for the local emulators: every tool and test imports these instead of hard-coding URLs.

LocalStack (community, host mode) serves S3, SQS, Lambda, API Gateway, IAM, STS, CloudWatch and Logs; a moto
server beside it serves Athena, Glue and SageMaker (LocalStack community lacks them). Ports come from
``LOCALSTACK_PORT`` / ``MOTO_PORT`` so that several instances can run side by side.
"""

from __future__ import annotations

import os
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


def boto3_client(service: str, localstack: int | None = None, moto: int | None = None, **kwargs: Any):
    """A boto3 client for ``service`` on the right emulator, with test credentials and a short retry budget."""
    import boto3
    from botocore.config import Config

    settings = {
        "endpoint_url": endpoint_for(service, localstack, moto),
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
        "config": Config(retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"}),
    }
    settings.update(kwargs)
    return boto3.client(service, **settings)
