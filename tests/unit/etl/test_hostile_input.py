"""Ingest against inputs built to hurt (issue 14): nothing crashes, nothing is mangled, memory stays flat."""

import io
import json
import tracemalloc

import duckdb
import pytest
from etl_fixtures import file_bytes, make_ride

from wildrydes_dev.opencsv import opencsv_parse_line
from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS
from wildrydes_lambda.contracts.envelope import Source, decode_message
from wildrydes_lambda.etl import ingestion, streaming
from wildrydes_lambda.etl import quarantine as q
from wildrydes_lambda.etl.csv_output import lineage_cells, render_csv
from wildrydes_lambda.etl.enrichment import enrich_ride
from wildrydes_lambda.etl.ingestion import S3_MAX_KEY_BYTES, ingest_file, manifest_key
from wildrydes_lambda.etl.rides import validate_ride
from wildrydes_lambda.etl.streaming import MAX_NESTING_DEPTH, BadFile, InputFormat, _SurrogateGuard, scan_file

SOURCE = Source("bucket", "raw/hostile.json")


class Sink:
    def __init__(self):
        self.bodies, self.objects = [], {}

    def ingest(self, data: bytes, **kwargs):
        quarantine = q.QuarantineWriter(self.objects.__setitem__, "quarantine/", SOURCE)
        return ingest_file(SOURCE, lambda: io.BytesIO(data), self.bodies.append, quarantine, **kwargs)

    def lines(self):
        return [json.loads(line) for body in self.objects.values() for line in body.decode().splitlines()]

    def rides(self):
        return [r for body in self.bodies for r in decode_message(body)["rides"]]


def assert_invariant(manifest):
    assert manifest.rides_in == manifest.valid + manifest.quarantined + manifest.duplicates


