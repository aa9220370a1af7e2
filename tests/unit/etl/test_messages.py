"""Envelopes (with lineage) and the per-month grouping and packing of rides into messages."""

import base64
import json
import random
import string
import zlib

import pytest
from etl_fixtures import make_ride

from wildrydes_lambda.contracts import envelope
from wildrydes_lambda.contracts import envelope as envelope_mod
from wildrydes_lambda.contracts.envelope import (
    BadMessage,
    Lineage,
    Source,
    decode_message,
    encode_message,
    lineage_of,
    normalise_event_time,
)
from wildrydes_lambda.etl import grouping as messages
from wildrydes_lambda.etl import naming
from wildrydes_lambda.etl.grouping import MessageGrouper
from wildrydes_lambda.etl.rides import validate_ride

SOURCE = Source("bucket", "raw/x.json")


def rides(n, days=3):
    return [validate_ride(make_ride(i, day=1 + i % days)) for i in range(n)]


def group_all(items, **kwargs):
    grouper = MessageGrouper(SOURCE, **kwargs)
    bodies = [body for ride in items for body in grouper.add(ride)]
    return bodies + list(grouper.finish())


def test_envelope_round_trip():
    body = encode_message(SOURCE, 7, rides(2))
    envelope = decode_message(body)
    assert envelope["v"] == 2 and envelope["source"] == {"bucket": "bucket", "key": "raw/x.json", "chunk": 7}
    assert envelope["rides"] == rides(2)
    # The rides travel compressed: a plain v1 body of the same rides is longer.
    many = rides(500)
    head = {"bucket": "bucket", "key": "raw/x.json", "chunk": 7}
    plain = json.dumps({"v": 1, "source": head, "rides": many})
    assert decode_message(plain)["rides"] == decode_message(encode_message(SOURCE, 7, many))["rides"] == many
    assert len(encode_message(SOURCE, 7, many)) * 2 < len(plain)


def test_envelope_carries_the_lineage_and_old_envelopes_still_decode():
    source = Source("bucket", "raw/x.json", version_id="3HL4kq+v", ingested_at="2026-12-07T20:39:39.123000Z")
    envelope = decode_message(encode_message(source, 3, rides(1), generation="0badcafe"))
    assert envelope["source"] == {
        "bucket": "bucket",
        "key": "raw/x.json",
        "chunk": 3,
        "version_id": "3HL4kq+v",
        "ingested_at": "2026-12-07T20:39:39.123000Z",
        "generation": "0badcafe",
    }
    assert lineage_of(envelope) == Lineage(source, 3, "0badcafe")
    # A message in flight across the deploy that added lineage: defaults that lose against any newer row.
    old = decode_message('{"v":1,"source":{"bucket":"b","key":"raw/x.json","chunk":2},"rides":[]}')
    assert lineage_of(old) == Lineage(
        Source("b", "raw/x.json", None, envelope_mod.LEGACY_INGESTED_AT), 2, envelope_mod.LEGACY_GENERATION
    )
    assert envelope_mod.LEGACY_INGESTED_AT < "2000"


@pytest.mark.parametrize(
    "event_time, expected",
    [
        ("2026-12-07T20:39:39.123Z", "2026-12-07T20:39:39.123000Z"),
        ("2026-12-07T21:39:39+01:00", "2026-12-07T20:39:39.000000Z"),
        ("2026-12-07T20:39:39.123456Z", "2026-12-07T20:39:39.123456Z"),
    ],
)
def test_event_times_are_normalised_to_sortable_utc_text(event_time, expected):
    assert normalise_event_time(event_time) == expected
    assert len(expected) == envelope_mod.INGESTED_AT_CHARS


def test_event_time_without_zone_is_refused():
    with pytest.raises(ValueError):
        normalise_event_time("2026-12-07T20:39:39")


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"v": 2, "source": {"key": "k"}, "rides": []}',
        '{"v": 1, "rides": []}',
        '{"v": 1, "source": {"key": "k"}, "rides": [1]}',
        '{"v": 1, "source": {"key": "k", "version_id": 7}, "rides": []}',
        '{"v": 1, "source": {"key": "k", "chunk": "7"}, "rides": []}',
    ],
)
def test_bad_envelopes_are_rejected(body):
    with pytest.raises(BadMessage):
        decode_message(body)


