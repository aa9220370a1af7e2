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
    return argparse.Namespace(**{"dlq": "ingest-dlq", "to": None, "max": 0, "method": "auto", **kw})


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
