"""The SQS message envelope every ETL stage reads and writes (docs/design.md "Messages between stages"):
``{"v": 1, "source": {"bucket", "key", "chunk", "version_id", "ingested_at", "generation"}, "rides": [...]}``.

``version_id`` (the S3 object version the rides were read from, null on an unversioned bucket),
``ingested_at`` (the S3 event's time, normalised by :func:`normalise_event_time`) and ``generation`` (the
grouping generation, ``etl.grouping.grouping_generation``) are the lineage the writer stores beside every
ride and names its objects by. An envelope without them (a message in flight across the deploy that added
them) still decodes: :func:`lineage_of` gives its defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

ENVELOPE_VERSION = 1
# SQS accepts at most 256 KiB per message and per SendMessageBatch request.
SQS_MAX_MESSAGE_BYTES = 262_144
# The processed CSV's source_version for a source without an object version (unversioned bucket).
NULL_VERSION = "null"
# ingested_at of a message from before lineage existed: sorts before every real time (older loses).
LEGACY_INGESTED_AT = ""
# Grouping generation of a message from before generations existed.
LEGACY_GENERATION = "00000000"
# 'YYYY-MM-DDTHH:MM:SS.ffffffZ': fixed width, UTC, so the text sorts in time order.
INGESTED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
INGESTED_AT_CHARS = len("2000-01-01T00:00:00.000000Z")

_COMPACT: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": True, "allow_nan": False}


class BadMessage(ValueError):
    """An SQS body that is not a valid envelope (poison: goes to the DLQ after retries)."""


def normalise_event_time(text: str) -> str:
    """An S3 event's ``eventTime`` (ISO 8601, e.g. ``2026-12-07T20:39:39.123Z``) as fixed-width UTC text
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (ValueError when it is not a time with a zone)."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"event time {text!r} has no time zone")
    return instant.astimezone(UTC).strftime(INGESTED_AT_FORMAT)


@dataclass(frozen=True)
class Source:
    """The raw file a message's rides came from, and when its upload was announced."""

    bucket: str
    key: str
    version_id: str | None = None  # the S3 object version the event named (None: unversioned bucket)
    ingested_at: str | None = None  # normalise_event_time(eventTime); None only before lineage existed

    def to_dict(self) -> dict[str, str]:
        out = {"bucket": self.bucket, "key": self.key}
        if self.version_id is not None:
            out["version_id"] = self.version_id
        if self.ingested_at is not None:
            out["ingested_at"] = self.ingested_at
        return out

    @property
    def source_version(self) -> str:
        """The processed CSV's ``source_version`` cell."""
        return NULL_VERSION if self.version_id is None else self.version_id


class EnvelopeSource(TypedDict, total=False):
    bucket: str
    key: str
    chunk: int
    version_id: str | None
    ingested_at: str
    generation: str


class Envelope(TypedDict):
    v: int
    source: EnvelopeSource
    rides: list[dict[str, Any]]


@dataclass(frozen=True)
class Lineage:
    """Where a message's rides came from (decoded from an envelope, defaults for a legacy one)."""

    source: Source
    chunk: int
    generation: str


def lineage_of(envelope: Envelope) -> Lineage:
    head = envelope["source"]
    source = Source(
        bucket=head.get("bucket", ""),
        key=head["key"],
        version_id=head.get("version_id"),
        ingested_at=head.get("ingested_at", LEGACY_INGESTED_AT),
    )
    return Lineage(source, int(head.get("chunk", 0)), head.get("generation", LEGACY_GENERATION))


def encode_ride(ride: dict[str, Any]) -> str:
    return json.dumps(ride, **_COMPACT)


def envelope_prefix(source: Source, chunk: int, generation: str | None = None) -> str:
    """The envelope up to the first ride (the rides and a closing ``]}`` follow)."""
    head: dict[str, Any] = {"bucket": source.bucket, "key": source.key, "chunk": chunk}
    if source.version_id is not None:
        head["version_id"] = source.version_id
    if source.ingested_at is not None:
        head["ingested_at"] = source.ingested_at
    if generation is not None:
        head["generation"] = generation
    return f'{{"v":{ENVELOPE_VERSION},"source":{json.dumps(head, **_COMPACT)},"rides":['


def encode_message(
    source: Source, chunk: int, rides: list[dict[str, Any]], generation: str | None = None
) -> str:
    return assemble_message(source, chunk, [encode_ride(r) for r in rides], generation)


def assemble_message(
    source: Source, chunk: int, encoded_rides: list[str], generation: str | None = None
) -> str:
    return envelope_prefix(source, chunk, generation) + ",".join(encoded_rides) + "]}"


def _optional_str(head: dict, name: str) -> bool:
    return name not in head or head[name] is None or isinstance(head[name], str)


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
    if not all(_optional_str(source, name) for name in ("version_id", "ingested_at", "generation")):
        raise BadMessage("envelope lineage (version_id, ingested_at, generation) must be strings")
    if not isinstance(source.get("chunk", 0), int):
        raise BadMessage("envelope source.chunk must be an integer")
    rides = envelope.get("rides")
    if not isinstance(rides, list) or not all(isinstance(r, dict) and "ride_id" in r for r in rides):
        raise BadMessage("envelope rides must be a list of rides with ride_id")
    return envelope  # type: ignore[return-value]  # shape checked above
