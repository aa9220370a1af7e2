"""aws.s3.ResumingBody: a GetObject stream that breaks mid-body resumes at its offset, pinned to the ETag."""

from __future__ import annotations

import pytest
import urllib3.exceptions

from wildrydes_lambda.aws.s3 import MAX_STREAM_RESUMES_WITHOUT_PROGRESS, ResumingBody

DATA = bytes(range(256)) * 40  # 10,240 bytes
ETAG = '"abc"'


class BreakingStream:
    """Serves ``data`` and raises a connection reset once ``break_after`` bytes were read."""

    def __init__(self, data: bytes, break_after: int | None) -> None:
        self._data, self._break_after, self._at = data, break_after, 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._break_after is not None and self._at >= self._break_after:
            raise urllib3.exceptions.ProtocolError("Connection broken: ConnectionResetError(104)")
        end = len(self._data) if size < 0 else self._at + size
        if self._break_after is not None:
            end = min(end, self._break_after)
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeS3:
    """Ranged GETs of DATA; each response breaks after ``break_every`` bytes (None = never)."""

    def __init__(self, break_every: int | None, etag: str = ETAG) -> None:
        self.break_every, self.etag, self.calls = break_every, etag, []

    def get(self, **kw) -> dict:
        self.calls.append(kw)
        if kw.get("IfMatch") not in (None, self.etag):
            raise RuntimeError("PreconditionFailed")
        start = int(kw["Range"].removeprefix("bytes=").rstrip("-")) if "Range" in kw else 0
        return {"Body": BreakingStream(DATA[start:], self.break_every), "ETag": self.etag}


def read_all(body: ResumingBody, size: int) -> bytes:
    out = bytearray()
    while chunk := body.read(size):
        out += chunk
    return bytes(out)


def test_every_byte_exactly_once_across_resets():
    s3 = FakeS3(break_every=1000)
    first = s3.get()
    body = ResumingBody(s3.get, ETAG, first["Body"], len(DATA))
    assert read_all(body, 300) == DATA
    assert body.resumes == len(DATA) // 1000
    ranges = [call["Range"] for call in s3.calls[1:]]
    assert ranges[0] == "bytes=1000-" and ranges[1] == "bytes=2000-"
    assert all(call["IfMatch"] == ETAG for call in s3.calls[1:])


def test_unbroken_stream_makes_no_extra_request():
    s3 = FakeS3(break_every=None)
    body = ResumingBody(s3.get, ETAG, s3.get()["Body"], len(DATA))
    assert read_all(body, 4096) == DATA
    assert body.resumes == 0 and len(s3.calls) == 1


def test_a_changed_object_fails_instead_of_mixing_versions():
    s3 = FakeS3(break_every=1000)
    body = ResumingBody(s3.get, ETAG, s3.get()["Body"], len(DATA))
    s3.etag = '"other"'  # overwritten between the GET and the resume
    with pytest.raises(RuntimeError, match="PreconditionFailed"):
        read_all(body, 500)


def test_gives_up_when_resumes_make_no_progress():
    s3 = FakeS3(break_every=0)  # every response breaks before its first byte
    body = ResumingBody(s3.get, ETAG, s3.get()["Body"], len(DATA))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        body.read(100)
    assert body.resumes == MAX_STREAM_RESUMES_WITHOUT_PROGRESS


def test_a_reset_after_the_last_byte_needs_no_ranged_get():
    s3 = FakeS3(break_every=len(DATA))
    body = ResumingBody(s3.get, ETAG, s3.get()["Body"], len(DATA))
    assert read_all(body, 4096) == DATA
    assert body.read(10) == b"" and len(s3.calls) == 1
