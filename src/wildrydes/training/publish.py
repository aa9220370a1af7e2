"""Where a trained model goes: a directory or S3 prefix, and the stable key the inference function serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wildrydes.errors import CommandError
from wildrydes.training.local import metadata_bytes
from wildrydes_lambda import aws
from wildrydes_lambda.contracts import layout

LATEST_PREFIX = layout.MODEL_LATEST_PREFIX
ARTIFACT_NAME = layout.MODEL_ARTIFACT_NAME
METADATA_NAME = layout.METADATA_FILE_NAME


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of an s3:// URI; CommandError otherwise (the one parser: wildrydes_lambda.aws)."""
    try:
        return tuple(aws.parse_s3_uri(uri))  # type: ignore[return-value]
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def s3_client() -> Any:
    """S3 client for the CLI: path-style addressing when an emulator endpoint is configured."""
    return aws.make_client("s3")


def write_outputs(out: str, artifact: bytes, metadata: dict[str, Any]) -> list[str]:
    """Write model.tar.gz and metadata.json to a directory or S3 prefix; return their locations."""
    files = {ARTIFACT_NAME: artifact, METADATA_NAME: metadata_bytes(metadata)}
    if out.startswith("s3://"):
        bucket, prefix = parse_s3_uri(out)
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        s3 = s3_client()
        for name, data in files.items():
            s3.put_object(Bucket=bucket, Key=prefix + name, Body=data)
        return [f"s3://{bucket}/{prefix}{name}" for name in files]
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return [str(directory / name) for name in files]


def publish(bucket_uri: str, artifact: bytes, metadata: dict[str, Any]) -> list[str]:
    """Copy the chosen model to the stable key the inference stage reads (the bucket versions history)."""
    bucket, extra = parse_s3_uri(bucket_uri if bucket_uri.startswith("s3://") else "s3://" + bucket_uri)
    if extra.strip("/"):
        raise CommandError(f"--publish takes s3://BUCKET only, got {bucket_uri!r}")
    return write_outputs(f"s3://{bucket}/{LATEST_PREFIX}", artifact, metadata)
