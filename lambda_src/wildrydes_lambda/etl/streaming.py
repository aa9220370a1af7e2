"""Streaming a ride file without loading it: shape check, then ride-by-ride iteration.

A file is read twice. Pass 1 (:func:`scan_file`) walks the raw parser events (no objects built) to prove
the whole file is well-formed JSON of an accepted shape and to count its rides. Only then pass 2
(:func:`iter_rides`) yields the rides one at a time. Reading twice costs one more S3 GET but makes a
corrupt file (truncated upload, a bare NaN, bad UTF-8 in ride 900,000) an all-or-nothing event: the
whole file goes to quarantine with one reason instead of half of it being processed.

Accepted shapes: a bare list ``[ride, ...]`` or an object with a ``travel_data`` list (key matched
case-insensitively; other top-level keys ignored). A leading UTF-8 BOM is skipped. Memory use is flat in
the file size: the parser reads fixed-size buffers and only one ride is alive at a time.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson

TRAVEL_DATA_KEY = "travel_data"
# Bytes per read() call on the S3 body; small enough to keep memory flat, big enough for throughput.
READ_BUFFER_BYTES = 64 * 1024

# File-level reason codes (quarantine lines with record = null). Keep docs/design.md in sync.
FILE_REASONS = {
    "EMPTY_FILE": "the object has no bytes (or only whitespace)",
    "NOT_UTF8": "the bytes are not UTF-8 text (UTF-16/32 or invalid sequences)",
    "NOT_JSON": "the text is not valid JSON (syntax error, truncation, bare NaN/Infinity, numbers too big)",
    "WRONG_SHAPE": "valid JSON but neither a list of rides nor an object with a travel_data list",
}

_UTF16_32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_WHITESPACE = b" \t\r\n"


class BadFile(ValueError):
    """The whole file is rejected; ``reason`` is a key of :data:`FILE_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in FILE_REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FileShape:
    prefix: str  # ijson prefix of the ride items: "item" or "<travel_data key>.item"
    rides: int  # number of items in the ride list (any JSON type; validation judges them)


class _BomSkippingReader:
    """Wraps a binary stream (e.g. botocore StreamingBody): drops a leading UTF-8 BOM, refuses UTF-16/32,
    and remembers whether any non-whitespace byte went by (to tell an empty file from broken JSON)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        head = raw.read(4)
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


def _json_error(exc: Exception, reader: _BomSkippingReader) -> BadFile:
    if not reader.saw_content:
        return BadFile("EMPTY_FILE", "no JSON value in the object")
    message = str(exc)
    if "UTF8" in message or "utf-8" in message.lower():
        return BadFile("NOT_UTF8", "invalid UTF-8 bytes in the JSON text")
    first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return BadFile("NOT_JSON", first_line[:200])


def _events(stream: BinaryIO) -> Iterator[tuple[str, Any]]:
    reader = _BomSkippingReader(stream)
    try:
        # use_float as in pass 2: numbers beyond double/int64 must fail here (NOT_JSON), not in pass 2.
        yield from ijson.basic_parse(reader, buf_size=READ_BUFFER_BYTES, use_float=True)
    except ijson.JSONError as exc:
        raise _json_error(exc, reader) from None
    except UnicodeDecodeError:
        raise BadFile("NOT_UTF8", "invalid UTF-8 bytes in the JSON text") from None


_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


def scan_file(stream: BinaryIO) -> FileShape:
    """Pass 1: validate syntax and shape of the whole file and count its rides; raises BadFile."""
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
        if event in _OPEN:
            depth += 1
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
    return FileShape(prefix=prefix, rides=rides)


def iter_rides(stream: BinaryIO, shape: FileShape) -> Iterator[Any]:
    """Pass 2: the ride items of a file that :func:`scan_file` accepted, one at a time.

    Floats come back as float (not Decimal) and integers as int, as JSON gave them.
    """
    reader = _BomSkippingReader(stream)
    try:
        yield from ijson.items(reader, shape.prefix, use_float=True, buf_size=READ_BUFFER_BYTES)
    except ijson.JSONError as exc:  # the object changed between the passes
        raise _json_error(exc, reader) from None