def test_full_messages_hold_one_month_at_most_n_rides_and_every_ride_once():
    items = rides(1000, days=70)  # 2017-06-01 .. 2017-08-09: three months
    bodies = group_all(items, rides_per_message=50)
    seen = []
    for chunk, body in enumerate(bodies):
        envelope = decode_message(body)
        assert envelope["source"]["chunk"] == chunk
        assert 1 <= len(envelope["rides"]) <= 50
        if len(envelope["rides"]) == 50:  # a full month buffer: one month
            assert len({r["statustime"][:7] for r in envelope["rides"]}) == 1
        seen += [r["ride_id"] for r in envelope["rides"]]
    assert sorted(seen) == sorted(r["ride_id"] for r in items)


def month_sets(bodies):
    return [sorted({r["statustime"][:7] for r in decode_message(b)["rides"]}) for b in bodies]


def test_sparse_months_are_packed_whole_in_month_order():
    """The partial month buffers left at the end share messages: whole months, in month order, so the
    writer's objects (one per message and month) are one per month."""
    items = rides(600, days=300)  # ten months, ~60 rides each
    bodies = group_all(items, rides_per_message=200)
    assert [len(decode_message(b)["rides"]) for b in bodies] == [184, 182, 180, 54]
    months = month_sets(bodies)
    flat = [m for ms in months for m in ms]
    assert flat == sorted(flat) and len(flat) == len(set(flat)) == 10  # no month split between messages
    assert sum(len(decode_message(b)["rides"]) for b in bodies) == 600


def test_a_month_that_fills_a_message_goes_alone_and_its_rest_is_packed():
    dense = [validate_ride(make_ride(i, day=1)) for i in range(250)]  # June: 250 rides
    sparse = [validate_ride(make_ride(1000 + i, day=40)) for i in range(30)]  # July: 30 rides
    bodies = group_all(dense + sparse, rides_per_message=200)
    assert [len(decode_message(b)["rides"]) for b in bodies] == [200, 80]
    assert month_sets(bodies) == [["2017-06"], ["2017-06", "2017-07"]]


def test_the_generation_names_the_grouping():
    assert messages.grouping_generation(200) == messages.grouping_generation(200)
    assert messages.grouping_generation(200) != messages.grouping_generation(201)
    grouper = MessageGrouper(SOURCE, rides_per_message=37)
    [body] = list(grouper.add(rides(1)[0])) + list(grouper.finish())
    assert decode_message(body)["source"]["generation"] == messages.grouping_generation(37)
    assert grouper.months == ["2017-06"]


def test_grouping_is_deterministic():
    items = rides(500, days=5)
    assert group_all(items, rides_per_message=37) == group_all(items, rides_per_message=37)


def test_baseline_mode_is_one_ride_per_message():
    assert len(group_all(rides(30), rides_per_message=1)) == 30


def test_messages_stay_under_the_ingest_share_of_the_budget():
    """Names of random letters compress badly, so the compressed size, not the count, splits the file."""
    rng = random.Random(7)
    noisy = [
        validate_ride(make_ride(i, Name="".join(rng.choices(string.ascii_letters, k=250))))
        for i in range(3000)
    ]
    budget = 40_000
    bodies = group_all(noisy, rides_per_message=1000, budget_bytes=budget)
    assert len(bodies) > 3  # more than the count alone would make
    assert all(len(b.encode()) <= budget * messages.INGEST_SHARE_OF_BUDGET for b in bodies)
    assert [r["ride_id"] for b in bodies for r in decode_message(b)["rides"]] == [r["ride_id"] for r in noisy]


def test_a_default_message_of_workshop_rides_still_fits_sqs_once_enriched():
    """The reserve left for enrich covers a full default message of workshop-shaped rides (far from the
    stations, so every distance has a long repr): one part each, under SQS's limit."""
    from wildrydes.workshop_shape import workshop_rides
    from wildrydes_lambda.etl.enrichment import enrich_rides
    from wildrydes_lambda.etl.forwarding import enriched_bodies

    items = [validate_ride(r) for r in workshop_rides(7755, seed=3)]
    bodies = group_all(items)
    assert len(bodies) <= 4  # 7,755 rides: the count (2,500) splits them, not the bytes
    for body in bodies:
        env = decode_message(body)
        enriched, rejected = enrich_rides(env["rides"])
        [grown] = enriched_bodies(lineage_of(env), enriched)
        assert rejected == [] and len(grown.encode()) <= envelope.SQS_MAX_MESSAGE_BYTES
        per_ride = (len(grown) - len(body)) / len(enriched)
        assert per_ride <= messages.ENRICH_GROWTH_MAX_BYTES_PER_RIDE


