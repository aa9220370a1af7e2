"""S3 helpers: the one S3-URI parser, streaming reads and puts through the shared client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO, NamedTuple

from wildrydes_lambda.aws.clients import client

S3_SCHEME = "s3://"


class S3Location(NamedTuple):
    bucket: str
    key: str  # may be "" (a whole bucket) or a prefix


def is_s3_uri(uri: str) -> bool:
    return uri.startswith(S3_SCHEME)


def parse_s3_uri(uri: str) -> S3Location:
    """``s3://bucket/key`` -> (bucket, key without leading slash); ValueError for anything else."""
    if not is_s3_uri(uri):
        raise ValueError(f"bad S3 URI {uri!r} (expected s3://BUCKET/KEY)")
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise ValueError(f"bad S3 URI {uri!r}: no bucket")
    return S3Location(bucket, key.lstrip("/"))


def open_object(
    bucket: str, key: str, if_match: str | None = None, version_id: str | None = None
) -> tuple[BinaryIO, str]:
    """(streaming body, ETag). ``if_match`` pins a second read to the same bytes; ``version_id`` reads
    that version of the key (needs s3:GetObjectVersion) instead of the latest."""
    extra = {"IfMatch": if_match} if if_match else {}
    if version_id:
        extra["VersionId"] = version_id
    response = client("s3").get_object(Bucket=bucket, Key=key, **extra)
    return response["Body"], response["ETag"]


def current_version(bucket: str, key: str) -> str | None:
    """VersionId of the key's current version; None when the key has none (deleted or never versioned)."""
    try:
        response = client("s3").head_object(Bucket=bucket, Key=key)
    except client("s3").exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    version = response.get("VersionId")
    return None if version in (None, "null") else version


def last_modified(bucket: str, key: str, version_id: str | None = None) -> datetime:
    """LastModified of the key (of ``version_id`` when given)."""
    extra = {"VersionId": version_id} if version_id else {}
    return client("s3").head_object(Bucket=bucket, Key=key, **extra)["LastModified"]


def get_json(bucket: str, key: str) -> dict | None:
    """A small JSON object, or None when the key does not exist (needs s3:ListBucket for a 404, not 403)."""
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except client("s3").exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    value = json.loads(body)
    return value if isinstance(value, dict) else None


def list_keys(bucket: str, prefix: str) -> Iterator[str]:
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield obj["Key"]


# DeleteObjects takes at most this many keys per request.
S3_DELETE_BATCH = 1000


def delete_keys(bucket: str, keys: list[str]) -> None:
    """Delete ``keys`` (DeleteObjects, needs s3:DeleteObject); raises when S3 reports any key failed."""
    for start in range(0, len(keys), S3_DELETE_BATCH):
        batch = keys[start : start + S3_DELETE_BATCH]
        response = client("s3").delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        errors = response.get("Errors", [])
        if errors:
            raise RuntimeError(f"S3 did not delete {len(errors)} object(s): {errors[0]}")


def put_object(bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def s3_putter(bucket: str, content_type: str) -> Callable[[str, bytes], None]:
    return lambda key, body: put_object(bucket, key, body, content_type)
