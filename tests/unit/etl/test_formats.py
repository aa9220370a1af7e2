"""Input formats (issue 13): JSON array / {"travel_data": [...]}, NDJSON, each optionally gzip; suffixes."""

import gzip
import io
import json
import tracemalloc

import pytest
from etl_fixtures import file_bytes, make_ride

from wildrydes_lambda.contracts.envelope import Source, decode_message
from wildrydes_lambda.etl import quarantine as q
from wildrydes_lambda.etl.ingestion import ingest_file
from wildrydes_lambda.etl.streaming import MAX_LINE_BYTES, BadFile, InputFormat, detect_format, scan_file

SOURCE = Source("bucket", "raw/rides.ndjson")
JSON, NDJSON = InputFormat.JSON, InputFormat.NDJSON


@pytest.mark.parametrize(
    "key, fmt",
    [
        ("raw/a.json", JSON),
        ("raw/a.JSON", JSON),
        ("raw/a.Json.GZ", JSON),
        ("raw/a.json.gz", JSON),
        ("raw/a.jsonl", NDJSON),
        ("raw/a.JSONL.gz", NDJSON),
        ("raw/a.ndjson", NDJSON),
        ("raw/a.NDJSON.Gz", NDJSON),
        ("raw/x.csv", None),
        ("raw/a.json.zip", None),
        ("raw/a.gz", None),
        ("raw/ajson", None),
        ("raw/a.txt", None),
    ],
)
def test_format_follows_the_suffix_in_any_case(key, fmt):
    assert detect_format(key) == fmt


def ndjson(records, blank_every=0, crlf=False) -> bytes:
    end = "\r\n" if crlf else "\n"
    lines = []
    for i, record in enumerate(records):
        lines.append(record if isinstance(record, str) else json.dumps(record))
        if blank_every and i % blank_every == 0:
            lines.append("   ")
    return (end.join(lines) + end).encode()


class Sink:
    def __init__(self):
        self.bodies, self.objects = [], {}

    def ingest(self, data: bytes, fmt: InputFormat):
        quarantine = q.QuarantineWriter(self.objects.__setitem__, "quarantine/", SOURCE)
        return ingest_file(SOURCE, lambda: io.BytesIO(data), self.bodies.append, quarantine, fmt=fmt)

    def rides(self):
        return sorted(
            (r for body in self.bodies for r in decode_message(body)["rides"]), key=lambda r: r["ride_id"]
        )

    def lines(self):
        return [json.loads(line) for body in self.objects.values() for line in body.decode().splitlines()]


GOOD = [make_ride(i, day=1 + i % 3) for i in range(12)]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "data, fmt",
    [
        (file_bytes(GOOD, wrapped=False), JSON),
        (file_bytes(GOOD), JSON),
        (json.dumps({"meta": 1, "TRAVEL_DATA": GOOD}).encode(), JSON),
        (json.dumps({"Travel_Data": GOOD}).encode(), JSON),
        (ndjson(GOOD), NDJSON),
        (ndjson(GOOD, blank_every=3, crlf=True), NDJSON),
        (b"\xef\xbb\xbf" + ndjson(GOOD)[:-1], NDJSON),  # BOM, no final newline
    ],
)
def test_every_format_gives_the_same_rides(data, fmt, compress):
    reference = Sink()
    reference.ingest(file_bytes(GOOD), JSON)
    sink = Sink()
    manifest = sink.ingest(gzip.compress(data) if compress else data, fmt)
    assert (manifest.rides_in, manifest.valid, manifest.file_reason) == (12, 12, None)
    assert sink.rides() == reference.rides() and manifest.format == fmt.value


def test_gzip_is_found_by_its_magic_bytes_whatever_the_format_says():
    sink = Sink()
    assert sink.ingest(gzip.compress(file_bytes(GOOD)), JSON).valid == 12


