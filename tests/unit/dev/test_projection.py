"""wildrydes_dev/projection.py: the bench's scale projection, from a figures dict to AWS needs and cost."""

from __future__ import annotations

import math

import pytest

from wildrydes_dev import projection as p

# 0.0143 requests/ride (the dense 100k figure) split as the bench's API table splits it.
DENSE = p.Figures(
    shape="dense",
    requests_per_ride_by_api={
        "s3.PutObject": 0.006,
        "s3.GetObject": 0.0002,
        "s3.HeadObject": 0.0001,
        "s3.ListObjectsV2": 0.0001,
        "sqs.SendMessage": 0.006,
        "lambda.Invoke": 0.0019,
    },
    objects_per_ride=0.006,
    get_requests_per_ride=0.0003,
    messages_per_ride=0.012,
    gb_seconds_per_ride={"ingest": 2e-5, "enrich": 1e-5, "writer": 3e-5},
    seconds_per_ride={"ingest": 8e-5, "enrich": 4e-5, "writer": 1.2e-4},
    bytes_stored_per_ride=250.0,
    ingest_rides_per_s=5_000.0,
)


def test_prices_follow_the_s3_request_classes():
    assert p.price_per_request("s3.PutObject") == pytest.approx(0.005 / 1000)
    assert p.price_per_request("s3.ListObjectsV2") == p.price_per_request("s3.PutObject")  # LIST = PUT
    assert p.price_per_request("s3.HeadObject") == p.price_per_request("s3.GetObject")  # HEAD = GET
    assert p.price_per_request("s3.GetObject") == pytest.approx(0.0004 / 1000)
    assert p.price_per_request("s3.DeleteObjects") == 0.0  # deletes are free
    assert p.price_per_request("sqs.ReceiveMessage") == pytest.approx(0.4e-6)
    assert p.price_per_request("lambda.Invoke") == pytest.approx(0.2e-6)
    assert p.price_per_request("lambda.GetFunction") == 0.0


def test_requests_and_cost_scale_linearly_with_rides():
    one, hundred = p.project(DENSE, 1_000_000), p.project(DENSE, 100_000_000)
    assert one.requests_per_day == pytest.approx(0.0143 * 1_000_000)
    assert hundred.requests_per_day == pytest.approx(100 * one.requests_per_day)
    assert hundred.cost_per_day_usd["total"] == pytest.approx(100 * one.cost_per_day_usd["total"])
    expected_requests = (
        6_000 * 0.005 / 1000  # PUT
        + 100 * 0.005 / 1000  # LIST at the PUT price
        + 300 * 0.0004 / 1000  # GET + HEAD
        + 6_000 * 0.4e-6
        + 1_900 * 0.2e-6
    )
    assert one.cost_per_day_usd["requests"] == pytest.approx(expected_requests)
    assert one.cost_per_day_usd["lambda_compute"] == pytest.approx(60 * p.LAMBDA_GB_SECOND_USD)
    gb = 250 * 1e6 / 2**30
    assert one.storage_gb_per_day == pytest.approx(gb)
    assert one.cost_per_day_usd["storage"] == pytest.approx(gb * p.S3_STORAGE_GB_MONTH_USD)  # 30 days kept
    assert one.cost_per_day_usd["total"] == pytest.approx(
        sum(v for k, v in one.cost_per_day_usd.items() if k != "total")
    )


def test_rates_and_concurrency_follow_the_ride_rate():
    s = p.project(DENSE, 1_000_000_000)
    rate = 1e9 / 86_400
    assert s.rides_per_s == pytest.approx(rate)
    assert s.s3_put_per_s_per_prefix == pytest.approx(0.006 * rate)
    assert s.sqs_messages_per_s == pytest.approx(0.012 * rate)
    assert s.concurrency["writer"] == math.ceil(rate * 1.2e-4)
    assert s.concurrency["total"] == sum(s.concurrency[f] for f in p.ETL_FUNCTIONS)
    assert s.objects_per_day == pytest.approx(6e6)


def test_the_defaults_hold_at_a_million_rides_and_break_at_a_billion():
    assert p.project(DENSE, 1_000_000).changes == []
    changes = p.project(DENSE, 1_000_000_000).changes
    # 69 PUT/s per prefix at 1B is fine; one ingest invocation reads 1.5M rides in 300 s: files must split.
    assert not any("PUT rate" in c for c in changes)
    assert any("ingest_memory_mb" in c and "files" in c for c in changes)


def test_a_sparse_shape_outgrows_the_prefix_put_limit_and_the_account_concurrency():
    sparse = p.Figures(
        **{
            **DENSE.__dict__,
            "shape": "workshop",
            "objects_per_ride": 0.4,
            "seconds_per_ride": {"ingest": 1e-4, "enrich": 0.04, "writer": 0.12},
        }
    )
    s = p.project(sparse, 1_000_000_000)
    assert s.s3_put_per_s_per_prefix > p.S3_PUT_PER_S_PER_PREFIX
    put = next(c for c in s.changes if "PUT rate" in c)
    factor = s.s3_put_per_s_per_prefix / p.S3_PUT_PER_S_PER_PREFIX
    assert f"sqs_batch_size 10 -> {math.ceil(10 * factor * p.HEADROOM)}" in put
    assert any("quota increase" in c for c in s.changes)
    assert any(c.startswith("writer needs") for c in s.changes)


def test_figures_round_trip_through_json_and_render():
    import json

    again = p.figures_from_dict(json.loads(json.dumps(DENSE.__dict__)))
    assert again == DENSE
    text = "\n".join(p.markdown(DENSE, p.project_all(DENSE)))
    assert f"checked {p.PRICES_CHECKED}" in text
    for n in ("1,000,000", "100,000,000", "1,000,000,000"):
        assert f"| {n} |" in text
    assert "LIST requests are billed at the PUT price and HEAD at the GET price" in text


def test_the_projected_defaults_are_the_deployed_ones():
    """Defaults() stands for root variables.tf; a default changed there must change here (it went stale once:
    ingest memory 256 -> 1024 MB and rides per message 200 -> 2500 were projected with the old values)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "variables.tf").read_text()

    def default(name: str) -> int:
        block = re.search(rf'variable "{name}" {{(.*?)\n}}', text, re.S)
        assert block, name
        return int(re.search(r"^\s*default\s*=\s*(\d+)", block.group(1), re.M).group(1))

    d = p.Defaults()
    assert (d.ingest_memory_mb, d.ingest_timeout_s, d.sqs_batch_size, d.rides_per_message) == (
        default("ingest_memory_mb"),
        default("ingest_timeout_seconds"),
        default("sqs_batch_size"),
        default("rides_per_message"),
    )
