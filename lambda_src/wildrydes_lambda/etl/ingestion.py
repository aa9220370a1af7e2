"""Ingest one ride file: stream, validate, dedupe, group into messages, quarantine, count.

No AWS here: the caller passes a way to open the file, a message sink and a quarantine writer, so the
whole flow is unit-tested in memory (and the 1M-ride memory test runs without S3).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import BinaryIO

from wildrydes_lambda.contracts.envelope import Source
from wildrydes_lambda.etl import quarantine as q
from wildrydes_lambda.etl.dedupe import RideIdSet
from wildrydes_lambda.etl.grouping import DEFAULT_RIDES_PER_MESSAGE, MessageGrouper
from wildrydes_lambda.etl.rides import InvalidRide, validate_ride
from wildrydes_lambda.etl.streaming import BadFile, iter_rides, scan_file


@dataclass
class Manifest:
    """`manifests/<source key>.json`. Invariant: rides_in == valid + quarantined + duplicates.

    A whole rejected file has file_reason set and all ride counts 0 (its rides were never read);
    its one quarantine line has record = null.
    """

    source: dict
    rides_in: int = 0
    valid: int = 0
    quarantined: int = 0
    duplicates: int = 0
    messages: int = 0
    reasons: dict = field(default_factory=dict)
    file_reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def ingest_file(
    source: Source,
    open_stream: Callable[[], BinaryIO],
    send: Callable[[str], None],
    quarantine: q.QuarantineWriter,
    rides_per_message: int = DEFAULT_RIDES_PER_MESSAGE,
) -> Manifest:
    """Process one file end to end; ``open_stream`` is called twice (shape scan, then rides)."""
    manifest = Manifest(source={"bucket": source.bucket, "key": source.key})
    try:
        shape = scan_file(open_stream())
    except BadFile as bad:
        quarantine.add(q.file_line(bad.reason, bad.detail, source))
        quarantine.flush()
        manifest.file_reason = bad.reason
        return manifest

    reasons: Counter[str] = Counter()
    seen = RideIdSet(expected=shape.rides)
    grouper = MessageGrouper(source, rides_per_message)
    for index, record in enumerate(iter_rides(open_stream(), shape)):
        manifest.rides_in += 1
        try:
            ride = validate_ride(record)
        except InvalidRide as bad:
            reasons[bad.reason] += 1
            quarantine.add(q.ride_line(bad.reason, bad.detail, source, index, record))
            continue
        if not seen.add(ride["ride_id"]):
            manifest.duplicates += 1
            continue
        manifest.valid += 1
        for body in grouper.add(ride):
            send(body)
    for body in grouper.finish():
        send(body)
    quarantine.flush()

    manifest.quarantined = sum(reasons.values())
    manifest.reasons = dict(sorted(reasons.items()))
    manifest.messages = grouper.messages_made
    return manifest
