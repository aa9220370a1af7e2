"""Publishing in the bucket layout the inference function reads: immutable versions + the serving pointer."""

from __future__ import annotations

import json

from wildrydes_lambda.contracts import layout, model_pointer


def put_version(s3, bucket: str, version: str, artifact: bytes, metadata: dict | bytes) -> None:
    body = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
    s3.put_object(Bucket=bucket, Key=layout.model_artifact_key(version), Body=artifact)
    s3.put_object(Bucket=bucket, Key=layout.model_metadata_key(version), Body=body)


def point(s3, bucket: str, version: str) -> None:
    """Switch the serving pointer to ``version`` (one PUT, as `wildrydes models promote` does)."""
    pointer = model_pointer.encode({model_pointer.VERSION_FIELD: version, model_pointer.PREVIOUS_FIELD: []})
    s3.put_object(Bucket=bucket, Key=layout.MODEL_POINTER_KEY, Body=pointer)


def publish(s3, bucket: str, version: str, artifact: bytes, metadata: dict | bytes) -> None:
    put_version(s3, bucket, version, artifact, metadata)
    point(s3, bucket, version)