def test_enrich_splits_an_output_that_outgrew_sqs_into_numbered_parts():
    """Should enriched rides still compress past the limit, enrich sends them as parts: each fits, together
    they are the rides in order, the same input splits the same way, and the writer names parts apart."""
    from wildrydes_lambda.etl.csv_output import plan_csv_objects
    from wildrydes_lambda.etl.forwarding import enriched_bodies

    rng = random.Random(11)
    noisy = [
        validate_ride(make_ride(i, Name="".join(rng.choices(string.ascii_letters, k=250))))
        for i in range(400)
    ]
    lineage = Lineage(SOURCE, 4, "0badcafe")
    limit = 30_000
    parts = enriched_bodies(lineage, noisy, limit_bytes=limit)
    assert len(parts) > 2 and all(len(p.encode()) <= limit for p in parts)
    assert parts == enriched_bodies(lineage, noisy, limit_bytes=limit)
    decoded = [decode_message(p) for p in parts]
    assert [lineage_of(d).part for d in decoded] == list(range(len(parts)))
    assert {lineage_of(d).chunk for d in decoded} == {4}
    assert [r["ride_id"] for d in decoded for r in d["rides"]] == [r["ride_id"] for r in noisy]
    # one body, no part, when it fits
    [whole] = enriched_bodies(lineage, noisy[:3])
    assert lineage_of(decode_message(whole)).part is None
    keys = [
        key
        for d in decoded
        for key, _ in plan_csv_objects(
            [
                {**r, "groundstation": "X", "station_distance_miles": 1.0, "heavy_utilization": 0}
                for r in d["rides"]
            ],
            "processed/",
            lineage_of(d),
        )
    ]
    assert len(keys) == len(set(keys)) == len(parts)
    assert all(naming.parse_object_name(k) is not None for k in keys)


def test_buffer_cap_flushes_early_but_loses_nothing():
    items = rides(600, days=300)  # ten months, 60 rides each: four packed messages without the cap
    assert len(group_all(items, rides_per_message=200)) == 4
    bodies = group_all(items, rides_per_message=200, max_buffered_bytes=10_000)
    assert sum(len(decode_message(b)["rides"]) for b in bodies) == 600
    assert len(bodies) > 4  # the cap forced partial messages


def test_rides_per_message_is_bounded():
    with pytest.raises(ValueError):
        MessageGrouper(SOURCE, rides_per_message=0)
    with pytest.raises(ValueError):
        MessageGrouper(SOURCE, rides_per_message=messages.MAX_RIDES_PER_MESSAGE + 1)


def test_grouping_does_not_depend_on_the_source_key_length():
    """Issue 13: the same bytes under a short and a 1,000-byte key must split into the same messages."""

    from etl_fixtures import make_ride

    from wildrydes_lambda.contracts.envelope import Source
    from wildrydes_lambda.etl.grouping import MessageGrouper
    from wildrydes_lambda.etl.rides import validate_ride

    rides = [validate_ride(make_ride(i, day=1 + i % 2, Name="N" * 200)) for i in range(2000)]

    def groups(key, version=None, at=None):
        # A budget small enough that compressed size, not only the count, splits the months.
        grouper = MessageGrouper(
            Source("bucket", key, version, at), rides_per_message=1000, budget_bytes=60_000
        )
        bodies = [b for ride in rides for b in grouper.add(ride)] + list(grouper.finish())
        return [[r["ride_id"] for r in decode_message(b)["rides"]] for b in bodies]

    short, long = groups("raw/a.json"), groups("raw/" + "k" * 991 + ".json")
    assert short == long and len(short) > 2  # the byte budget, not only the count, splits them
    # nor on the version id or the event time the envelope carries
    assert groups("raw/a.json", "v" * 1024, "2026-12-07T20:39:39.123000Z") == short


@pytest.mark.parametrize(
    "rides_zlib",
    [
        "not base64!",
        base64.b64encode(b"not zlib").decode(),
        base64.b64encode(zlib.compress(b'[{"ride_id": "a"}]')[:-4]).decode(),  # truncated stream
        base64.b64encode(zlib.compress(b" " * (envelope.MAX_DECOMPRESSED_BYTES + 1))).decode(),  # a bomb
        base64.b64encode(zlib.compress(b'{"ride_id": "a"}')).decode(),  # not a list
        7,
    ],
    ids=["not-base64", "not-zlib", "truncated", "inflates-past-the-cap", "not-a-list", "not-a-string"],
)
def test_a_compressed_body_that_is_not_rides_is_a_bad_message(rides_zlib):
    """Poison, not a crash or an out-of-memory: BadMessage sends it to the DLQ after its retries."""
    body = json.dumps(
        {"v": 2, "source": {"bucket": "b", "key": "raw/x.json", "chunk": 0}, "rides_zlib": rides_zlib}
    )
    with pytest.raises(BadMessage):
        decode_message(body)
