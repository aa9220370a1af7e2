"""Envelopes (with lineage) and the per-month grouping and packing of rides into messages."""

import json

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
    assert envelope["v"] == 1 and envelope["source"] == {"bucket": "bucket", "key": "raw/x.json", "chunk": 7}
    assert envelope["rides"] == rides(2)


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
        envelope = json.loads(body)
        assert envelope["source"]["chunk"] == chunk
        assert 1 <= len(envelope["rides"]) <= 50
        if len(envelope["rides"]) == 50:  # a full month buffer: one month
            assert len({r["statustime"][:7] for r in envelope["rides"]}) == 1
        seen += [r["ride_id"] for r in envelope["rides"]]
    assert sorted(seen) == sorted(r["ride_id"] for r in items)


def month_sets(bodies):
    return [sorted({r["statustime"][:7] for r in json.loads(b)["rides"]}) for b in bodies]


def test_sparse_months_are_packed_whole_in_month_order():
    """The partial month buffers left at the end share messages: whole months, in month order, so the
    writer's objects (one per message and month) are one per month."""
    items = rides(600, days=300)  # ten months, ~60 rides each
    bodies = group_all(items, rides_per_message=200)
    assert [len(json.loads(b)["rides"]) for b in bodies] == [184, 182, 180, 54]
    months = month_sets(bodies)
    flat = [m for ms in months for m in ms]
    assert flat == sorted(flat) and len(flat) == len(set(flat)) == 10  # no month split between messages
    assert sum(len(json.loads(b)["rides"]) for b in bodies) == 600


def test_a_month_that_fills_a_message_goes_alone_and_its_rest_is_packed():
    dense = [validate_ride(make_ride(i, day=1)) for i in range(250)]  # June: 250 rides
    sparse = [validate_ride(make_ride(1000 + i, day=40)) for i in range(30)]  # July: 30 rides
    bodies = group_all(dense + sparse, rides_per_message=200)
    assert [len(json.loads(b)["rides"]) for b in bodies] == [200, 80]
    assert month_sets(bodies) == [["2017-06"], ["2017-06", "2017-07"]]


def test_the_generation_names_the_grouping():
    assert messages.grouping_generation(200) == messages.grouping_generation(200)
    assert messages.grouping_generation(200) != messages.grouping_generation(201)
    grouper = MessageGrouper(SOURCE, rides_per_message=37)
    [body] = list(grouper.add(rides(1)[0])) + list(grouper.finish())
    assert json.loads(body)["source"]["generation"] == messages.grouping_generation(37)
    assert grouper.months == ["2017-06"]


def test_grouping_is_deterministic():
    items = rides(500, days=5)
    assert group_all(items, rides_per_message=37) == group_all(items, rides_per_message=37)


def test_baseline_mode_is_one_ride_per_message():
    assert len(group_all(rides(30), rides_per_message=1)) == 30


def test_messages_stay_under_the_byte_budget():
    long_names = [validate_ride(make_ride(i, Name="n" * 250 + str(i))) for i in range(3000)]
    budget = 20_000
    bodies = group_all(long_names, rides_per_message=1000, budget_bytes=budget)
    # every message fits the budget even after enrich adds its bytes to each ride
    assert all(
        len(b.encode()) + len(json.loads(b)["rides"]) * messages.ENRICH_GROWTH_MAX_BYTES_PER_RIDE <= budget
        for b in bodies
    )
    assert sum(len(json.loads(b)["rides"]) for b in bodies) == 3000


def test_a_full_message_still_fits_sqs_after_enrichment():
    """The worst case: MAX_RIDES_PER_MESSAGE small rides far from a station (long distance repr)."""
    from wildrydes_lambda.etl.enrichment import enrich_rides

    small = [
        validate_ride(make_ride(i, Name="a", Latitude=-89.123457, Longitude=179.987654 - i * 1e-6))
        for i in range(3000)
    ]
    bodies = group_all(small, rides_per_message=messages.MAX_RIDES_PER_MESSAGE)
    for body in bodies:
        env = json.loads(body)
        enriched, rejected = enrich_rides(env["rides"])
        grown = encode_message(SOURCE, env["source"]["chunk"], enriched)
        assert rejected == [] and len(grown.encode()) <= envelope.SQS_MAX_MESSAGE_BYTES
        per_ride = (len(grown) - len(body)) / len(enriched)
        assert per_ride <= messages.ENRICH_GROWTH_MAX_BYTES_PER_RIDE


def test_buffer_cap_flushes_early_but_loses_nothing():
    items = rides(600, days=300)  # ten months, 60 rides each: four packed messages without the cap
    assert len(group_all(items, rides_per_message=200)) == 4
    bodies = group_all(items, rides_per_message=200, max_buffered_bytes=10_000)
    assert sum(len(json.loads(b)["rides"]) for b in bodies) == 600
    assert len(bodies) > 4  # the cap forced partial messages


def test_rides_per_message_is_bounded():
    with pytest.raises(ValueError):
        MessageGrouper(SOURCE, rides_per_message=0)
    with pytest.raises(ValueError):
        MessageGrouper(SOURCE, rides_per_message=messages.MAX_RIDES_PER_MESSAGE + 1)


def test_grouping_does_not_depend_on_the_source_key_length():
    """Issue 13: the same bytes under a short and a 1,000-byte key must split into the same messages."""
    import json

    from etl_fixtures import make_ride

    from wildrydes_lambda.contracts.envelope import Source
    from wildrydes_lambda.etl.grouping import MessageGrouper
    from wildrydes_lambda.etl.rides import validate_ride

    rides = [validate_ride(make_ride(i, day=1 + i % 2, Name="N" * 200)) for i in range(2000)]

    def groups(key, version=None, at=None):
        grouper = MessageGrouper(Source("bucket", key, version, at), rides_per_message=1000)
        bodies = [b for ride in rides for b in grouper.add(ride)] + list(grouper.finish())
        return [[r["ride_id"] for r in json.loads(b)["rides"]] for b in bodies]

    short, long = groups("raw/a.json"), groups("raw/" + "k" * 991 + ".json")
    assert short == long and len(short) > 2  # the byte budget, not only the count, splits them
    # nor on the version id or the event time the envelope carries
    assert groups("raw/a.json", "v" * 1024, "2026-12-07T20:39:39.123000Z") == short
