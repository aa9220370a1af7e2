"""Streaming a ride file without loading it: format detection, shape check, then record-by-record iteration.

Formats (docs/design.md "Ride data"): a JSON document — a bare list ``[ride, ...]`` or an object with a
``travel_data`` list (key matched case-insensitively; other top-level keys ignored) — or newline-delimited
JSON (one ride object per line, blank lines ignored). Either may be gzip-compressed: a ``.gz`` suffix or
the gzip magic bytes. :func:`detect_format` picks the format from the key's suffix (any case); any other
object is ``UNSUPPORTED_OBJECT``.

A file is read twice. Pass 1 (:func:`scan_file`) walks the whole file without building objects: for a JSON
document it proves the syntax, the shape and a bounded nesting depth (``MAX_NESTING_DEPTH``, else
``TOO_DEEP``) and counts the rides; for NDJSON it proves the (decompressed) byte stream is complete and
counts the non-blank lines; either count stops past ``MAX_ITEMS_PER_FILE`` (``TOO_MANY_ITEMS``). Only then
pass 2 (:func:`iter_records`) yields the records one at a time. So a corrupt document or a truncated gzip
stream is an all-or-nothing event: the whole file goes to quarantine with one reason, before any message
is sent. In NDJSON a bad line is one bad record
(:class:`BadRecord`), not a bad file.

Memory is flat in the file size for every format: the parser reads fixed-size buffers, an NDJSON line is
at most ``MAX_LINE_BYTES`` (longer lines are skipped, not buffered) and only one record is alive at a time.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, BinaryIO, Protocol, cast

import ijson

TRAVEL_DATA_KEY = "travel_data"
# Bytes per read() call on the S3 body; small enough to keep memory flat, big enough for throughput.
READ_BUFFER_BYTES = 64 * 1024
# Deepest nesting of arrays/objects accepted in a JSON document (the top level counts as 1). A ride is at
# depth 2 or 3; the cap exists because the streaming parser's pass 2 keeps a prefix string per open level
# (memory grows with the square of the depth: 1,024 levels ~3 MB, 10,000 levels ~255 MB). Records up to
# the cap that are not rides are quarantined one by one.
MAX_NESTING_DEPTH = 1024
# Most items (JSON list entries or non-blank NDJSON lines) one file may hold; pass 1 stops counting past it
# and rejects the file (TOO_MANY_ITEMS) before anything is sent. Every item costs CPU and, when it is not a
# ride, one quarantine line (~130 bytes): 10M zeros (a 20 MB file) are ~60 s of one core and 1.3 GB of
# quarantine lines, beyond the ingest function's 300 s at its default 256 MB (0.145 of a vCPU). Twice the
# 1M-ride file the reliability suite ingests, so real files stay far below it.
MAX_ITEMS_PER_FILE = 2_000_000
# Longest NDJSON line kept in memory; a longer line is one quarantined record (its bytes are skipped).
MAX_LINE_BYTES = 1024 * 1024
# How much of a bad NDJSON line its quarantine line keeps.
BAD_LINE_EXCERPT_BYTES = 1000
GZIP_MAGIC = b"\x1f\x8b"
# Stands in for a lone UTF-16 surrogate escape (``"\\ud800"``) in a JSON document: the C parser would
# otherwise mangle it silently or reject the whole file. It is a Unicode noncharacter, and validation
# rejects any string holding one (rides.REASONS["UNREPRESENTABLE_STRING"]), so nothing is stored altered.
LONE_SURROGATE_SENTINEL = "\ufdd0"

# File-level reason codes (quarantine lines with record = null). Keep docs/design.md in sync.
FILE_REASONS = {
    "EMPTY_FILE": "the object has no bytes (or only whitespace)",
    "NOT_UTF8": "the bytes are not UTF-8 text (UTF-16/32 or invalid sequences in a JSON document)",
    "NOT_JSON": "the text is not valid JSON (syntax error, truncation, bare NaN/Infinity, numbers too big)",
    "WRONG_SHAPE": "valid JSON but neither a list of rides nor an object with a travel_data list",
    "TOO_DEEP": f"a JSON document nests arrays/objects deeper than {MAX_NESTING_DEPTH} levels",
    "TOO_MANY_ITEMS": f"more than {MAX_ITEMS_PER_FILE:,} items (list entries or non-blank NDJSON lines)",
    "BAD_GZIP": "gzip-compressed bytes that do not decompress (corrupt or truncated stream)",
    "SUPERSEDED": "the event names an object version that is no longer the key's current one (a newer upload "
    "or a delete followed): nothing of it is processed",
    "UNSUPPORTED_OBJECT": "an object under raw/ whose name does not end in .json, .jsonl or .ndjson "
    "(optionally + .gz, any case)",
}


class InputFormat(StrEnum):
    JSON = "json"  # one JSON document: a list of rides or {"travel_data": [...]}
    NDJSON = "ndjson"  # one ride object per line


_SUFFIXES = {".json": InputFormat.JSON, ".jsonl": InputFormat.NDJSON, ".ndjson": InputFormat.NDJSON}
_GZIP_SUFFIX = ".gz"


def detect_format(key: str) -> InputFormat | None:
    """The input format a key's suffix names (any case, optionally followed by .gz); None = unsupported."""
    name = key.lower()
    if name.endswith(_GZIP_SUFFIX):
        name = name[: -len(_GZIP_SUFFIX)]
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    return None