def test_nesting_bomb_is_rejected_before_anything_is_sent():
    depth = 14_000  # the 28 KB file that needed ~484 MB in pass 2
    data = b"[" + file_bytes([make_ride(1)], wrapped=False)[1:-1] + b"," + b"[" * depth + b"]" * depth + b"]"
    assert len(data) < 29_000
    sink = Sink()
    tracemalloc.start()
    try:
        manifest = sink.ingest(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert manifest.file_reason == "TOO_DEEP" and sink.bodies == [] and manifest.rides_in == 0
    assert peak < 8 * 1024 * 1024
    [line] = sink.lines()
    assert line["reason"] == "TOO_DEEP" and line["record"] is None


def test_depth_at_the_cap_is_read_and_one_past_it_is_not():
    def nested(levels):  # a list of rides whose second item nests `levels` containers in all
        inner = levels - 1
        return b"[" + json.dumps(make_ride(1)).encode() + b"," + b"[" * inner + b"]" * inner + b"]"

    assert scan_file(io.BytesIO(nested(MAX_NESTING_DEPTH))).rides == 2
    with pytest.raises(Exception, match="TOO_DEEP"):
        scan_file(io.BytesIO(nested(MAX_NESTING_DEPTH + 1)))


def test_deep_invalid_record_between_good_rides_is_one_quarantined_ride():
    deep = {"Name": "x"}
    for _ in range(1000):
        deep = {"Name": deep}
    data = file_bytes([make_ride(1), deep, make_ride(2), [[[[[[]]]]]] * 3, make_ride(3)])
    sink = Sink()
    manifest = sink.ingest(data)
    assert (manifest.rides_in, manifest.valid, manifest.quarantined) == (5, 3, 2)
    assert_invariant(manifest)
    lines = sink.lines()
    assert [line["index"] for line in lines] == [1, 3]
    assert lines[0]["reason"] == "MISSING_FIELD" and lines[0]["record"] == deep  # kept whole


@pytest.mark.parametrize("error, reason", [(RecursionError, "TOO_DEEP"), (MemoryError, "RECORD_TOO_LARGE")])
def test_a_failure_on_one_record_quarantines_only_it(monkeypatch, error, reason):
    real = validate_ride

    def flaky(record):
        if isinstance(record, dict) and record.get("Name") == "boom":
            raise error()
        return real(record)

    monkeypatch.setattr(ingestion, "validate_ride", flaky)
    sink = Sink()
    manifest = sink.ingest(file_bytes([make_ride(1), make_ride(2, Name="boom"), make_ride(3)]))
    assert (manifest.valid, manifest.reasons) == (2, {reason: 1})
    assert_invariant(manifest)
    assert sink.lines()[0]["record"]["Name"] == "boom"


def test_a_record_the_encoder_cannot_write_is_quarantined_without_it():
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    line = json.loads(q.ride_line("TOO_DEEP", "d", SOURCE, 4, deep))
    assert line["record"] is None and "RecursionError" in line["record_omitted"] and line["index"] == 4


def test_dedupe_memory_follows_kept_rides_not_the_item_count():
    """[0,0,...]: every item is quarantined, nothing is kept, so nothing grows (the old table reserved
    16 bytes per claimed item up front: 268 MB for 10M zeros)."""
    zeros = 200_000
    data = b"[" + b"0," * (zeros - 1) + b"0]"
    quarantine = q.QuarantineWriter(lambda key, body: None, "quarantine/", SOURCE)
    sent: list = []
    tracemalloc.start()
    try:
        manifest = ingest_file(SOURCE, lambda: io.BytesIO(data), sent.append, quarantine)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (manifest.rides_in, manifest.quarantined, manifest.reasons) == (
        zeros,
        zeros,
        {"NOT_AN_OBJECT": zeros},
    )
    assert sent == [] and peak < 4 * 1024 * 1024


@pytest.mark.parametrize("fmt", [InputFormat.JSON, InputFormat.NDJSON])
def test_item_cap_rejects_the_file_in_pass_one_and_the_cap_itself_is_read(monkeypatch, fmt):
    cap = 50
    monkeypatch.setattr(streaming, "MAX_ITEMS_PER_FILE", cap)

    def data(items: int) -> bytes:
        return b"[" + b",".join([b"0"] * items) + b"]" if fmt is InputFormat.JSON else b"0\n" * items

    assert scan_file(io.BytesIO(data(cap)), fmt).rides == cap
    with pytest.raises(BadFile) as raised:
        scan_file(io.BytesIO(data(cap + 1)), fmt)
    assert raised.value.reason == "TOO_MANY_ITEMS"
    sink = Sink()
    quarantine = q.QuarantineWriter(sink.objects.__setitem__, "quarantine/", SOURCE)
    manifest = ingest_file(SOURCE, lambda: io.BytesIO(data(cap + 1)), sink.bodies.append, quarantine, fmt=fmt)
    assert manifest.file_reason == "TOO_MANY_ITEMS" and manifest.rides_in == 0 and sink.bodies == []
    [line] = sink.lines()
    assert line["reason"] == "TOO_MANY_ITEMS" and line["record"] is None


def test_ten_million_zeros_stop_at_the_item_cap_with_flat_memory():
    """The 20 MB file of 10M zeros: pass 1 stops after MAX_ITEMS_PER_FILE items, nothing is sent."""
    data = b"[" + b"0," * (10_000_000 - 1) + b"0]"
    assert len(data) == 20_000_001
    sink = Sink()
    tracemalloc.start()
    try:
        manifest = sink.ingest(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert manifest.file_reason == "TOO_MANY_ITEMS" and sink.bodies == [] and manifest.rides_in == 0
    assert peak < 4 * 1024 * 1024


def test_repeated_ride_with_other_values_is_a_conflict_with_its_full_record():
    first = make_ride(1)
    corrected = dict(first, Distance=first["Distance"] + 1)
    sink = Sink()
    manifest = sink.ingest(file_bytes([first, dict(first), corrected, make_ride(2)]))
    assert (manifest.valid, manifest.duplicates, manifest.quarantined) == (2, 1, 1)
    assert manifest.reasons == {"DUPLICATE_CONFLICT": 1}
    assert_invariant(manifest)
    [line] = sink.lines()
    assert line["record"] == corrected and line["index"] == 2
    assert [r["distance"] for r in sink.rides() if r["name"] == first["Name"]] == [
        first["Distance"]
    ]  # first kept


def test_lone_surrogates_quarantine_one_ride_and_pairs_are_kept_exactly():
    # Names as JSON escapes, verbatim in the file: lone high, lone low, a pair, an escaped backslash
    # followed by "ud800" (plain text), a high at the end, a high before a pair.
    names = [
        '"\\ud800x"',
        '"\\udc00"',
        '"\\ud83d\\ude00 ok"',
        '"esc\\\\ud800"',
        '"hi\\ud83d"',
        '"\\ud83d\\ud83d\\ude00"',
    ]
    rides = []
    for i, name in enumerate(names):
        body = json.dumps({k: v for k, v in make_ride(i).items() if k != "Name"})
        rides.append('{"Name": ' + name + ", " + body[1:])
    data = ("[" + ",".join(rides) + "]").encode()
    sink = Sink()
    manifest = sink.ingest(data)
    assert manifest.reasons == {"UNREPRESENTABLE_STRING": 4} and manifest.valid == 2
    assert_invariant(manifest)
    assert sorted(r["name"] for r in sink.rides()) == ["esc\\ud800", "\U0001f600 ok"]
    assert [line["index"] for line in sink.lines()] == [0, 1, 4, 5]


class Trickle:
    """A stream that returns at most `step` bytes per read, to cut escapes at every position."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._at = data, step, 0

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._at : self._at + n]
        self._at += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 11, 13])
def test_surrogate_guard_is_independent_of_read_boundaries(step):
    text = b'["\\\\\\ud800", "\\\\\\\\ud800", "\\ud83d\\ude00\\udc00", "a\\ud83d", "\\ud83d"]'
    whole = _SurrogateGuard(io.BytesIO(text))
    expected = b"".join(iter(lambda: whole.read(65536), b""))
    guard = _SurrogateGuard(Trickle(text, step))
    assert b"".join(iter(lambda: guard.read(4), b"")) == expected
    assert json.loads(expected) == ["\\\ufdd0", "\\\\ud800", "\U0001f600\ufdd0", "a\ufdd0", "\ufdd0"]


def test_huge_distance_string_is_quarantined():
    sink = Sink()
    manifest = sink.ingest(file_bytes([make_ride(1, Distance="1e308"), make_ride(2)]))
    assert manifest.reasons == {"VALUE_TOO_LARGE": 1} and manifest.valid == 1


def test_manifest_key_never_exceeds_the_s3_limit():
    short = "raw/" + "k" * 100 + ".json"
    assert manifest_key("manifests/", short) == f"manifests/{short}.json"
    fits = "raw/" + "k" * (1009 - len("raw/.json")) + ".json"  # + "manifests/" + ".json" = exactly 1,024
    assert manifest_key("manifests/", fits) == f"manifests/{fits}.json"
    for length in (1010, 1015, 1024):
        key = "raw/" + "k" * (length - len("raw/") - len(".json")) + ".json"
        assert len(key.encode()) == length
        made = manifest_key("manifests/", key)
        assert len(made.encode()) <= S3_MAX_KEY_BYTES
        assert made == f"manifests/_by-key-hash/{q.source_key_hash(key)}.json"
    multibyte = "raw/" + "é" * 500 + ".json"  # 1,009 bytes, 509 characters
    assert len(manifest_key("manifests/", multibyte).encode()) <= S3_MAX_KEY_BYTES


# ------------------------------------------------------------------ processed CSV vs the SerDe and DuckDB
HOSTILE_NAMES = [
    "plain",
    "back\\slash\\",
    "\\",
    "\\\\",
    'quo"te',
    '"',
    '""',
    'a\\"b',
    "com,ma",
    ",",
    "=1+1",
    '=HYPERLINK("x")',
    " padded ",
    "'single'",
    "ünï\U0001f600",
    'end\\",x',
]


def test_processed_csv_round_trips_every_name_through_the_serde_and_duckdb(tmp_path):
    rides = [enrich_ride(validate_ride(make_ride(i, Name=name))) for i, name in enumerate(HOSTILE_NAMES)]
    data = render_csv(rides, lineage_cells(Source("b", "raw/x.json", "v1", "2026-01-01T00:00:00.000000Z")))
    lines = data.decode().splitlines()
    assert len(lines) == len(rides) + 1  # no name adds a line
    name_at = CSV_COLUMNS.index("name")
    for ride, line in zip(rides, lines[1:], strict=True):
        cells = opencsv_parse_line(line)
        assert len(cells) == len(CSV_COLUMNS) and cells[name_at] == ride["name"]
        assert cells[CSV_COLUMNS.index("ride_id")] == ride["ride_id"]
    path = tmp_path / "part.csv"
    path.write_bytes(data)
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in CSV_COLUMNS)
    got = duckdb.sql(
        f"SELECT name, ride_id FROM read_csv('{path}', header = true, auto_detect = false, quote = '\"', "
        f"escape = '\\', columns = {{{columns}}})"
    ).fetchall()
    assert got == [(r["name"], r["ride_id"]) for r in rides]
