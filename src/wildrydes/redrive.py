"""`wildrydes redrive`: replay a dead-letter queue into its source: a queue's DLQ back into that queue, a
function's DLQ (failed asynchronous invocations, e.g. S3 events for ingest) into that function.

The destination is --to (a queue) or --function, else the one queue whose redrive policy names this DLQ
(ListDeadLetterSourceQueues), else the single source ARN in the DLQ's RedriveAllowPolicy, else its
`source_queue` tag, else the one Lambda function whose dead_letter_config targets this DLQ (the
ingest-events DLQ: its messages are the S3 events ingest failed on after Lambda's retries).

Into a queue: SQS's own StartMessageMoveTask when the endpoint supports it; otherwise messages are received,
sent to the source (body and attributes kept) and only then deleted, so a failure mid-way can duplicate a
message but never lose one (the writer's keys make duplicates harmless).

Into a function: each message body (the original event) is invoked asynchronously (InvocationType=Event,
the way S3 invokes it) and the message deleted only once Lambda accepted it; if the cause is not fixed the
event fails again and, after Lambda's retries, returns to this DLQ. A body that is not a JSON object stays in
the DLQ (exit status 1). Ingest is idempotent per object version, so replaying an event twice changes nothing;
an event naming a version that is no longer current is recorded as SUPERSEDED (the newer upload has its own).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field

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


# A Lambda asynchronous invocation accepted: InvocationType=Event answers 202.
ASYNC_ACCEPTED = 202
# ListFunctions page size (the API's maximum).
LIST_FUNCTIONS_PAGE = 50


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "redrive",
        help="replay a dead-letter queue into its source queue, or re-invoke its function with each failed event",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dlq", required=True, help="URL or name of the dead-letter queue")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--to", help="URL or name of the destination queue (default: the DLQ's source)")
    target.add_argument(
        "--function",
        help="name or ARN of the function to re-invoke with each message (default: the function whose "
        "dead_letter_config is this DLQ, e.g. ingest for <name_prefix>-ingest-events-dlq)",
    )
    parser.add_argument("--max", type=int, default=0, help="move at most this many messages (0 = all)")
    parser.add_argument(
        "--method",
        choices=("auto", "move-task", "receive"),
        default="auto",
        help="into a queue: auto = StartMessageMoveTask when available, else receive/send/delete",
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


@dataclass(frozen=True)
class Target:
    """Where a DLQ's messages go back to: a queue (URL) or a function (name or ARN)."""

    kind: str  # "queue" | "function"
    name: str


def _source_queue(sqs, dlq_url: str) -> str | None:
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
    return None


def find_source(sqs, dlq_url: str) -> str:
    """The queue that dead-letters into dlq_url (see the module docstring for the lookup order)."""
    source = _source_queue(sqs, dlq_url)
    if source is None:
        raise CommandError("cannot tell the DLQ's source queue (no redrive policy points at it); use --to")
    return source


def source_functions(lam, dlq_arn: str) -> list[str]:
    """Names of the functions whose dead_letter_config targets dlq_arn (ListFunctions, every page)."""
    names = []
    for page in lam.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": LIST_FUNCTIONS_PAGE}
    ):
        for function in page.get("Functions", []):
            if (function.get("DeadLetterConfig") or {}).get("TargetArn") == dlq_arn:
                names.append(function["FunctionName"])
    return names


def find_target(sqs, lam_factory, dlq_url: str) -> Target:
    """The DLQ's source: a queue (see find_source), else the one function dead-lettering into it."""
    queue = _source_queue(sqs, dlq_url)
    if queue is not None:
        return Target("queue", queue)
    dlq_arn = _attributes(sqs, dlq_url, "QueueArn")["QueueArn"]
    functions = source_functions(lam_factory(), dlq_arn)
    if len(functions) == 1:
        return Target("function", functions[0])
    if len(functions) > 1:
        raise CommandError(
            f"{len(functions)} functions use this DLQ ({', '.join(functions)}); choose one with --function"
        )
    raise CommandError(
        "cannot tell the DLQ's source (no queue's redrive policy and no function's dead_letter_config points at it); "
        "use --to QUEUE or --function FUNCTION"
    )


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


@dataclass
class InvokeResult:
    replayed: int = 0
    left: int = 0  # messages left in the DLQ (body not a JSON object, or Lambda refused the invocation)
    reasons: list[str] = field(default_factory=list)


def replay_into_function(sqs, lam, dlq_url: str, function: str, limit: int = 0) -> InvokeResult:
    """Receive -> invoke the function asynchronously with the body -> delete only what Lambda accepted."""
    result = InvokeResult()
    while not limit or result.replayed + result.left < limit:
        want = RECEIVE_BATCH if not limit else min(RECEIVE_BATCH, limit - result.replayed - result.left)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            VisibilityTimeout=VISIBILITY_SECONDS,
        ).get("Messages", [])
        if not messages:
            break
        done = []
        for i, message in enumerate(messages):
            reason = _invoke_once(lam, function, message["Body"])
            if reason is None:
                done.append({"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]})
            else:
                result.left += 1
                result.reasons.append(f"{message['MessageId']}: {reason}")
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        result.replayed += len(done)
    return result


def _invoke_once(lam, function: str, body: str) -> str | None:
    """None when Lambda accepted the event, else why the message stays in the DLQ."""
    try:
        event = json.loads(body)
    except ValueError:
        return "body is not JSON (not an event)"
    if not isinstance(event, dict):
        return "body is not a JSON object (not an event)"
    try:
        status = lam.invoke(FunctionName=function, InvocationType="Event", Payload=body.encode("utf-8"))[
            "StatusCode"
        ]
    except ClientError as exc:
        return f"Invoke failed: {exc.response['Error']['Code']}"
    return None if status == ASYNC_ACCEPTED else f"Invoke answered {status}"


def _depth(sqs, url: str) -> int:
    return int(_attributes(sqs, url, "ApproximateNumberOfMessages").get("ApproximateNumberOfMessages", 0))


def run(args) -> int:
    sqs = aws.make_client("sqs")
    dlq_url = _queue_url(sqs, args.dlq)
    if args.function:
        target = Target("function", args.function)
    elif args.to:
        target = Target("queue", _queue_url(sqs, args.to))
    else:
        target = find_target(sqs, lambda: aws.make_client("lambda"), dlq_url)
    if target.kind == "function":
        return _run_function(sqs, aws.make_client("lambda"), dlq_url, target.name, args.max)
    to_url = target.name
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


def _run_function(sqs, lam, dlq_url: str, function: str, limit: int) -> int:
    before = _depth(sqs, dlq_url)
    result = replay_into_function(sqs, lam, dlq_url, function, limit)
    print(
        f"redrive: re-invoked {function} with {result.replayed} event(s) from {dlq_url} (asynchronously; "
        f"a failing event returns to this DLQ after Lambda's retries); left {result.left}; "
        f"DLQ depth {before} -> {_depth(sqs, dlq_url)}"
    )
    for reason in result.reasons:
        print(f"redrive: left in the DLQ: {reason}")
    return 1 if result.left else 0
