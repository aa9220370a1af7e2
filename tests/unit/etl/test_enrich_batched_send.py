"""enrich sends its outputs with SendMessageBatch and reports exactly the records not done (moto SQS)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import EndpointConnectionError
from etl_fixtures import make_ride
from moto import mock_aws
from test_etl_handlers import FakeContext

from wildrydes_lambda import aws as aws_adapters
from wildrydes_lambda.aws.sqs import SQS_BATCH_MAX_BYTES, SQS_BATCH_MAX_ENTRIES, pack_batches, send_in_batches
from wildrydes_lambda.contracts.envelope import Source, decode_message, encode_message, lineage_of
from wildrydes_lambda.etl.enrichment import enrich_rides
from wildrydes_lambda.etl.forwarding import EnrichOutcome, forward_enriched
from wildrydes_lambda.etl.rides import validate_ride

ENRICH_HANDLER = Path(__file__).resolve().parents[3] / "lambda_src" / "enrich" / "handler.py"
BUCKET = "wildrydes-batched-send"
SOURCE = Source(BUCKET, "raw/batched.json", "v1", "2026-01-01T00:00:00.000Z")
GENERATION = "g1"
NO_STATION_MILES = "1"  # every fixture ride is farther than this from any station: nothing left to send


@pytest.fixture
def cloud(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_SERVICE_NAME": "enrich-test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        aws_adapters.reset_clients()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="groundstation")["QueueUrl"]
        yield {"sqs": sqs, "url": url, "monkeypatch": monkeypatch}
    aws_adapters.reset_clients()


def load_enrich(cloud, **env):
    for name, value in {"DATA_BUCKET": BUCKET, "OUTPUT_QUEUE_URL": cloud["url"], **env}.items():
        cloud["monkeypatch"].setenv(name, value)
    spec = importlib.util.spec_from_file_location("enrich_handler_batched_send", ENRICH_HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(chunk: int) -> dict:
    rides = [validate_ride(make_ride(chunk * 10 + i)) for i in range(3)]
    return {
        "messageId": f"m-{chunk}",
        "receiptHandle": f"rh-{chunk}",
        "body": encode_message(SOURCE, chunk, rides, GENERATION),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:ingest",
        "awsRegion": "us-east-1",
    }


def todays_body(rec: dict) -> str:
    """The body the per-record SendMessage handler sent (the same expression, computed independently)."""
    envelope = decode_message(rec["body"])
    lineage = lineage_of(envelope)
    enriched, _ = enrich_rides(envelope["rides"])
    return encode_message(lineage.source, lineage.chunk, enriched, lineage.generation)


def count_calls(cloud) -> list[str]:
    """Operation names of every call the handler's (cached) SQS client makes from now on."""
    calls: list[str] = []
    aws_adapters.client("sqs").meta.events.register(
        "before-call.sqs", lambda model, **_: calls.append(model.name)
    )
    return calls


def received(cloud) -> list[str]:
    bodies = []
    while (
        batch := cloud["sqs"].receive_message(QueueUrl=cloud["url"], MaxNumberOfMessages=10).get("Messages")
    ):
        for message in batch:
            bodies.append(message["Body"])
            cloud["sqs"].delete_message(QueueUrl=cloud["url"], ReceiptHandle=message["ReceiptHandle"])
    return bodies


def failing_entries(cloud, bad_chunks: set[int]) -> list[int]:
    """Make SendMessageBatch report the entries of the given chunks as Failed (the others are sent)."""
    real = aws_adapters.client("sqs").send_message_batch
    calls: list[int] = []

    def send_message_batch(QueueUrl, Entries):
        calls.append(len(Entries))
        chunk_of = {e["Id"]: json.loads(e["MessageBody"])["source"]["chunk"] for e in Entries}
        good = [e for e in Entries if chunk_of[e["Id"]] not in bad_chunks]
        response = real(QueueUrl=QueueUrl, Entries=good) if good else {}
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError"}
            for e in Entries
            if chunk_of[e["Id"]] in bad_chunks
        ]
        return {"Successful": response.get("Successful", []), "Failed": failed}

    cloud["monkeypatch"].setattr(aws_adapters.client("sqs"), "send_message_batch", send_message_batch)
    return calls


