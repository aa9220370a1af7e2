"""The SQS message envelope every ETL stage reads and writes (docs/design.md "Messages between stages"):
``{"v": 2, "source": {"bucket", "key", "chunk", "part", "version_id", "ingested_at", "generation"},
"rides_zlib": "<base64 of the zlib-compressed JSON array of rides>"}``.

The rides travel compressed: SQS bills and limits by bytes (256 KiB per message and per SendMessageBatch
call), and ride JSON compresses ~3x even as base64, so a file needs ~3x fewer messages, sends, receives and
invocations. The source header stays plain JSON, so a message in a dead-letter queue still says where it
came from. :func:`decode_message` gives every caller ``envelope["rides"]`` as a list, whatever the version;
a v1 envelope (plain ``"rides": [...]``, sent before compression existed) still decodes.

``version_id`` (the S3 object version the rides were read from, null on an unversioned bucket),
``ingested_at`` (the S3 event's time, normalised by :func:`normalise_event_time`) and ``generation`` (the
grouping generation, ``etl.grouping.grouping_generation``) are the lineage the writer stores beside every
ride and names its objects by. An envelope without them (a message in flight across the deploy that added
them) still decodes: :func:`lineage_of` gives its defaults.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

ENVELOPE_VERSION = 2
# Envelopes before compression: ``"rides"`` is the plain list. Still decoded (messages in flight at deploy).
PLAIN_ENVELOPE_VERSION = 1
COMPRESSED_RIDES_FIELD = "rides_zlib"
# zlib's default trade-off: ~7 ms per 2,000 rides on this project's machines, within 7 % of level 9's size
# at a third of its time (measured on workshop-shaped rides).
ZLIB_LEVEL = 6
# A compressed message never inflates past this (a hostile or corrupt body is a BadMessage, not an
# out-of-memory): 10,000 rides of at most ~1.6 KB each (a 256-character name escaped 6 bytes per character).
MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024
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
    part: int
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
    # Set when enrich had to split one message's output in parts (its enriched form outgrew SQS's limit):
    # the writer names each part's objects apart. None for a message that was never split.
    part: int | None = None


def lineage_of(envelope: Envelope) -> Lineage:
    head = envelope["source"]
    source = Source(
        bucket=head.get("bucket", ""),
        key=head["key"],
        version_id=head.get("version_id"),
        ingested_at=head.get("ingested_at", LEGACY_INGESTED_AT),
    )
    part = head.get("part")
    return Lineage(source, int(head.get("chunk", 0)), head.get("generation", LEGACY_GENERATION), part)


def encode_ride(ride: dict[str, Any]) -> str:
    return json.dumps(ride, **_COMPACT)


def envelope_prefix(
    source: Source, chunk: int, generation: str | None = None, part: int | None = None
) -> str:
    """The envelope up to its compressed rides (their base64 text and a closing ``"}`` follow)."""
    head: dict[str, Any] = {"bucket": source.bucket, "key": source.key, "chunk": chunk}
    if part is not None:
        head["part"] = part
    if source.version_id is not None:
        head["version_id"] = source.version_id
    if source.ingested_at is not None:
        head["ingested_at"] = source.ingested_at
    if generation is not None:
        head["generation"] = generation
    head_json = json.dumps(head, **_COMPACT)
    return f'{{"v":{ENVELOPE_VERSION},"source":{head_json},"{COMPRESSED_RIDES_FIELD}":"'


ENVELOPE_SUFFIX = '"}'


def compress_rides(encoded_rides: list[str]) -> str:
    """The base64 text of the zlib-compressed JSON array of already-encoded rides (deterministic: the
    same rides give the same text)."""
    array = ("[" + ",".join(encoded_rides) + "]").encode("ascii")  # encode_ride's JSON is pure ASCII
    return base64.b64encode(zlib.compress(array, ZLIB_LEVEL)).decode("ascii")


def encode_message(
    source: Source,
    chunk: int,
    rides: list[dict[str, Any]],
    generation: str | None = None,
    part: int | None = None,
) -> str:
    return assemble_message(source, chunk, [encode_ride(r) for r in rides], generation, part)


def assemble_message(
    source: Source,
    chunk: int,
    encoded_rides: list[str],
    generation: str | None = None,
    part: int | None = None,
) -> str:
    return envelope_prefix(source, chunk, generation, part) + compress_rides(encoded_rides) + ENVELOPE_SUFFIX


def _inflate(text: Any) -> list[Any]:
    """The ride list of a compressed envelope; BadMessage for anything that is not one (bounded)."""
    if not isinstance(text, str):
        raise BadMessage(f"{COMPRESSED_RIDES_FIELD} must be a string")
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        array = inflater.decompress(packed, MAX_DECOMPRESSED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise BadMessage(
                f"{COMPRESSED_RIDES_FIELD} is truncated or inflates past {MAX_DECOMPRESSED_BYTES} bytes"
            )
        rides = json.loads(array)
    except (UnicodeEncodeError, binascii.Error, zlib.error, ValueError) as exc:
        if isinstance(exc, BadMessage):
            raise
        raise BadMessage(f"{COMPRESSED_RIDES_FIELD} is not base64 zlib JSON: {exc}") from None
    return rides


def _optional_str(head: dict, name: str) -> bool:
    return name not in head or head[name] is None or isinstance(head[name], str)


def decode_message(body: str) -> Envelope:
    """Parsed and shape-checked envelope; raises BadMessage."""
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"body is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or envelope.get("v") not in (ENVELOPE_VERSION, PLAIN_ENVELOPE_VERSION):
        raise BadMessage(f"not a v{ENVELOPE_VERSION} (or v{PLAIN_ENVELOPE_VERSION}) envelope")
    if envelope["v"] == ENVELOPE_VERSION:
        envelope["rides"] = _inflate(envelope.pop(COMPRESSED_RIDES_FIELD, None))
    source = envelope.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("key"), str):
        raise BadMessage("envelope has no source.key")
    if not all(_optional_str(source, name) for name in ("version_id", "ingested_at", "generation")):
        raise BadMessage("envelope lineage (version_id, ingested_at, generation) must be strings")
    if not isinstance(source.get("chunk", 0), int):
        raise BadMessage("envelope source.chunk must be an integer")
    if not isinstance(source.get("part", 0), int) or isinstance(source.get("part"), bool):
        raise BadMessage("envelope source.part must be an integer")
    rides = envelope.get("rides")
    if not isinstance(rides, list) or not all(isinstance(r, dict) and "ride_id" in r for r in rides):
        raise BadMessage("envelope rides must be a list of rides with ride_id")
    return envelope  # type: ignore[return-value]  # shape checked above
