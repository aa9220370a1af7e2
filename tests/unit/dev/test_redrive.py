"""`wildrydes redrive` against moto: source discovery, moving, counts, user errors."""

import argparse
import json

import boto3
import pytest
from moto import mock_aws

from wildrydes import redrive
from wildrydes.cli import main
from wildrydes.errors import CommandError


@pytest.fixture
def sqs(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("sqs")
        dlq = client.create_queue(QueueName="ingest-dlq")["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        source = client.create_queue(
            QueueName="ingest",
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
            },
        )["QueueUrl"]
        client.create_queue(QueueName="orphan-dlq")
        yield client, dlq, source


def bodies(client, url):
    out = []
    while batch := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [m["Body"] for m in batch]
        client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return sorted(out)


def args(**kw):
    return argparse.Namespace(
        **{"dlq": "ingest-dlq", "to": None, "function": None, "max": 0, "method": "auto", **kw}
    )


def test_redrive_finds_the_source_and_moves_everything(sqs, capsys):
    client, dlq, source = sqs
    for i in range(23):
        client.send_message(QueueUrl=dlq, MessageBody=f"poison-{i}")
    assert main(["redrive", "--dlq", "ingest-dlq"]) == 0
    out = capsys.readouterr().out
    assert "moved 23 message(s)" in out and "via receive" in out and "23 -> 0" in out
    assert bodies(client, source) == sorted(f"poison-{i}" for i in range(23))
    assert bodies(client, dlq) == []


def test_redrive_max_and_explicit_destination(sqs, capsys):
    client, dlq, _source = sqs
    other = client.create_queue(QueueName="other")["QueueUrl"]
    for i in range(5):
        client.send_message(QueueUrl=dlq, MessageBody=f"m{i}")
    assert redrive.run(args(to="other", max=3)) == 0
    assert "moved 3 message(s)" in capsys.readouterr().out
    assert len(bodies(client, other)) == 3 and len(bodies(client, dlq)) == 2


def test_redrive_without_a_known_source_is_a_user_error(sqs, capsys):
    with pytest.raises(CommandError, match="--to"):
        redrive.run(args(dlq="orphan-dlq"))
    assert main(["redrive", "--dlq", "orphan-dlq"]) == 2
    assert "use --to" in capsys.readouterr().err


def test_redrive_falls_back_to_the_source_queue_tag(sqs):
    # (moto does not keep RedriveAllowPolicy, so the allow-policy branch is exercised on LocalStack only)
    client, _dlq, source = sqs
    orphan = client.get_queue_url(QueueName="orphan-dlq")["QueueUrl"]
    client.tag_queue(QueueUrl=orphan, Tags={redrive.SOURCE_QUEUE_TAG: "ingest"})
    assert redrive.find_source(client, orphan) == source


def test_move_task_only_refuses_when_unsupported(sqs):
    with pytest.raises(CommandError, match="StartMessageMoveTask"):
        redrive.run(args(method="move-task"))


# ------------------------------------------------------------------------------------ into a function
S3_EVENT = {
    "Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}, "object": {"key": "raw/a.json"}}}]
}


class FakeLambda:
    """Lambda as redrive sees it: ListFunctions pages (moto's ListFunctions drops DeadLetterConfig, so the
    functions are given here as AWS and LocalStack list them) and asynchronous invocations, recorded and
    answered 202 (accepted) unless told otherwise."""

    def __init__(self, functions=(), status: int = redrive.ASYNC_ACCEPTED):
        self.functions = list(functions)
        self.status = status
        self.invoked: list[tuple[str, str, dict]] = []

    def get_paginator(self, name):
        assert name == "list_functions"
        pages = [{"Functions": self.functions[i : i + 2]} for i in range(0, len(self.functions), 2)]
        return type("Paginator", (), {"paginate": lambda _self, **kw: iter(pages)})()

    def invoke(self, FunctionName, InvocationType, Payload):
        self.invoked.append((FunctionName, InvocationType, json.loads(Payload)))
        return {"StatusCode": self.status}


@pytest.fixture
def events_dlq(sqs):
    """An ingest-events DLQ (no queue dead-letters into it) and the functions Lambda lists: the one whose
    dead_letter_config targets it (on the second page) and others."""
    client, _dlq, _source = sqs
    url = client.create_queue(QueueName="wr-ingest-events-dlq")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    functions = [
        {"FunctionName": "wr-enrich"},
        {"FunctionName": "other", "DeadLetterConfig": {"TargetArn": arn + "-x"}},
        {"FunctionName": "wr-ingest", "DeadLetterConfig": {"TargetArn": arn}},
    ]
    return client, url, arn, FakeLambda(functions)