_UTF16_32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_WHITESPACE = b" \t\r\n"
_BOM_PROBE_BYTES = 4  # the longest byte-order mark (UTF-32)


class BadFile(ValueError):
    """The whole file is rejected; ``reason`` is a key of :data:`FILE_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in FILE_REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class BadRecord:
    """One NDJSON line that is not a ride record: quarantined with ``reason`` (a rides.REASONS key)."""

    reason: str
    detail: str
    excerpt: str  # the start of the line, undecodable bytes as \\x escapes


@dataclass(frozen=True)
class FileShape:
    format: InputFormat
    prefix: str  # ijson prefix of the ride items: "item" or "<travel_data key>.item" ("" for NDJSON)
    rides: int  # number of items in the ride list / non-blank lines (any content; validation judges them)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Decompressing:
    """A binary stream, gunzipped when it starts with the gzip magic bytes (errors -> BAD_GZIP)."""

    def __init__(self, raw: _Readable) -> None:
        head = raw.read(len(GZIP_MAGIC))
        self.compressed = head == GZIP_MAGIC
        self._pending = b"" if self.compressed else head
        self._raw = raw
        source = cast(BinaryIO, _Prepend(head, raw))
        self._gzip = gzip.GzipFile(fileobj=source, mode="rb") if self.compressed else None

    def read(self, size: int = -1) -> bytes:
        if self._gzip is not None:
            try:
                return self._gzip.read(size)
            except (OSError, EOFError, zlib.error) as exc:
                raise BadFile("BAD_GZIP", f"{type(exc).__name__}: {str(exc)[:200]}") from None
        if self._pending:
            data, self._pending = self._pending, b""
            if 0 <= size < len(data):
                data, self._pending = data[:size], data[size:]
            return data
        return self._raw.read(size)


class _Prepend:
    """``head`` (already read) followed by the rest of ``raw``."""

    def __init__(self, head: bytes, raw: _Readable) -> None:
        self._head, self._raw = head, raw

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            if 0 <= size < len(data):
                data, self._head = data[:size], data[size:]
            return data
        return self._raw.read(size)


class _BomSkippingReader:
    """Drops a leading UTF-8 BOM, refuses UTF-16/32, and remembers whether any non-whitespace byte went by
    (to tell an empty file from broken JSON)."""

    def __init__(self, raw: _Readable) -> None:
        self._raw = raw
        head = b""
        while len(head) < _BOM_PROBE_BYTES:  # a read may return fewer bytes than asked
            chunk = raw.read(_BOM_PROBE_BYTES - len(head))
            if not chunk:
                break
            head += chunk
        if any(head.startswith(bom) for bom in _UTF16_32_BOMS):
            raise BadFile("NOT_UTF8", "starts with a UTF-16/UTF-32 byte-order mark")
        self._pending = head[3:] if head.startswith(codecs.BOM_UTF8) else head
        self.saw_content = False

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            if size is not None and 0 <= size < len(data):
                data, self._pending = data[:size], data[size:]
        else:
            data = self._raw.read(size)
        if not self.saw_content and data.strip(_WHITESPACE):
            self.saw_content = True
        return data


# A \u escape of a UTF-16 surrogate code unit, with the backslashes before it (an even count means the
# backslash is itself escaped and the "u" is plain text).
_SURROGATE_ESCAPE_RE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
_HIGH_SURROGATE = re.compile(rb"[dD][89abAB]")
_LOW_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SENTINEL_ESCAPE = b"u" + f"{ord(LONE_SURROGATE_SENTINEL):04x}".encode("ascii")
# Longest span examined at once: a high and a low surrogate escape (12 bytes).
_PAIR_BYTES = 12


class _SurrogateGuard:
    """Rewrites each lone surrogate escape of a JSON text to the escape of LONE_SURROGATE_SENTINEL (same
    length); escaped pairs (\\ud83d\\ude00) and plain text pass unchanged. Works across read boundaries."""

    def __init__(self, raw: _Readable) -> None:
        self._raw = raw
        self._carry = b""
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._eof:
                data, self._carry = self._carry, b""
                return self._rewrite(data, len(data))[0]
            chunk = self._raw.read(READ_BUFFER_BYTES if size is None or size < 0 else max(size, _PAIR_BYTES))
            if not chunk:
                self._eof = True
                continue
            buffer = self._carry + chunk
            cut = len(buffer) - _PAIR_BYTES
            while cut > 0 and buffer[cut - 1 : cut] == b"\\":
                cut -= 1  # never split a run of backslashes
            if cut <= 0:
                self._carry = buffer
                continue
            out, used = self._rewrite(buffer, cut)
            self._carry = buffer[used:]
            if out:
                return out

    @staticmethod
    def _rewrite(buffer: bytes, cut: int) -> tuple[bytes, int]:
        """(rewritten bytes, bytes of ``buffer`` consumed) for the escapes starting before ``cut``."""
        if b"\\" not in buffer:
            return buffer[:cut], cut
        parts, position, kept_until = [], 0, 0
        for match in _SURROGATE_ESCAPE_RE.finditer(buffer):
            if match.start() >= cut:
                break
            if match.start() < kept_until or len(match.group(1)) % 2 == 0:
                continue  # the low half of a kept pair, or an escaped backslash followed by "u"
            end = match.end()
            if _HIGH_SURROGATE.match(match.group(2)) and _LOW_SURROGATE_ESCAPE_RE.match(buffer, end):
                kept_until = end + len(_SENTINEL_ESCAPE) + 1  # a proper pair: keep both halves as they are
                continue
            u_at = match.start(2) - 1
            parts += [buffer[position:u_at], _SENTINEL_ESCAPE]
            position = end
        end_at = max(cut, position, kept_until)
        parts.append(buffer[position:end_at])
        return b"".join(parts), end_at


def _json_error(exc: Exception, reader: _BomSkippingReader) -> BadFile:
    if not reader.saw_content:
        return BadFile("EMPTY_FILE", "no JSON value in the object")
    message = str(exc)
    if "UTF8" in message or "utf-8" in message.lower():
        return BadFile("NOT_UTF8", "invalid UTF-8 bytes in the JSON text")
    first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return BadFile("NOT_JSON", first_line[:200])


def _json_reader(stream: BinaryIO) -> _BomSkippingReader:
    return _BomSkippingReader(_SurrogateGuard(_Decompressing(stream)))


def _events(stream: BinaryIO) -> Iterator[tuple[str, Any]]:
    reader = _json_reader(stream)
    try:
        # use_float as in pass 2: numbers beyond double/int64 must fail here (NOT_JSON), not in pass 2.
        yield from ijson.basic_parse(reader, buf_size=READ_BUFFER_BYTES, use_float=True)
    except ijson.JSONError as exc:
        raise _json_error(exc, reader) from None
    except UnicodeDecodeError:
        raise BadFile("NOT_UTF8", "invalid UTF-8 bytes in the JSON text") from None


_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


def scan_file(stream: BinaryIO, fmt: InputFormat = InputFormat.JSON) -> FileShape:
    """Pass 1: validate the whole file (see the module docstring) and count its rides; raises BadFile."""
    if fmt is InputFormat.NDJSON:
        return _scan_ndjson(stream)
    events = _events(stream)
    kind, _ = next(events)  # an empty file raises BadFile(EMPTY_FILE) from the parser error
    if kind not in _OPEN:
        for _ in events:  # still prove the rest is valid JSON (trailing garbage -> NOT_JSON)
            pass
        raise BadFile("WRONG_SHAPE", f"top-level JSON value is a {kind}, expected a list or an object")

    is_list = kind == "start_array"
    prefix = "item" if is_list else None
    ride_depth = 1 if is_list else 2  # containers open around a ride item
    depth, rides, in_rides, awaiting_list = 1, 0, is_list, False
    for event, value in events:
        if awaiting_list:
            if event != "start_array":
                raise BadFile("WRONG_SHAPE", f"{TRAVEL_DATA_KEY} is not a list")
            awaiting_list, in_rides, depth = False, True, depth + 1
            continue
        if in_rides and depth == ride_depth and event not in _CLOSE:
            rides += 1
            if rides > MAX_ITEMS_PER_FILE:
                raise BadFile("TOO_MANY_ITEMS", f"more than {MAX_ITEMS_PER_FILE:,} items in the ride list")
        if event in _OPEN:
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise BadFile("TOO_DEEP", f"nesting deeper than {MAX_NESTING_DEPTH} levels")
        elif event in _CLOSE:
            depth -= 1
            if depth < ride_depth:
                in_rides = False
        elif event == "map_key" and depth == 1 and value.lower() == TRAVEL_DATA_KEY:
            if prefix is not None:
                raise BadFile("WRONG_SHAPE", f"more than one {TRAVEL_DATA_KEY} key")
            prefix, awaiting_list = f"{value}.item", True
    if prefix is None:
        raise BadFile("WRONG_SHAPE", f"object without a {TRAVEL_DATA_KEY} list")
    return FileShape(format=InputFormat.JSON, prefix=prefix, rides=rides)


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number from 1, line bytes without the line end, or None when longer than MAX_LINE_BYTES)."""
    reader = _Decompressing(stream)
    head = reader.read(len(codecs.BOM_UTF8))
    buffer = head[len(codecs.BOM_UTF8) :] if head == codecs.BOM_UTF8 else head
    number, too_long = 1, False
    while True:
        newline = buffer.find(b"\n")
        if newline >= 0:
            too_long = too_long or newline > MAX_LINE_BYTES
            yield number, None if too_long else buffer[:newline].rstrip(b"\r")
            buffer, number, too_long = buffer[newline + 1 :], number + 1, False
            continue
        if len(buffer) > MAX_LINE_BYTES:
            buffer, too_long = b"", True  # drop what we have; keep skipping to the line end
        chunk = reader.read(READ_BUFFER_BYTES)
        if not chunk:
            if buffer or too_long:
                too_long = too_long or len(buffer) > MAX_LINE_BYTES
                yield number, None if too_long else buffer.rstrip(b"\r")
            return
        buffer += chunk


