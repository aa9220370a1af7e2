"""Names of the processed objects (docs/design.md "Outputs in the bucket", "Exactly once per file version").

``processed/ride_month=YYYY-MM/<source key hash>-<version tag>-<generation>-<chunk>.csv``:

- ``source key hash``: first 32 hex of sha256(raw object key), the same name quarantine/ uses, so every
  object of one source in one month is listed by the prefix ``processed/ride_month=M/<key hash>-``;
- ``version tag``: 12 hex of sha256 of the object version (of ``null@<ingested_at>`` on an unversioned
  bucket, so each upload of the key still gets its own names): objects of two versions never collide;
- ``generation``: the grouping generation (``grouping.grouping_generation``: the grouping scheme and
  RIDES_PER_MESSAGE), so a retry that groups differently writes other names, found and deleted by the
  supersession cleanup, and a retry that groups the same way overwrites its own objects;
- ``chunk``: the message number within the file version (one object per message and month), followed by
  ``-<part>`` for a message enrich had to split in parts (``envelope.Lineage.part``).
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from wildrydes_lambda.contracts.envelope import NULL_VERSION, Source

PARTITION_KEY = "ride_month"
# 'YYYY-MM' of a canonical statustime.
MONTH_CHARS = 7
KEY_HASH_CHARS = 32
VERSION_TAG_CHARS = 12
CHUNK_DIGITS = 5
CSV_SUFFIX = ".csv"

_NAME_RE = re.compile(
    r"^(?P<key>[0-9a-f]{32})-(?P<version>[0-9a-f]{12})-(?P<generation>[0-9a-f]{8})-(?P<part>[0-9a-f]+(?:-[0-9]+)?)\.csv$"
)


def source_key_hash(key: str) -> str:
    """First 128 bits of sha256 of the source key: a flat, safe name per source file."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:KEY_HASH_CHARS]


def version_tag(source: Source) -> str:
    """12 hex naming one version of a source (each upload on an unversioned bucket: its event time)."""
    identity = (
        source.version_id if source.version_id is not None else f"{NULL_VERSION}@{source.ingested_at or ''}"
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:VERSION_TAG_CHARS]


def object_tag(source: Source, generation: str) -> str:
    """`<version tag>-<generation>`: what the objects of one attempt's grouping share after the key hash."""
    return f"{version_tag(source)}-{generation}"


def month_of(statustime: str) -> str:
    return statustime[:MONTH_CHARS]


def month_prefix(prefix: str, month: str) -> str:
    """`processed/ride_month=YYYY-MM/` (Hive-style partition for Athena)."""
    return f"{prefix}{PARTITION_KEY}={month}/"


def source_month_prefix(prefix: str, month: str, source_key: str) -> str:
    """Every processed object of one source in one month starts with this."""
    return f"{month_prefix(prefix, month)}{source_key_hash(source_key)}-"


def processed_key(prefix: str, month: str, source: Source, generation: str, part: str) -> str:
    """`processed/ride_month=M/<key hash>-<version tag>-<generation>-<part>.csv`; ``part`` is the chunk
    number (CHUNK_DIGITS wide) or, in the per-ride baseline, the ride id."""
    return (
        f"{source_month_prefix(prefix, month, source.key)}{object_tag(source, generation)}-{part}{CSV_SUFFIX}"
    )


def chunk_part(chunk: int, part: int | None = None) -> str:
    """The name's last field: the chunk, and the part of a message enrich split (None: not split)."""
    return f"{chunk:0{CHUNK_DIGITS}d}" if part is None else f"{chunk:0{CHUNK_DIGITS}d}-{part}"


class ObjectName(NamedTuple):
    key_hash: str
    version_tag: str
    generation: str
    part: str

    @property
    def tag(self) -> str:
        return f"{self.version_tag}-{self.generation}"


def parse_object_name(key: str) -> ObjectName | None:
    """The parts of a processed object's name (None for a name this scheme did not write)."""
    match = _NAME_RE.match(key.rsplit("/", 1)[-1])
    if match is None:
        return None
    return ObjectName(match["key"], match["version"], match["generation"], match["part"])
