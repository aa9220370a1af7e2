"""SQS SendMessageBatch: a sender with retry of the entries SQS itself failed (ingest), and a per-item
send that reports which items were not sent (enrich's partial batch response)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wildrydes_lambda.aws.clients import client

# SendMessageBatch limits: 10 entries and 256 KiB for all bodies of one request together.
SQS_BATCH_MAX_ENTRIES = 10
SQS_BATCH_MAX_BYTES = 262_144
# Entries SQS reports as failed for its own reasons (throttling, internal errors) are resent this many
# times with exponential backoff before the invocation fails (and is retried as a whole).
SQS_SEND_ATTEMPTS = 5
SQS_RETRY_BASE_SECONDS = 0.2


class SqsSendError(RuntimeError):
    """Some messages could not be sent after all attempts (or SQS rejected them as invalid)."""


class SqsBatchSender:
    """Collects message bodies and sends them with SendMessageBatch (<= 10 entries, <= 256 KiB)."""

    def __init__(self, queue_url: str, sqs: Any = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.queue_url = queue_url
        self._sqs = sqs
        self._sleep = sleep
        self._pending: list[str] = []
        self._pending_bytes = 0
        self.sent = 0
        self.requests = 0

    def add(self, body: str) -> None:
        size = len(body.encode("utf-8"))
        if size > SQS_BATCH_MAX_BYTES:
            raise SqsSendError(f"message of {size} bytes exceeds the SQS limit")
        if self._pending and (
            len(self._pending) == SQS_BATCH_MAX_ENTRIES or self._pending_bytes + size > SQS_BATCH_MAX_BYTES
        ):
            self.flush()
        self._pending.append(body)
        self._pending_bytes += size

    def flush(self) -> None:
        if self._pending:
            self._send(self._pending)
            self._pending, self._pending_bytes = [], 0

    def _send(self, bodies: list[str]) -> None:
        sqs = self._sqs or client("sqs")
        entries = {str(i): body for i, body in enumerate(bodies)}
        for attempt in range(SQS_SEND_ATTEMPTS):
            self.requests += 1
            response = sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": i, "MessageBody": body} for i, body in entries.items()],
            )
            self.sent += len(response.get("Successful", []))
            failed = response.get("Failed", [])
            if not failed:
                return
            sender_faults = [f for f in failed if f.get("SenderFault")]
            if sender_faults:  # our fault (e.g. invalid body): retrying cannot help
                raise SqsSendError(f"SQS rejected {len(sender_faults)} messages: {sender_faults[0]}")
            entries = {f["Id"]: entries[f["Id"]] for f in failed}
            self._sleep(SQS_RETRY_BASE_SECONDS * 2**attempt)
        raise SqsSendError(f"{len(entries)} messages still failing after {SQS_SEND_ATTEMPTS} attempts")


@dataclass(frozen=True)
class BatchSendResult:
    """What send_in_batches did: the item ids whose message was NOT sent, the requests made, and the
    error of a call that raised (None if none did)."""

    failed_ids: tuple[str, ...]
    requests: int
    error: str | None = None


def pack_batches(items: Sequence[tuple[str, str]]) -> tuple[list[list[tuple[str, str]]], list[str]]:
    """Split (item id, body) pairs, in order, into SendMessageBatch-sized groups (<= 10 entries and
    <= 256 KiB of bodies each). Returns the groups and the ids of bodies too large to send at all."""
    batches: list[list[tuple[str, str]]] = []
    oversize: list[str] = []
    current: list[tuple[str, str]] = []
    current_bytes = 0
    for item_id, body in items:
        size = len(body.encode("utf-8"))
        if size > SQS_BATCH_MAX_BYTES:
            oversize.append(item_id)
            continue
        if current and (len(current) == SQS_BATCH_MAX_ENTRIES or current_bytes + size > SQS_BATCH_MAX_BYTES):
            batches.append(current)
            current, current_bytes = [], 0
        current.append((item_id, body))
        current_bytes += size
    if current:
        batches.append(current)
    return batches, oversize


def send_in_batches(queue_url: str, items: Sequence[tuple[str, str]], sqs: Any = None) -> BatchSendResult:
    """Send one message per (item id, body) with as few SendMessageBatch calls as the limits allow, and
    report per item which were not sent: entries in a response's Failed list, every entry of a call that
    raised and of the calls not made after it, and bodies over the size limit. Nothing is retried here:
    the caller reports the failed items to SQS (batchItemFailures) and their redelivery is the retry.
    Entry ids are positions within the call, so item ids need not follow SQS's entry-id rules."""
    batches, failed = pack_batches(items)
    if batches:
        sqs = sqs or client("sqs")
    requests = 0
    for position, batch in enumerate(batches):
        requests += 1
        try:
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(batch)],
            )
        except Exception as error:  # any failure of the call: nothing from it on is known to be sent
            failed.extend(item_id for later in batches[position:] for item_id, _ in later)
            return BatchSendResult(tuple(failed), requests, f"{type(error).__name__}: {error}")
        failed.extend(batch[int(entry["Id"])][0] for entry in response.get("Failed", []))
    return BatchSendResult(tuple(failed), requests)
