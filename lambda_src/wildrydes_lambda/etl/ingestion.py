"""Ingest one ride file: stream, validate, dedupe, group into messages, quarantine, count.

No AWS here: the caller passes a way to open the file, a message sink and a quarantine writer, so the
whole flow is unit-tested in memory (and the 1M-ride memory test runs without S3).

No input may crash it: a file that fails pass 1 is rejected whole before any message is sent, and every
failure while handling one record (a bad value, a bad NDJSON line, RecursionError on a deep record,
MemoryError on a huge one) quarantines that record with a reason and goes on with the next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from wildrydes_lambda.contracts.envelope import Source, encode_ride
from wildrydes_lambda.etl import naming
from wildrydes_lambda.etl import quarantine as q
from wildrydes_lambda.etl.dedupe import RideTable, Seen, fingerprint
from wildrydes_lambda.etl.grouping import DEFAULT_RIDES_PER_MESSAGE, MessageGrouper
from wildrydes_lambda.etl.rides import InvalidRide, validate_ride
from wildrydes_lambda.etl.streaming import BadFile, BadRecord, InputFormat, iter_records, scan_file

# S3 refuses keys longer than this many UTF-8 bytes.
S3_MAX_KEY_BYTES = 1024
# Manifests of source keys too long to repeat in a manifest key live here, named by the key's hash
# (every source key starts with the raw prefix, so this directory never clashes with a source key's path).
LONG_KEY_MANIFEST_DIR = "_by-key-hash/"
MANIFEST_SUFFIX = ".json"


# Per-version manifests of a key live under `<manifest of the key without .json>.versions/`.
VERSIONS_DIR_SUFFIX = ".versions/"


def manifest_key(prefix: str, source_key: str, version_id: str | None = None) -> str:
    """`<prefix><source key>.json` (the key's latest ingested version), or with ``version_id``
    `<prefix><source key>.versions/<version>.json` (one per version, never overwritten by another); the
    `<prefix>_by-key-hash/<sha256 of the key, 32 hex>` form replaces `<prefix><source key>` when the key
    would exceed S3's limit (the manifest's ``source`` field still names the key in full)."""
    tail = (
        MANIFEST_SUFFIX
        if version_id is None
        else f"{VERSIONS_DIR_SUFFIX}{q.version_name(version_id)}{MANIFEST_SUFFIX}"
    )
    key = f"{prefix}{source_key}{tail}"
    if len(key.encode("utf-8")) <= S3_MAX_KEY_BYTES:
        return key
    return f"{prefix}{LONG_KEY_MANIFEST_DIR}{q.source_key_hash(source_key)}{tail}"


def versions_dir(prefix: str, source_key: str) -> str:
    """The directory holding every version manifest of ``source_key`` (listed by the cleanup)."""
    one = manifest_key(prefix, source_key, "x")
    return one[: -len("x" + MANIFEST_SUFFIX)]


# A version manifest's state: written before the first message is sent, then replaced when all are.
STATE_SENDING, STATE_DONE = "sending", "done"


def generations_of(manifest: dict | None) -> list[str]:
    """The grouping generations earlier attempts at a version recorded in its manifest."""
    if not manifest:
        return []
    found = set(manifest.get("generations") or [])
    if manifest.get("generation"):
        found.add(manifest["generation"])
    return sorted(g for g in found if isinstance(g, str))


@dataclass
class Manifest:
    """The manifest object of one file (docs/design.md "Outputs").
    Invariant: rides_in == valid + quarantined + duplicates.

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
    format: str | None = None
    # Exactly once per file version (docs/design.md): the grouping generation of the messages sent, the
    # object tag (`<version tag>-<generation>`) every processed object of this version carries, the months
    # (YYYY-MM) its rides were written to (what a later version's cleanup lists), the generations any
    # attempt at this version used, and the processed objects of earlier versions/attempts deleted.
    generation: str | None = None
    object_tag: str | None = None
    months: list = field(default_factory=list)
    generations: list = field(default_factory=list)
    superseded_objects_deleted: int = 0
    state: str = STATE_DONE

    def to_dict(self) -> dict:
        return asdict(self)


def keep_written_record(manifest: Manifest, earlier: dict | None) -> None:
    """Carry what an earlier attempt at the same version wrote (tag, months, generations) into ``manifest``,
    which is about to replace it (a SUPERSEDED record of a version that was processed before)."""
    if earlier and earlier.get("object_tag"):
        manifest.object_tag = earlier["object_tag"]
        manifest.months = list(earlier.get("months") or [])
        manifest.generation = earlier.get("generation")
        manifest.generations = generations_of(earlier)


def reject_file(source: Source, quarantine: q.QuarantineWriter, bad: BadFile, manifest: Manifest) -> Manifest:
    """Record a whole-file rejection: one quarantine line (record = null) and the manifest's file_reason."""
    quarantine.add(q.file_line(bad.reason, bad.detail, source))
    quarantine.flush()
    manifest.file_reason = bad.reason
    return manifest


def _judge(record: Any) -> dict:
    if isinstance(record, BadRecord):
        raise InvalidRide(record.reason, record.detail)
    return validate_ride(record)


def ingest_file(
    source: Source,
    open_stream: Callable[[], BinaryIO],
    send: Callable[[str], None],
    quarantine: q.QuarantineWriter,
    rides_per_message: int = DEFAULT_RIDES_PER_MESSAGE,
    fmt: InputFormat = InputFormat.JSON,
) -> Manifest:
    """Process one file end to end; ``open_stream`` is called twice (shape scan, then rides)."""
    manifest = Manifest(source=source.to_dict(), format=fmt.value)
    try:
        shape = scan_file(open_stream(), fmt)
    except BadFile as bad:
        return reject_file(source, quarantine, bad, manifest)

    reasons: Counter[str] = Counter()
    seen = RideTable()
    grouper = MessageGrouper(source, rides_per_message)

    def reject(reason: str, detail: str, index: int, record: Any) -> None:
        reasons[reason] += 1
        excerpt = record.excerpt if isinstance(record, BadRecord) else None
        kept = None if isinstance(record, BadRecord) else record
        quarantine.add(q.ride_line(reason, detail, source, index, kept, excerpt=excerpt))

    for index, record in enumerate(iter_records(open_stream(), shape)):
        manifest.rides_in += 1
        try:
            ride = _judge(record)
            encoded = encode_ride(ride)
            seen_as = seen.add(ride["ride_id"], fingerprint(encoded))
        except InvalidRide as bad:
            reject(bad.reason, bad.detail, index, record)
            continue
        except RecursionError:
            reject("TOO_DEEP", "the record nests too deeply to process", index, record)
            continue
        except MemoryError:
            reject("RECORD_TOO_LARGE", "processing the record ran out of memory", index, record)
            continue
        if seen_as is Seen.SAME:
            manifest.duplicates += 1
            continue
        if seen_as is Seen.CONFLICT:
            detail = (
                f"ride {ride['ride_id']} appeared earlier in the file with other values; the first is kept"
            )
            reject("DUPLICATE_CONFLICT", detail, index, record)
            continue
        manifest.valid += 1
        for body in grouper.add(ride, encoded):
            send(body)
    for body in grouper.finish():
        send(body)
    quarantine.flush()

    manifest.quarantined = sum(reasons.values())
    manifest.reasons = dict(sorted(reasons.items()))
    manifest.messages = grouper.messages_made
    manifest.generation = grouper.generation
    manifest.object_tag = naming.object_tag(source, grouper.generation)
    manifest.months = grouper.months
    return manifest