def raising_call(cloud, raise_on_call: int) -> list[int]:
    """Make the n-th SendMessageBatch call (1-based) raise; the calls before it are sent."""
    real = aws_adapters.client("sqs").send_message_batch
    calls: list[int] = []

    def send_message_batch(QueueUrl, Entries):
        calls.append(len(Entries))
        if len(calls) == raise_on_call:
            raise EndpointConnectionError(endpoint_url=QueueUrl)
        return real(QueueUrl=QueueUrl, Entries=Entries)

    cloud["monkeypatch"].setattr(aws_adapters.client("sqs"), "send_message_batch", send_message_batch)
    return calls


def failed_ids(response: dict) -> list[str]:
    return sorted(item["itemIdentifier"] for item in response["batchItemFailures"])


# --- packing -------------------------------------------------------------------------------------------


def test_pack_batches_respects_entry_and_byte_limits_in_order():
    items = [(f"i{n}", "x") for n in range(2 * SQS_BATCH_MAX_ENTRIES + 3)]
    batches, oversize = pack_batches(items)
    assert [len(b) for b in batches] == [SQS_BATCH_MAX_ENTRIES, SQS_BATCH_MAX_ENTRIES, 3]
    assert [i for b in batches for i in b] == items and oversize == []

    third = "y" * (SQS_BATCH_MAX_BYTES // 3)
    batches, _ = pack_batches([(f"b{n}", third) for n in range(4)])
    assert [len(b) for b in batches] == [3, 1]
    assert all(sum(len(body) for _, body in b) <= SQS_BATCH_MAX_BYTES for b in batches)

    batches, oversize = pack_batches([("ok", "z"), ("huge", "z" * (SQS_BATCH_MAX_BYTES + 1))])
    assert batches == [[("ok", "z")]] and oversize == ["huge"]


def test_send_in_batches_reports_oversize_and_makes_no_call_for_nothing(cloud):
    result = send_in_batches(cloud["url"], [("huge", "z" * (SQS_BATCH_MAX_BYTES + 1)), ("ok", "z")])
    assert result.failed_ids == ("huge",) and result.requests == 1 and result.error is None
    assert received(cloud) == ["z"]
    assert send_in_batches(cloud["url"], []).requests == 0


def test_forward_enriched_keeps_processor_failures_and_skips_records_with_nothing_to_send(cloud):
    done = EnrichOutcome("k", 0, 3, 0, ("body-0",))
    empty = EnrichOutcome("k", 1, 0, 3, ())
    processed = [
        ("success", done, {"messageId": "a"}),
        ("fail", "BadMessage:x", {"messageId": "b"}),
        ("success", empty, {"messageId": "c"}),
    ]
    result = forward_enriched(processed, {"batchItemFailures": [{"itemIdentifier": "b"}]}, cloud["url"])
    assert result.response == {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert result.done == (done, empty) and result.send.requests == 1
    assert received(cloud) == ["body-0"]


# --- the handler ---------------------------------------------------------------------------------------


def test_all_succeed_one_send_message_batch_for_ten_records_with_todays_bodies(cloud):
    handler = load_enrich(cloud)
    calls = count_calls(cloud)
    event = {"Records": [record(c) for c in range(SQS_BATCH_MAX_ENTRIES)]}
    assert handler.lambda_handler(event, FakeContext()) == {"batchItemFailures": []}
    assert calls == ["SendMessageBatch"]
    assert sorted(received(cloud)) == sorted(todays_body(r) for r in event["Records"])


def test_eleven_records_take_two_requests(cloud):
    handler = load_enrich(cloud)
    calls = count_calls(cloud)
    event = {"Records": [record(c) for c in range(SQS_BATCH_MAX_ENTRIES + 1)]}
    assert handler.lambda_handler(event, FakeContext()) == {"batchItemFailures": []}
    assert calls == ["SendMessageBatch", "SendMessageBatch"]
    assert len(received(cloud)) == SQS_BATCH_MAX_ENTRIES + 1


def test_an_entry_reported_failed_reports_only_its_record(cloud):
    handler = load_enrich(cloud)
    calls = failing_entries(cloud, bad_chunks={2})
    event = {"Records": [record(c) for c in range(5)]}
    assert failed_ids(handler.lambda_handler(event, FakeContext())) == ["m-2"]
    assert calls == [5]
    sent = received(cloud)
    assert sorted(sent) == sorted(todays_body(r) for r in event["Records"] if r["messageId"] != "m-2")

    # SQS redelivers m-2 alone: the same body is sent again
    calls.clear()
    cloud["monkeypatch"].undo()
    redelivered = load_enrich(cloud)
    assert redelivered.lambda_handler({"Records": [event["Records"][2]]}, FakeContext()) == {
        "batchItemFailures": []
    }
    assert received(cloud) == [todays_body(event["Records"][2])]


def test_a_raising_call_reports_every_record_not_yet_sent(cloud):
    handler = load_enrich(cloud)
    calls = raising_call(cloud, raise_on_call=2)
    event = {"Records": [record(c) for c in range(SQS_BATCH_MAX_ENTRIES + 2)]}
    response = handler.lambda_handler(event, FakeContext())
    assert calls == [SQS_BATCH_MAX_ENTRIES, 2]
    assert failed_ids(response) == sorted(r["messageId"] for r in event["Records"][SQS_BATCH_MAX_ENTRIES:])
    assert sorted(received(cloud)) == sorted(todays_body(r) for r in event["Records"][:SQS_BATCH_MAX_ENTRIES])


def test_a_raising_first_call_reports_all_records(cloud):
    handler = load_enrich(cloud)
    raising_call(cloud, raise_on_call=1)
    event = {"Records": [record(c) for c in range(4)]}
    assert failed_ids(handler.lambda_handler(event, FakeContext())) == ["m-0", "m-1", "m-2", "m-3"]
    assert received(cloud) == []


def test_an_enrichment_failure_reports_that_record_only(cloud):
    handler = load_enrich(cloud)
    calls = count_calls(cloud)
    good = [record(c) for c in range(3)]
    bad = dict(record(9), messageId="m-bad", body="{not json")
    event = {"Records": [good[0], bad, good[1], good[2]]}
    assert failed_ids(handler.lambda_handler(event, FakeContext())) == ["m-bad"]
    assert calls == ["SendMessageBatch"]
    assert sorted(received(cloud)) == sorted(todays_body(r) for r in good)


def test_enrichment_and_send_failures_are_both_reported(cloud):
    handler = load_enrich(cloud)
    failing_entries(cloud, bad_chunks={1})
    bad = dict(record(9), messageId="m-bad", body="{not json")
    event = {"Records": [record(0), bad, record(1)]}
    assert failed_ids(handler.lambda_handler(event, FakeContext())) == ["m-1", "m-bad"]
    assert received(cloud) == [todays_body(record(0))]


def test_records_with_no_ride_left_send_nothing_and_are_done(cloud):
    handler = load_enrich(cloud, MAX_STATION_DISTANCE_MILES=NO_STATION_MILES)
    calls = count_calls(cloud)
    assert handler.lambda_handler({"Records": [record(0), record(1)]}, FakeContext()) == {
        "batchItemFailures": []
    }
    assert calls == [] and received(cloud) == []


def test_a_batch_whose_every_enrichment_fails_still_fails_as_a_whole(cloud):
    handler = load_enrich(cloud)
    calls = count_calls(cloud)
    with pytest.raises(BatchProcessingError):
        handler.lambda_handler({"Records": [dict(record(0), body="[]")]}, FakeContext())
    assert calls == []
