"""The one boto3 client factory: clients are created lazily and reused across invocations (connection
reuse on warm starts). The endpoint comes from the standard AWS_ENDPOINT_URL* variables, so the same code
runs on LocalStack; an explicit endpoint (the CLI's ``--endpoint-url``) gets S3 path-style addressing.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service, config=BOTO_CONFIG)
    return _clients[service]


def reset_clients() -> None:
    """Forget cached clients (tests switch between mocked accounts/endpoints)."""
    _clients.clear()


def make_client(service: str, endpoint_url: str | None = None) -> Any:
    """A new client (not cached). With an endpoint (argument, AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL),
    S3 uses path-style addressing: bucket-name subdomains of 127.0.0.1 do not resolve."""
    endpoint_url = (
        endpoint_url
        or os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    if endpoint_url and service == "s3":
        return boto3.client(
            service, endpoint_url=endpoint_url, config=Config(s3={"addressing_style": "path"})
        )
    return boto3.client(service, endpoint_url=endpoint_url) if endpoint_url else boto3.client(service)
