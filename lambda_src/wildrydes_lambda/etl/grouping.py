"""The per-month grouping of rides into SQS messages (the envelope itself is ``contracts.envelope``).

A message carries rides of one calendar month (``statustime[:7]``), not one date: a sparse file (the
workshop's: ~7.8k rides over ~3.1k dates) then needs ~one message per month instead of one per date (0.4
messages per ride), while a dense file fills messages by count exactly as before. The writer still splits
each message's rides by ``ride_date`` for its partitions.

Grouping keeps memory bounded while streaming a file: rides wait in one buffer per month (kept
as already-encoded JSON strings, ~4x smaller than dicts); a buffer becomes a message when it holds
``rides_per_message`` rides or the next ride would push it past the byte budget, and when all buffers
together exceed ``max_buffered_bytes`` the biggest one is flushed early. Every decision depends only on
the order of rides in the file, so the messages (and their chunk numbers) are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator

from wildrydes_lambda.contracts.envelope import (
    SQS_MAX_MESSAGE_BYTES,
    Source,
    assemble_message,
    encode_ride,
    envelope_prefix,
)

DEFAULT_RIDES_PER_MESSAGE = 200
MAX_RIDES_PER_MESSAGE = 1000

# Enrich adds `,"groundstation":"US1NYNY0074"` (30 bytes), `,"heavy_utilization":1` (22) and
# `,"station_distance_miles":<float repr, <= 24>` (<= 50) to every ride: at most this many bytes.
ENRICH_GROWTH_MAX_BYTES_PER_RIDE = 110
# So that the enriched message of MAX_RIDES_PER_MESSAGE rides still fits SQS's limit.
INGEST_MESSAGE_BUDGET_BYTES = SQS_MAX_MESSAGE_BYTES - MAX_RIDES_PER_MESSAGE * ENRICH_GROWTH_MAX_BYTES_PER_RIDE
# The grouping key: "YYYY-MM" of the canonical statustime.
GROUP_KEY_CHARS = 7
# S3 limits: bucket names <= 63 characters, keys <= 1,024 UTF-8 bytes; the envelope's JSON escapes a
# control byte as \u00XX (6 characters), so this is the largest envelope around any message's rides.
S3_MAX_BUCKET_CHARS, S3_MAX_KEY_BYTES = 63, 1024
MAX_ENVELOPE_OVERHEAD_BYTES = (
    len(envelope_prefix(Source("b" * S3_MAX_BUCKET_CHARS, "\x00" * S3_MAX_KEY_BYTES), 10**9).encode("utf-8"))
    + 2
)
# Ride buffers of all dates together; beyond this the biggest buffer is sent early (memory bound).
MAX_BUFFERED_BYTES = 16 * 1024 * 1024


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
        # Room for the envelope around the rides: the worst case over every source, not this file's, so the
        # grouping depends on the rides alone (the same bytes under a longer key split the same way).
        self._overhead = MAX_ENVELOPE_OVERHEAD_BYTES

    @property
    def messages_made(self) -> int:
        return self._next_chunk

    def add(self, ride: dict, encoded: str | None = None) -> Iterator[str]:
        """``encoded`` is ``encode_ride(ride)`` when the caller has it already."""
        date = ride["statustime"][:GROUP_KEY_CHARS]  # the month: buffers and messages are per month
        encoded = encode_ride(ride) if encoded is None else encoded
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
        """The remaining partial messages, in month order."""
        for date in sorted(self._buffers):
            yield self._flush(date)

    def _flush(self, date: str) -> str:
        encoded_rides = self._buffers.pop(date)
        self._total_bytes -= self._buffer_bytes.pop(date)
        body = assemble_message(self.source, self._next_chunk, encoded_rides)
        self._next_chunk += 1
        return body