def test_a_bad_ndjson_line_is_one_quarantined_ride():
    deep = "[" * 100_000 + "]" * 100_000
    lines = [
        json.dumps(GOOD[0]),
        "{not json",
        json.dumps(GOOD[1]),
        "",
        b"\xff\xfe".decode("latin-1"),
        '{"Distance": NaN}',
        deep,
        json.dumps(GOOD[2]),
        "7",
        '{"a": 1} {"b": 2}',
        json.dumps(dict(GOOD[3], Name="a\ud800")),
    ]
    data = "\n".join(lines).encode("utf-8").replace("ÿþ".encode(), b"\xff\xfe")
    sink = Sink()
    manifest = sink.ingest(data, NDJSON)
    assert manifest.rides_in == 10 and manifest.valid == 3
    assert manifest.reasons == {
        "NOT_JSON_LINE": 4,
        "TOO_DEEP": 1,
        "NOT_AN_OBJECT": 1,
        "UNREPRESENTABLE_STRING": 1,
    }
    assert manifest.rides_in == manifest.valid + manifest.quarantined + manifest.duplicates
    by_index = {line["index"]: line for line in sink.lines()}
    assert by_index[1]["line_excerpt"] == "{not json" and by_index[1]["record"] is None
    assert by_index[5]["reason"] == "TOO_DEEP" and len(by_index[5]["line_excerpt"]) == 1000
    assert by_index[9]["record"]["Name"] == "a\ud800"  # kept exactly (escaped in the quarantine line)


def test_an_overlong_ndjson_line_is_skipped_without_buffering_it():
    long_line = '{"Name": "' + "x" * (MAX_LINE_BYTES + 10) + '"}'
    data = ndjson([GOOD[0], long_line, GOOD[1]])
    sink = Sink()
    manifest = sink.ingest(data, NDJSON)
    assert (manifest.rides_in, manifest.valid, manifest.reasons) == (3, 2, {"NOT_JSON_LINE": 1})


@pytest.mark.parametrize(
    "data, fmt, reason",
    [
        (gzip.compress(file_bytes(GOOD))[:-20], JSON, "BAD_GZIP"),  # truncated upload
        (gzip.compress(ndjson(GOOD))[:-20], NDJSON, "BAD_GZIP"),
        (b"\x1f\x8bnot gzip at all", NDJSON, "BAD_GZIP"),
        (b"\n \n\r\n", NDJSON, "EMPTY_FILE"),
        (gzip.compress(b""), JSON, "EMPTY_FILE"),
    ],
)
def test_whole_file_failures_are_found_before_anything_is_sent(data, fmt, reason):
    with pytest.raises(BadFile) as info:
        scan_file(io.BytesIO(data), fmt)
    assert info.value.reason == reason
    sink = Sink()
    assert sink.ingest(data, fmt).file_reason == reason and sink.bodies == []


def _peak(n: int, fmt: InputFormat, compress: bool) -> int:
    records = [make_ride(i, day=1 + i % 4) for i in range(n)]
    data = ndjson(records) if fmt is NDJSON else file_bytes(records)
    data = gzip.compress(data) if compress else data
    quarantine = q.QuarantineWriter(lambda k, b: None, "quarantine/", SOURCE)
    tracemalloc.start()
    try:
        manifest = ingest_file(SOURCE, lambda: io.BytesIO(data), lambda body: None, quarantine, fmt=fmt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert manifest.valid == n
    return peak


@pytest.mark.parametrize("fmt, compress", [(NDJSON, False), (NDJSON, True), (JSON, True)])
def test_memory_is_flat_in_file_size_for_every_format(fmt, compress):
    # 3,000 and 12,000 rides leave the dedupe table (the one thing allowed to grow) at 8,192 and 32,768
    # slots: 1.5 x 16 B x 24,576 = 0.6 MB of allowed growth; a buffered file would add ~3 MB (~250 B/ride).
    small, large = _peak(3_000, fmt, compress), _peak(12_000, fmt, compress)
    assert large - small < 1_000_000, (small, large)
