"""`wildrydes redrive`: move the messages of a dead-letter queue back into its source queue.

The destination is --to, else the one queue whose redrive policy names this DLQ
(ListDeadLetterSourceQueues), else the single source ARN in the DLQ's RedriveAllowPolicy, else its
`source_queue` tag. SQS's own StartMessageMoveTask is used when the endpoint supports it; otherwise
messages are received, sent to the source (body and attributes kept) and only then deleted, so a
failure mid-way can duplicate a message but never lose one (the writer's keys make duplicates harmless).
"""

from __future__ import annotations

import json
import time

from botocore.exceptions import ClientError

from wildrydes.errors import CommandError
from wildrydes_lambda import aws

SOURCE_QUEUE_TAG = "source_queue"
RECEIVE_BATCH = 10  # SQS maximum per ReceiveMessage / SendMessageBatch / DeleteMessageBatch
RECEIVE_WAIT_SECONDS = 1
# Messages received but not yet moved stay invisible this long, then reappear in the DLQ.
VISIBILITY_SECONDS = 60
MOVE_TASK_POLL_SECONDS = 2
# Error codes meaning "this endpoint has no message move tasks" -> fall back to receive/send/delete.
UNSUPPORTED_CODES = {
    "InvalidAction",
    "UnsupportedOperation",
    "NotImplemented",
    "InternalFailure",
    "AWS.SimpleQueueService.UnsupportedOperation",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "redrive",
        help="replay a dead-letter queue into its source queue",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--dlq", required=True, help="URL or name of the dead-letter queue")
    parser.add_argument("--to", help="URL or name of the destination (default: the DLQ's source queue)")
    parser.add_argument("--max", type=int, default=0, help="move at most this many messages (0 = all)")
    parser.add_argument(
        "--method",
        choices=("auto", "move-task", "receive"),
        default="auto",
        help="auto: StartMessageMoveTask when available, else receive/send/delete",
    )
    parser.set_defaults(func=run)


def _queue_url(sqs, name_or_url: str) -> str:
    if name_or_url.startswith(("http://", "https://")):
        return name_or_url
    try:
        return sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"]
    except ClientError as exc:
        raise CommandError(f"queue {name_or_url!r} not found: {exc.response['Error']['Code']}") from None


def _attributes(sqs, url: str, *names: str) -> dict:
    try:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names)).get("Attributes", {})
    except ClientError as exc:
        raise CommandError(f"cannot read queue {url}: {exc.response['Error']['Code']}") from None


def _url_from_arn(sqs, arn: str) -> str:
    name, account = arn.rsplit(":", 1)[-1], arn.split(":")[4]
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def find_source(sqs, dlq_url: str) -> str:
    """The queue that dead-letters into dlq_url (see the module docstring for the lookup order)."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) == 1:
        return sources[0]
    if len(sources) > 1:
        raise CommandError(f"{len(sources)} queues use this DLQ; choose one with --to")
    policy = _attributes(sqs, dlq_url, "All").get("RedriveAllowPolicy")
    arns = json.loads(policy).get("sourceQueueArns", []) if policy else []
    if len(arns) == 1:
        return _url_from_arn(sqs, arns[0])
    tag = sqs.list_queue_tags(QueueUrl=dlq_url).get("Tags", {}).get(SOURCE_QUEUE_TAG)
    if tag:
        return _url_from_arn(sqs, tag) if tag.startswith("arn:") else _queue_url(sqs, tag)
    raise CommandError("cannot tell the DLQ's source queue (no redrive policy points at it); use --to")


def move_with_task(sqs, dlq_arn: str, to_arn: str) -> int | None:
    """Moved count via StartMessageMoveTask, or None when the endpoint does not support it."""
    try:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=to_arn)
    except NotImplementedError:  # an in-process emulator (moto) without the action
        return None
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in UNSUPPORTED_CODES or "NotImplemented" in code or "not yet implemented" in str(exc):
            return None
        raise CommandError(f"StartMessageMoveTask failed: {code}") from None
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1).get("Results", [])
        task = tasks[0] if tasks else {}
        status = task.get("Status", "COMPLETED")
        if status in ("COMPLETED", "CANCELLED", "FAILED"):
            if status != "COMPLETED":
                raise CommandError(f"message move task {status}: {task.get('FailureReason', '')}")
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        time.sleep(MOVE_TASK_POLL_SECONDS)


def move_by_receive(sqs, dlq_url: str, to_url: str, limit: int = 0) -> int:
    """Receive -> send to destination -> delete only what was sent. Returns messages moved."""
    moved = 0
    while not limit or moved < limit:
        want = RECEIVE_BATCH if not limit else min(RECEIVE_BATCH, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            VisibilityTimeout=VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = []
        for i, message in enumerate(messages):
            entry = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=to_url, Entries=entries)
        ok = {entry["Id"] for entry in sent.get("Successful", [])}
        if ok:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                    if str(i) in ok
                ],
            )
        moved += len(ok)
        if sent.get("Failed"):
            raise CommandError(
                f"moved {moved}; {len(sent['Failed'])} message(s) failed to send "
                f"({sent['Failed'][0].get('Code')}) and stay in the DLQ"
            )
    return moved


def _depth(sqs, url: str) -> int:
    return int(_attributes(sqs, url, "ApproximateNumberOfMessages").get("ApproximateNumberOfMessages", 0))


def run(args) -> int:
    sqs = aws.make_client("sqs")
    dlq_url = _queue_url(sqs, args.dlq)
    to_url = _queue_url(sqs, args.to) if args.to else find_source(sqs, dlq_url)
    if to_url == dlq_url:
        raise CommandError("the destination is the DLQ itself")
    before = _depth(sqs, dlq_url)
    moved = None
    if args.method in ("auto", "move-task") and not args.max:
        dlq_arn = _attributes(sqs, dlq_url, "QueueArn")["QueueArn"]
        to_arn = _attributes(sqs, to_url, "QueueArn")["QueueArn"]
        moved = move_with_task(sqs, dlq_arn, to_arn)
        if moved is None and args.method == "move-task":
            raise CommandError("this endpoint does not support StartMessageMoveTask; use --method receive")
    method = "move-task" if moved is not None else "receive"
    if moved is None:
        moved = move_by_receive(sqs, dlq_url, to_url, args.max)
    print(
        f"redrive: moved {moved} message(s) from {dlq_url} to {to_url} via {method}; "
        f"DLQ depth {before} -> {_depth(sqs, dlq_url)}"
    )
    return 0
