"""Streaming ride files (every bad-file kind) and the in-memory ingest flow, incl. flat memory."""

import io
import json
import tracemalloc

import pytest
from etl_fixtures import GeneratedRideFile, file_bytes, make_ride

from wildrydes_lambda.contracts.envelope import Source, decode_message
from wildrydes_lambda.etl.dedupe import RideTable, Seen
from wildrydes_lambda.etl.grouping import DEFAULT_RIDES_PER_MESSAGE
from wildrydes_lambda.etl.ingestion import ingest_file
from wildrydes_lambda.etl.quarantine import QUARANTINE_LINES_PER_OBJECT, QuarantineWriter, source_key_hash
from wildrydes_lambda.etl.rides import validate_ride
from wildrydes_lambda.etl.streaming import BadFile, iter_rides, scan_file

SOURCE = Source("bucket", "raw/test.json")


def rides_of(data: bytes):
    shape = scan_file(io.BytesIO(data))
    return shape, list(iter_rides(io.BytesIO(data), shape))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "EMPTY_FILE"),
        (b" \n\t ", "EMPTY_FILE"),
        (b"\xef\xbb\xbf", "EMPTY_FILE"),
        (b"Name,StatusTime\nA,2017", "NOT_JSON"),
        (b'{"travel_data": [{"Name": "A"}', "NOT_JSON"),  # truncated upload
        (b'[{"Distance": NaN}]', "NOT_JSON"),  # bare NaN is not JSON
        (b'[{"Distance": Infinity}]', "NOT_JSON"),
        (b"[1] [2]", "NOT_JSON"),
        (b'[{"Name": "\xff\xfe"}]', "NOT_UTF8"),
        ('[{"Name": "x"}]'.encode("utf-16"), "NOT_UTF8"),
        (b"42", "WRONG_SHAPE"),
        (b'"rides"', "WRONG_SHAPE"),
        (b"null", "WRONG_SHAPE"),
        (b'{"rides": []}', "WRONG_SHAPE"),
        (b'{"travel_data": {"Name": "A"}}', "WRONG_SHAPE"),
        (b'{"travel_data": [], "TRAVEL_DATA": []}', "WRONG_SHAPE"),
    ],
)
def test_bad_files_are_rejected_whole(data, reason):
    with pytest.raises(BadFile) as info:
        scan_file(io.BytesIO(data))
    assert info.value.reason == reason


def test_accepted_shapes():
    rides = [make_ride(i) for i in range(3)]
    assert rides_of(file_bytes(rides))[1] == rides
    assert rides_of(file_bytes(rides, wrapped=False))[1] == rides
    assert rides_of(b"\xef\xbb\xbf" + file_bytes(rides))[1] == rides  # UTF-8 BOM
    shape, items = rides_of(b'{"meta": {"travel_data": 1}, "Travel_Data": [[1, 2], {"a": [3]}, 5], "x": [9]}')
    assert shape.rides == 3 and items == [[1, 2], {"a": [3]}, 5]  # nested lists are items (judged later)


def test_numbers_keep_their_json_type():
    _, [item] = rides_of(b'[{"a": 1, "b": 1.5, "c": 2.0}]')
    assert item == {"a": 1, "b": 1.5, "c": 2.0} and type(item["a"]) is int and type(item["c"]) is float


class Sink:
    def __init__(self):
        self.bodies, self.objects = [], {}

    def put(self, key, body):
        self.objects[key] = body

    def ingest(self, data: bytes, rides_per_message=200):
        quarantine = QuarantineWriter(self.put, "quarantine/", SOURCE)
        return ingest_file(
            SOURCE, lambda: io.BytesIO(data), self.bodies.append, quarantine, rides_per_message
        )

    def quarantine_lines(self):
        return [json.loads(line) for body in self.objects.values() for line in body.decode().splitlines()]

    def sent_rides(self):
        return [r for body in self.bodies for r in decode_message(body)["rides"]]


def test_ingest_counts_quarantines_and_dedupes():
    good = [make_ride(i, day=1 + i % 3) for i in range(10)]
    bad = [
        make_ride(100, Distance=-1),
        make_ride(101, StatusTime="2017-13-01 00:00:00"),
        7,
        [make_ride(102)],
        {k.lower(): v for k, v in make_ride(103).items()} | {"latitude": None},
    ]
    same_time_other_rider = make_ride(0, Name="Someone else")  # same timestamp as ride 0, kept
    records = good + bad + [good[0], dict(good[1]), same_time_other_rider]
    sink = Sink()
    manifest = sink.ingest(file_bytes(records), rides_per_message=4)
    assert manifest.rides_in == len(records) == 18
    assert (manifest.valid, manifest.quarantined, manifest.duplicates) == (11, 5, 2)
    assert manifest.rides_in == manifest.valid + manifest.quarantined + manifest.duplicates
    assert manifest.reasons == {
        "IMPOSSIBLE_TIMESTAMP": 1,
        "NON_POSITIVE_DISTANCE": 1,
        "NOT_AN_OBJECT": 2,
        "NULL_FIELD": 1,
    }
    sent = sink.sent_rides()
    assert len(sent) == len({r["ride_id"] for r in sent}) == manifest.valid
    assert manifest.messages == len(sink.bodies)
    lines = sink.quarantine_lines()
    assert [line["index"] for line in lines] == [10, 11, 12, 13, 14]
    assert lines[2]["record"] == 7 and lines[0]["record"] == bad[0]
    assert all(key.startswith(f"quarantine/{source_key_hash(SOURCE.key)}/") for key in sink.objects)


