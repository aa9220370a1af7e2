"""Quarantine: rejected rides (and whole rejected files) as JSON lines with a reason code.

Layout (docs/design.md "Outputs"): ``quarantine/<source-key-hash>/<name>.jsonl``, one object per line:
``{"reason", "detail", "source": {"bucket", "key"}, "index", "record"}``; a whole rejected file is one
line with ``record: null`` and ``raw_object: <key>``. Object names are numbered in the order rides
appear, so re-ingesting the same file overwrites the same objects instead of adding new ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from wildrydes_lambda.contracts.envelope import Source
from wildrydes_lambda.etl.naming import source_key_hash

# One quarantine object is written per this many lines or bytes, whichever comes first, so a file
# full of bad rides never holds more than one object's worth of lines in memory.
QUARANTINE_LINES_PER_OBJECT = 1000
QUARANTINE_OBJECT_BYTES = 4 * 1024 * 1024

PutObject = Callable[[str, bytes], None]


# S3 version ids are short URL-safe strings; anything else is named by its hash so keys stay bounded.
_SAFE_VERSION_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def version_name(version_id: str) -> str:
    """A key-safe name of an object version: the id itself when short and URL-safe, else a hash."""
    if _SAFE_VERSION_RE.match(version_id):
        return version_id
    return "h-" + hashlib.sha256(version_id.encode("utf-8")).hexdigest()[:32]


def quarantine_dir(prefix: str, source: Source) -> str:
    """`<prefix><key hash>/`, plus `v-<version>/` for a versioned source (no version overwrites another's)."""
    base = f"{prefix}{source_key_hash(source.key)}/"
    return base if source.version_id is None else f"{base}v-{version_name(source.version_id)}/"


def _dumps(obj: dict) -> str:
    # ensure_ascii: raw records may hold any text (even lone surrogates); escaped, the line is always
    # valid UTF-8. default=str keeps odd values (Decimal) instead of failing the whole quarantine.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str)


def ride_line(
    reason: str, detail: str, source: Source, index: int | None, record: Any, excerpt: str | None = None
) -> str:
    """One quarantine line. Never raises for odd records: one the encoder cannot write (nested beyond its
    recursion limit, too big for memory) is replaced by null with ``record_omitted`` saying why."""
    line: dict[str, Any] = {
        "reason": reason,
        "detail": detail,
        "source": source.to_dict(),
        "index": index,
        "record": record,
    }
    if excerpt is not None:
        line["line_excerpt"] = excerpt
    try:
        return _dumps(line)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        line["record"] = None
        line["record_omitted"] = f"{type(exc).__name__}: the record cannot be encoded as JSON"
        return _dumps(line)


def file_line(reason: str, detail: str, source: Source) -> str:
    return _dumps(
        {
            "reason": reason,
            "detail": detail,
            "source": {"bucket": source.bucket, "key": source.key},
            "index": None,
            "record": None,
            "raw_object": source.key,
        }
    )


class QuarantineWriter:
    """Buffers quarantine lines and writes them as numbered .jsonl objects through ``put``."""

    def __init__(self, put: PutObject, prefix: str, source: Source, name_prefix: str = "") -> None:
        self._put = put
        self._dir = quarantine_dir(prefix, source)
        self._name_prefix = name_prefix
        self._lines: list[str] = []
        self._bytes = 0
        self._next_object = 0
        self.lines_written = 0
        self.keys_written: list[str] = []

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._bytes += len(line) + 1
        if len(self._lines) >= QUARANTINE_LINES_PER_OBJECT or self._bytes >= QUARANTINE_OBJECT_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        key = f"{self._dir}{self._name_prefix}{self._next_object:05d}.jsonl"
        self._put(key, ("\n".join(self._lines) + "\n").encode("utf-8"))
        self.lines_written += len(self._lines)
        self.keys_written.append(key)
        self._next_object += 1
        self._lines, self._bytes = [], 0
