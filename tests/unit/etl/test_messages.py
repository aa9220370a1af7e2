"""Envelopes and the per-date grouping of rides into messages."""

import json

import pytest
from etl_fixtures import make_ride

from wildrydes_lambda.contracts import envelope
from wildrydes_lambda.contracts.envelope import BadMessage, Source, decode_message, encode_message
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


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"v": 2, "source": {"key": "k"}, "rides": []}',
        '{"v": 1, "rides": []}',
        '{"v": 1, "source": {"key": "k"}, "rides": [1]}',
    ],
)
def test_bad_envelopes_are_rejected(body):
    with pytest.raises(BadMessage):
        decode_message(body)


def test_messages_hold_one_month_at_most_n_rides_and_every_ride_once():
    items = rides(1000, days=70)  # 2017-06-01 .. 2017-08-09: three months
    bodies = group_all(items, rides_per_message=50)
    seen = []
    for chunk, body in enumerate(bodies):
        envelope = json.loads(body)
        assert envelope["source"]["chunk"] == chunk
        assert 1 <= len(envelope["rides"]) <= 50
        assert len({r["statustime"][:7] for r in envelope["rides"]}) == 1
        seen += [r["ride_id"] for r in envelope["rides"]]
    assert sorted(seen) == sorted(r["ride_id"] for r in items)


def test_grouping_is_deterministic():
    items = rides(500, days=5)
    assert group_all(items, rides_per_message=37) == group_all(items, rides_per_message=37)


def test_baseline_mode_is_one_ride_per_message():
    assert len(group_all(rides(30), rides_per_message=1)) == 30


def test_messages_stay_under_the_byte_budget():
    long_names = [validate_ride(make_ride(i, Name="n" * 250 + str(i))) for i in range(3000)]
    budget = 20_000
    bodies = group_all(long_names, rides_per_message=1000, budget_bytes=budget)
    assert all(len(b.encode()) <= budget for b in bodies)
    assert sum(len(json.loads(b)["rides"]) for b in bodies) == 3000
    assert messages.INGEST_MESSAGE_BUDGET_BYTES < envelope.SQS_MAX_MESSAGE_BYTES


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
    items = rides(600, days=300)  # ten months, 60 rides each: ten messages without the cap
    assert len(group_all(items, rides_per_message=200)) == 10
    bodies = group_all(items, rides_per_message=200, max_buffered_bytes=10_000)
    assert sum(len(json.loads(b)["rides"]) for b in bodies) == 600
    assert len(bodies) > 10  # the cap forced partial messages


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

    def groups(key):
        grouper = MessageGrouper(Source("bucket", key), rides_per_message=1000)
        bodies = [b for ride in rides for b in grouper.add(ride)] + list(grouper.finish())
        return [[r["ride_id"] for r in json.loads(b)["rides"]] for b in bodies]

    short, long = groups("raw/a.json"), groups("raw/" + "k" * 991 + ".json")
    assert short == long and len(short) > 2  # the byte budget, not only the count, splits them