def test_ingest_is_deterministic():
    data = file_bytes([make_ride(i, day=1 + i % 5) for i in range(300)] + [make_ride(1, Distance=0)])
    first, second = Sink(), Sink()
    assert first.ingest(data) == second.ingest(data)
    assert first.bodies == second.bodies and first.objects == second.objects


def test_not_json_file_is_quarantined_whole():
    sink = Sink()
    manifest = sink.ingest(b"\x00\x01garbage")
    assert manifest.file_reason == "NOT_JSON" and manifest.rides_in == 0 and sink.bodies == []
    [line] = sink.quarantine_lines()
    assert line["record"] is None and line["raw_object"] == SOURCE.key and line["reason"] == "NOT_JSON"


def test_corruption_at_the_end_sends_nothing():
    data = file_bytes([make_ride(i) for i in range(50)])[:-3]  # truncated upload
    sink = Sink()
    assert sink.ingest(data).file_reason == "NOT_JSON"
    assert sink.bodies == []


def test_ride_table():
    ids = RideTable()
    rides = [validate_ride(make_ride(i))["ride_id"] for i in range(5000)]
    assert all(ids.add(r, 7) is Seen.NEW for r in rides)
    assert all(ids.add(r, 7) is Seen.SAME for r in rides[::7])
    assert all(ids.add(r, 8) is Seen.CONFLICT for r in rides[::11])
    assert len(ids) == 5000 and rides[123] in ids and "f" * 32 not in ids
    assert ids.nbytes <= 16 * 4 * 5000  # grown to <= 4 slots of 16 bytes per id


# Few dates, so the per-month message buffers (bounded by months x RIDES_PER_MESSAGE, not by file size)
# are already full in the small file and the comparison isolates growth with the file size.
MEMORY_TEST_DAYS = 4


def _peak_ingest_bytes(n: int) -> tuple[int, int]:
    counted = {"rides": 0}

    def send(body):  # count and drop, like SQS would take the message away
        counted["rides"] += len(decode_message(body)["rides"])

    quarantine = QuarantineWriter(lambda k, b: None, "quarantine/", SOURCE)
    tracemalloc.start()
    try:
        manifest = ingest_file(SOURCE, lambda: GeneratedRideFile(n, days=MEMORY_TEST_DAYS), send, quarantine)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert manifest.valid == counted["rides"] == n
    return peak, manifest.valid


def _table_bytes(rides: int) -> int:
    table = RideTable()
    for i in range(rides):
        table.add(f"{i * 2654435761 % 2**64:016x}" + "0" * 16, 1)
    return table.nbytes


def test_memory_is_flat_in_file_size():
    # The small file already fills its month buffer (> DEFAULT_RIDES_PER_MESSAGE rides), so what grows
    # between the two is what grows with the file.
    small, large = 3 * DEFAULT_RIDES_PER_MESSAGE, 12 * DEFAULT_RIDES_PER_MESSAGE
    small_peak, _ = _peak_ingest_bytes(small)
    large_peak, _ = _peak_ingest_bytes(large)
    # Only the dedupe table may grow with the kept rides (by design, 16 bytes per slot; while it doubles,
    # the old half-size table is alive too: peak 1.5x); everything else must stay flat. json.load would
    # need ~1 KB per ride, a set of id strings ~100 B per ride.
    table_growth = 1.5 * (_table_bytes(large) - _table_bytes(small))
    other_growth_per_ride = (large_peak - small_peak - table_growth) / (large - small)
    assert other_growth_per_ride < 4, (small_peak, large_peak, table_growth)
    assert large_peak < 16 * 1024 * 1024


def test_quarantine_objects_hold_at_most_their_line_count_in_order():
    """quarantine/<hash>/00000.jsonl, 00001.jsonl, ...: at most QUARANTINE_LINES_PER_OBJECT lines each,
    numbered in ride order (so a re-ingest overwrites the same objects)."""
    per_object = QUARANTINE_LINES_PER_OBJECT
    bad = 2 * per_object + 7
    sink = Sink()
    manifest = sink.ingest(file_bytes([0] * bad))
    assert manifest.quarantined == bad
    base = f"quarantine/{source_key_hash(SOURCE.key)}/"
    assert sorted(sink.objects) == [f"{base}{n:05d}.jsonl" for n in range(3)]
    counts = [len(sink.objects[f"{base}{n:05d}.jsonl"].splitlines()) for n in range(3)]
    assert counts == [per_object, per_object, 7]
    assert [line["index"] for line in sink.quarantine_lines()] == list(range(bad))
