"""SQS message envelopes and the per-date grouping of rides into messages.

Envelope (docs/design.md "Messages between stages"):
``{"v": 1, "source": {"bucket": ..., "key": ..., "chunk": n}, "rides": [ride, ...]}``.

Grouping keeps memory bounded while streaming a file: rides wait in one buffer per ``ride_date`` (kept
as already-encoded JSON strings, ~4x smaller than dicts); a buffer becomes a message when it holds
``rides_per_message`` rides or the next ride would push it past the byte budget, and when all buffers
together exceed ``max_buffered_bytes`` the biggest one is flushed early. Every decision depends only on
the order of rides in the file, so the messages (and their chunk numbers) are deterministic.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

ENVELOPE_VERSION = 1
DEFAULT_RIDES_PER_MESSAGE = 200
MAX_RIDES_PER_MESSAGE = 1000

# SQS accepts at most 256 KiB per message and per SendMessageBatch request.
SQS_MAX_MESSAGE_BYTES = 262_144
# Enrich adds "groundstation" and "heavy_utilization" to every ride (< 60 bytes each), so ingest keeps
# its messages well below the limit; 200 KB leaves room for 1000 enriched rides' growth.
INGEST_MESSAGE_BUDGET_BYTES = 200_000
# Ride buffers of all dates together; beyond this the biggest buffer is sent early (memory bound).
MAX_BUFFERED_BYTES = 16 * 1024 * 1024

_COMPACT = {"separators": (",", ":"), "ensure_ascii": True, "allow_nan": False}


class BadMessage(ValueError):
    """An SQS body that is not a valid envelope (poison: goes to the DLQ after retries)."""


@dataclass(frozen=True)
class Source:
    bucket: str
    key: str


def encode_ride(ride: dict) -> str:
    return json.dumps(ride, **_COMPACT)


def _envelope_prefix(source: Source, chunk: int) -> str:
    head = json.dumps({"bucket": source.bucket, "key": source.key, "chunk": chunk}, **_COMPACT)
    return f'{{"v":{ENVELOPE_VERSION},"source":{head},"rides":['


def encode_message(source: Source, chunk: int, rides: list[dict]) -> str:
    return assemble_message(source, chunk, [encode_ride(r) for r in rides])


def assemble_message(source: Source, chunk: int, encoded_rides: list[str]) -> str:
    return _envelope_prefix(source, chunk) + ",".join(encoded_rides) + "]}"


def decode_message(body: str) -> dict:
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
    return envelope


class MessageGrouper:
    """Feed normalized rides with :meth:`add`; it yields encoded message bodies when they are full."""

    def __init__(
        self,
        source: Source,
        rides_per_message: int = DEFAULT_RIDES_PER_MESSAGE,
        budget_bytes: int = INGEST_MESSAGE_BUDGET_BYTES,
        max_buffered_bytes: int = MAX_BUFFERED_BYTES,
    ) -> None:
        if not 1 <= rides_per_message <= MAX_RIDES_PER_MESSAGE:
            raise ValueError(f"rides_per_message must be 1..{MAX_RIDES_PER_MESSAGE}")
        self.source = source
        self.rides_per_message = rides_per_message
        self.budget_bytes = budget_bytes
        self.max_buffered_bytes = max_buffered_bytes
        self._buffers: dict[str, list[str]] = {}
        self._buffer_bytes: dict[str, int] = {}
        self._total_bytes = 0
        self._next_chunk = 0
        # Room for the envelope around the rides: prefix + "]}" (key length varies per file).
        self._overhead = len(_envelope_prefix(source, 10**9).encode("utf-8")) + 2

    @property
    def messages_made(self) -> int:
        return self._next_chunk

    def add(self, ride: dict) -> Iterator[str]:
        date = ride["statustime"][:10]
        encoded = encode_ride(ride)
        size = len(encoded) + 1  # + the separating comma
        if self._overhead + size > self.budget_bytes:
            raise ValueError(f"ride {ride['ride_id']} alone exceeds the message budget")
        if date in self._buffers and self._overhead + self._buffer_bytes[date] + size > self.budget_bytes:
            yield self._flush(date)
        self._buffers.setdefault(date, []).append(encoded)
        self._buffer_bytes[date] = self._buffer_bytes.get(date, 0) + size
        self._total_bytes += size
        if len(self._buffers[date]) >= self.rides_per_message:
            yield self._flush(date)
        while self._total_bytes > self.max_buffered_bytes:
            biggest = max(self._buffers, key=lambda d: (self._buffer_bytes[d], d))
            yield self._flush(biggest)

    def finish(self) -> Iterator[str]:
        """The remaining partial messages, in date order."""
        for date in sorted(self._buffers):
            yield self._flush(date)

    def _flush(self, date: str) -> str:
        encoded_rides = self._buffers.pop(date)
        self._total_bytes -= self._buffer_bytes.pop(date)
        body = assemble_message(self.source, self._next_chunk, encoded_rides)
        self._next_chunk += 1
        return body
