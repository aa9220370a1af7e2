"""The SQS message envelope every ETL stage reads and writes (docs/design.md "Messages between stages"):
``{"v": 1, "source": {"bucket": ..., "key": ..., "chunk": n}, "rides": [ride, ...]}``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypedDict

ENVELOPE_VERSION = 1
# SQS accepts at most 256 KiB per message and per SendMessageBatch request.
SQS_MAX_MESSAGE_BYTES = 262_144

_COMPACT: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": True, "allow_nan": False}


class BadMessage(ValueError):
    """An SQS body that is not a valid envelope (poison: goes to the DLQ after retries)."""


@dataclass(frozen=True)
class Source:
    """The raw file a message's rides came from."""

    bucket: str
    key: str
    version_id: str | None = None  # the S3 object version the event named (None: unversioned bucket)

    def to_dict(self) -> dict[str, str]:
        out = {"bucket": self.bucket, "key": self.key}
        if self.version_id is not None:
            out["version_id"] = self.version_id
        return out


class EnvelopeSource(TypedDict, total=False):
    bucket: str
    key: str
    chunk: int


class Envelope(TypedDict):
    v: int
    source: EnvelopeSource
    rides: list[dict[str, Any]]


def encode_ride(ride: dict[str, Any]) -> str:
    return json.dumps(ride, **_COMPACT)


def envelope_prefix(source: Source, chunk: int) -> str:
    """The envelope up to the first ride (the rides and a closing ``]}`` follow)."""
    head = json.dumps({"bucket": source.bucket, "key": source.key, "chunk": chunk}, **_COMPACT)
    return f'{{"v":{ENVELOPE_VERSION},"source":{head},"rides":['


def encode_message(source: Source, chunk: int, rides: list[dict[str, Any]]) -> str:
    return assemble_message(source, chunk, [encode_ride(r) for r in rides])


def assemble_message(source: Source, chunk: int, encoded_rides: list[str]) -> str:
    return envelope_prefix(source, chunk) + ",".join(encoded_rides) + "]}"


def decode_message(body: str) -> Envelope:
    """Parsed and shape-checked envelope; raises BadMessage."""
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"body is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or envelope.get("v") != ENVELOPE_VERSION:
        raise BadMessage(f"not a v{ENVELOPE_VERSION} envelope")
    source = envelope.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("key"), str):
        raise BadMessage("envelope has no source.key")
    rides = envelope.get("rides")
    if not isinstance(rides, list) or not all(isinstance(r, dict) and "ride_id" in r for r in rides):
        raise BadMessage("envelope rides must be a list of rides with ride_id")
    return envelope  # type: ignore[return-value]  # shape checked above