def _scan_ndjson(stream: BinaryIO) -> FileShape:
    rides = 0
    for _, line in _lines(stream):
        if line is None or line.strip(_WHITESPACE):
            rides += 1
            if rides > MAX_ITEMS_PER_FILE:
                raise BadFile("TOO_MANY_ITEMS", f"more than {MAX_ITEMS_PER_FILE:,} non-blank lines")
    if rides == 0:
        raise BadFile("EMPTY_FILE", "no non-blank line in the object")
    return FileShape(format=InputFormat.NDJSON, prefix="", rides=rides)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"bare {name} is not JSON")


def _excerpt(line: bytes) -> str:
    return line[:BAD_LINE_EXCERPT_BYTES].decode("utf-8", errors="backslashreplace")


def parse_ndjson_line(line: bytes) -> Any:
    """One NDJSON line as a JSON value, or a :class:`BadRecord` (never raises for bad input)."""
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return BadRecord("NOT_JSON_LINE", "invalid UTF-8 bytes in the line", _excerpt(line))
    except RecursionError:
        return BadRecord("TOO_DEEP", "the line nests too deeply to parse", _excerpt(line))
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers beyond the digit limit
        return BadRecord("NOT_JSON_LINE", str(exc).splitlines()[0][:200], _excerpt(line))


def iter_records(stream: BinaryIO, shape: FileShape) -> Iterator[Any]:
    """Pass 2: the ride items of a file that :func:`scan_file` accepted, one at a time; for NDJSON a bad
    line is yielded as a :class:`BadRecord`.

    Floats come back as float (not Decimal) and integers as int, as JSON gave them.
    """
    if shape.format is InputFormat.NDJSON:
        for number, line in _lines(stream):
            if line is None:
                yield BadRecord("NOT_JSON_LINE", f"line {number} is longer than {MAX_LINE_BYTES} bytes", "")
            elif line.strip(_WHITESPACE):
                yield parse_ndjson_line(line)
        return
    reader = _json_reader(stream)
    try:
        yield from ijson.items(reader, shape.prefix, use_float=True, buf_size=READ_BUFFER_BYTES)
    except ijson.JSONError as exc:  # the object changed between the passes
        raise _json_error(exc, reader) from None


def iter_rides(stream: BinaryIO, shape: FileShape) -> Iterator[Any]:
    """Alias of :func:`iter_records` (older name)."""
    return iter_records(stream, shape)