def use_lambda(monkeypatch, fake):
    real_make_client = redrive.aws.make_client
    monkeypatch.setattr(redrive.aws, "make_client", lambda s: fake if s == "lambda" else real_make_client(s))


def test_a_function_dlq_is_traced_to_the_function_whose_dead_letter_config_names_it(events_dlq):
    client, url, arn, lam = events_dlq
    assert redrive.source_functions(lam, arn) == ["wr-ingest"]
    assert redrive.find_target(client, lambda: lam, url) == redrive.Target("function", "wr-ingest")
    two = FakeLambda([*lam.functions, {"FunctionName": "twin", "DeadLetterConfig": {"TargetArn": arn}}])
    with pytest.raises(CommandError, match="choose one with --function"):
        redrive.find_target(client, lambda: two, url)
    with pytest.raises(CommandError, match="--to QUEUE or --function"):
        redrive.find_target(client, lambda: FakeLambda(lam.functions[:2]), url)


def test_a_queue_source_wins_over_functions(sqs):
    client, dlq, source = sqs
    assert redrive.find_target(client, lambda: pytest.fail("Lambda asked"), dlq) == redrive.Target(
        "queue", source
    )


def test_replay_into_function_invokes_each_event_asynchronously_and_deletes_only_accepted(events_dlq):
    client, url, _arn, fake = events_dlq
    events = [{**S3_EVENT, "n": i} for i in range(13)]
    for event in events:
        client.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    client.send_message(QueueUrl=url, MessageBody="not an event")
    client.send_message(QueueUrl=url, MessageBody="[1, 2]")
    result = redrive.replay_into_function(client, fake, url, "wr-ingest")
    assert (result.replayed, result.left) == (13, 2)
    assert sorted(e["n"] for _, _, e in fake.invoked) == list(range(13))
    assert {(f, t) for f, t, _ in fake.invoked} == {("wr-ingest", "Event")}
    assert fake.invoked[0][2]["Records"] == S3_EVENT["Records"]  # the event itself, unchanged
    # Only the two non-events are still in the DLQ (in flight until their visibility timeout ends).
    attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "2",
    )


def test_replay_respects_max(events_dlq):
    client, url, _arn, fake = events_dlq
    for i in range(5):
        client.send_message(QueueUrl=url, MessageBody=json.dumps({**S3_EVENT, "n": i}))
    assert redrive.replay_into_function(client, fake, url, "wr-ingest", limit=3).replayed == 3
    assert len(fake.invoked) == 3


def test_a_refused_invocation_keeps_the_message(events_dlq):
    client, url, _arn, _lam = events_dlq
    client.send_message(QueueUrl=url, MessageBody=json.dumps(S3_EVENT))
    result = redrive.replay_into_function(client, FakeLambda(status=500), url, "wr-ingest")
    assert (result.replayed, result.left) == (0, 1) and "500" in result.reasons[0]


def test_cli_redrives_the_ingest_events_dlq_into_ingest_and_a_second_run_does_nothing(
    events_dlq, monkeypatch, capsys
):
    client, url, _arn, fake = events_dlq
    use_lambda(monkeypatch, fake)
    for i in range(3):
        client.send_message(QueueUrl=url, MessageBody=json.dumps({**S3_EVENT, "n": i}))
    assert main(["redrive", "--dlq", "wr-ingest-events-dlq"]) == 0
    out = capsys.readouterr().out
    assert "re-invoked wr-ingest with 3 event(s)" in out and "3 -> 0" in out
    assert len(fake.invoked) == 3
    assert main(["redrive", "--dlq", "wr-ingest-events-dlq"]) == 0
    assert "with 0 event(s)" in capsys.readouterr().out and len(fake.invoked) == 3


def test_cli_exit_status_1_when_a_message_stays(events_dlq, monkeypatch, capsys):
    client, url, _arn, _lam = events_dlq
    fake = FakeLambda()
    use_lambda(monkeypatch, fake)
    client.send_message(QueueUrl=url, MessageBody="garbage")
    assert main(["redrive", "--dlq", url, "--function", "wr-ingest"]) == 1
    assert "left in the DLQ" in capsys.readouterr().out and fake.invoked == []


def test_redrive_help_says_what_it_redrives(capsys):
    with pytest.raises(SystemExit):
        main(["redrive", "--help"])
    text = capsys.readouterr().out
    assert "dead_letter_config" in text and "S3 events" in text and "--function" in text
