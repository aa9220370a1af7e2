"""The grouping of a file's rides into SQS messages (the envelope itself is ``contracts.envelope``).

Rides wait in one buffer per calendar month (``statustime[:7]``), kept as already-encoded JSON strings
(~4x smaller than dicts). A month's buffer becomes a message of that month alone when it holds
``rides_per_message`` rides or the next ride would push its uncompressed rides past
``MAX_RAW_MESSAGE_BYTES``, and when all buffers together exceed ``max_buffered_bytes`` the biggest one is
sent early. At the end of the file the partial month buffers left are *packed*: whole months in month order
share a message up to the same limits, so a sparse file (the workshop's: ~7.8k rides over ~115 months)
needs a handful of messages, not one per month, while the writer still writes one object per (message,
month).

Messages carry their rides compressed (``contracts.envelope``). A group whose compressed body is larger
than the ingest share of the budget (``INGEST_SHARE_OF_BUDGET``: the rest is room for what enrich adds)
is split in halves, in file order, until every half fits; each piece is a message with its own chunk.

Every decision depends only on the rides and their order in the file (never on the source key, version or
event time: the budget reserves the largest envelope any source can have), so the messages and their chunk
numbers are deterministic given the file's rides and RIDES_PER_MESSAGE; the grouping *generation*
(:func:`grouping_generation`) names that choice, and the writer puts it in every object name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from wildrydes_lambda.contracts.envelope import (
    ENVELOPE_SUFFIX,
    INGESTED_AT_CHARS,
    SQS_MAX_MESSAGE_BYTES,
    ZLIB_LEVEL,
    Source,
    compress_rides,
    encode_ride,
    envelope_prefix,
)

# Rides per message. Compressed, a typical ride takes ~68 bytes in an ingest message and ~87 once enriched
# (measured on the workshop's shape), so 2,500 rides make ~170 KB messages that grow to ~218 KB: below
# SQS's 256 KiB with room to spare, and a workshop-sized file (7.8k rides) is 4 messages.
DEFAULT_RIDES_PER_MESSAGE = 2500
MAX_RIDES_PER_MESSAGE = 10_000

# Enrich adds `,"groundstation":"US1NYNY0074"` (30 bytes), `,"heavy_utilization":1` (22) and
# `,"station_distance_miles":<float repr, <= 24>` (<= 50) to every ride: at most this many bytes,
# uncompressed. Counted into MAX_RAW_MESSAGE_BYTES, so an enriched message never inflates past it.
ENRICH_GROWTH_MAX_BYTES_PER_RIDE = 110
# Uncompressed rides of one message (enrich's growth included): what enrich and the writer hold per message.
MAX_RAW_MESSAGE_BYTES = 4 * 1024 * 1024
# An ingest message's compressed body stays within this share of the budget; the rest is room for what
# enrich adds (~19 compressed bytes per ride, 47 KB at 2,500 rides: the reserve is 64 KiB). Should a
# message still outgrow SQS's limit once enriched, enrich splits it in two parts (etl.forwarding).
INGEST_SHARE_OF_BUDGET = 0.75
# The grouping key: "YYYY-MM" of the canonical statustime.
GROUP_KEY_CHARS = 7
# Changes whenever the grouping rules or their limits change, so objects of an older grouping get other
# names (and are cleaned up) instead of being overwritten by a different split.
GROUPING_SCHEME = "month-pack-zlib-v2"
GENERATION_HEX_CHARS = 8
# S3 limits: bucket names <= 63 characters, keys <= 1,024 UTF-8 bytes; version ids are short URL-safe
# strings, allowed here up to 1,024 characters. The envelope's JSON escapes a control byte as \u00XX (6
# characters), so this is the largest envelope around any message's rides.
S3_MAX_BUCKET_CHARS, S3_MAX_KEY_BYTES, MAX_VERSION_ID_CHARS = 63, 1024, 1024
MAX_ENVELOPE_OVERHEAD_BYTES = len(
    envelope_prefix(
        Source(
            "b" * S3_MAX_BUCKET_CHARS,
            "\x00" * S3_MAX_KEY_BYTES,
            version_id="\x00" * MAX_VERSION_ID_CHARS,
            ingested_at="t" * INGESTED_AT_CHARS,
        ),
        10**9,
        "f" * GENERATION_HEX_CHARS,
    ).encode("utf-8")
) + len(ENVELOPE_SUFFIX)
# Ride buffers of all months together; beyond this the biggest buffer is sent early (memory bound).
MAX_BUFFERED_BYTES = 16 * 1024 * 1024


def grouping_generation(rides_per_message: int, budget_bytes: int = SQS_MAX_MESSAGE_BYTES) -> str:
    """8 hex naming the grouping (scheme + limits): equal generations split a file identically."""
    identity = f"{GROUPING_SCHEME}|{rides_per_message}|{budget_bytes}|{ENRICH_GROWTH_MAX_BYTES_PER_RIDE}"
    identity += f"|{MAX_ENVELOPE_OVERHEAD_BYTES}|{MAX_BUFFERED_BYTES}|{MAX_RAW_MESSAGE_BYTES}"
    identity += f"|{INGEST_SHARE_OF_BUDGET}|zlib{ZLIB_LEVEL}"
    return hashlib.sha256(identity.encode("ascii")).hexdigest()[:GENERATION_HEX_CHARS]


class MessageGrouper:
    """Feed normalized rides with :meth:`add`; it yields encoded message bodies when they are full, and
    :meth:`finish` yields the rest. ``budget_bytes`` is SQS's limit: each message ingest makes stays within
    ``INGEST_SHARE_OF_BUDGET`` of it, so it still fits after enrich's growth."""

    def __init__(
        self,
        source: Source,
        rides_per_message: int = DEFAULT_RIDES_PER_MESSAGE,
        budget_bytes: int = SQS_MAX_MESSAGE_BYTES,
        max_buffered_bytes: int = MAX_BUFFERED_BYTES,
    ) -> None:
        if not 1 <= rides_per_message <= MAX_RIDES_PER_MESSAGE:
            raise ValueError(f"rides_per_message must be 1..{MAX_RIDES_PER_MESSAGE}")
        if source.version_id is not None and len(source.version_id) > MAX_VERSION_ID_CHARS:
            raise ValueError(f"version id longer than {MAX_VERSION_ID_CHARS} characters")
        self.source = source
        self.rides_per_message = rides_per_message
        self.budget_bytes = budget_bytes
        self.max_buffered_bytes = max_buffered_bytes
        self.body_budget = int(budget_bytes * INGEST_SHARE_OF_BUDGET)
        self.generation = grouping_generation(rides_per_message, budget_bytes)
        self._buffers: dict[str, list[str]] = {}
        self._buffer_bytes: dict[str, int] = {}
        self._total_bytes = 0
        self._next_chunk = 0
        self._months: set[str] = set()
        # Room for the envelope around the rides: the worst case over every source, not this file's, so the
        # grouping depends on the rides alone (the same bytes under a longer key split the same way).
        self._overhead = MAX_ENVELOPE_OVERHEAD_BYTES

    @property
    def messages_made(self) -> int:
        return self._next_chunk

    @property
    def months(self) -> list[str]:
        """The months (YYYY-MM) of every ride added, sorted: where the writer will put this file's rides."""
        return sorted(self._months)

    def _fits(self, count: int, size: int) -> bool:
        return count <= self.rides_per_message and size <= MAX_RAW_MESSAGE_BYTES

    def add(self, ride: dict, encoded: str | None = None) -> Iterator[str]:
        """``encoded`` is ``encode_ride(ride)`` when the caller has it already."""
        month = ride["statustime"][:GROUP_KEY_CHARS]
        encoded = encode_ride(ride) if encoded is None else encoded
        size = len(encoded) + 1 + ENRICH_GROWTH_MAX_BYTES_PER_RIDE  # + the comma + what enrich adds
        if not self._fits(1, size) or self._overhead + size > self.body_budget:
            # A ride this large cannot be promised a message even uncompressed (validation bounds every
            # field, so only an absurdly small budget gets here).
            raise ValueError(f"ride {ride['ride_id']} alone exceeds the message budget")
        self._months.add(month)
        if month in self._buffers and not self._fits(1, self._buffer_bytes[month] + size):
            yield from self._flush([month])
        self._buffers.setdefault(month, []).append(encoded)
        self._buffer_bytes[month] = self._buffer_bytes.get(month, 0) + size
        self._total_bytes += size
        if len(self._buffers[month]) >= self.rides_per_message:
            yield from self._flush([month])
        while self._total_bytes > self.max_buffered_bytes:
            biggest = max(self._buffers, key=lambda m: (self._buffer_bytes[m], m))
            yield from self._flush([biggest])

    def finish(self) -> Iterator[str]:
        """The remaining partial month buffers, packed whole in month order (each buffer alone fits)."""
        pack: list[str] = []
        count = size = 0
        for month in sorted(self._buffers):
            n, b = len(self._buffers[month]), self._buffer_bytes[month]
            if pack and not self._fits(count + n, size + b):
                yield from self._flush(pack)
                pack, count, size = [], 0, 0
            pack.append(month)
            count, size = count + n, size + b
        if pack:
            yield from self._flush(pack)

    def _flush(self, months: list[str]) -> Iterator[str]:
        encoded_rides: list[str] = []
        for month in months:
            encoded_rides += self._buffers.pop(month)
            self._total_bytes -= self._buffer_bytes.pop(month)
        yield from self._fitting(encoded_rides)

    def _fitting(self, encoded_rides: list[str]) -> Iterator[str]:
        """One message of these rides, or, when its compressed rides and the largest envelope any source
        can have exceed the ingest budget, the messages of each half in turn (file order), chunk numbers
        following on. Measured against the largest envelope, not this source's, so a longer key never
        splits differently."""
        packed = compress_rides(encoded_rides)
        if self._overhead + len(packed) > self.body_budget and len(encoded_rides) > 1:
            half = len(encoded_rides) // 2
            yield from self._fitting(encoded_rides[:half])
            yield from self._fitting(encoded_rides[half:])
            return
        body = envelope_prefix(self.source, self._next_chunk, self.generation) + packed + ENVELOPE_SUFFIX
        self._next_chunk += 1
        yield body
