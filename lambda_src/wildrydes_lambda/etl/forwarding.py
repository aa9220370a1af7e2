"""Enrich's output side: the records Powertools' BatchProcessor enriched are forwarded with as few
SendMessageBatch calls as possible, and the partial batch response names every record that is not done.

A record is done when it was enriched and its message was sent (or it had no ride left to send). A record
whose enrichment failed (already in the processor's batchItemFailures) or whose message was not sent (an
entry in SendMessageBatch's Failed list, a call that raised, a body over the size limit) is reported in
batchItemFailures, so SQS redelivers it alone; redelivery re-enriches and re-sends the same body, which
the writer stores under the same keys (idempotent). Records that were sent are never reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wildrydes_lambda.aws.sqs import BatchSendResult, send_in_batches

SUCCESS = "success"  # the status Powertools' BatchProcessor.process() gives a record that was handled
FAILURES_KEY = "batchItemFailures"
ITEM_ID_KEY = "itemIdentifier"


@dataclass(frozen=True)
class EnrichOutcome:
    """One record's enrichment: counts for metrics/logging and the message to forward (None if no ride
    survived enrichment, so there is nothing to send)."""

    source_key: str
    chunk: int
    enriched: int
    rejected: int
    body: str | None


@dataclass(frozen=True)
class ForwardResult:
    """The records that are done (for metrics and logging), the partial batch response, the send's result."""

    done: tuple[EnrichOutcome, ...]
    response: dict[str, list[dict[str, str]]]
    send: BatchSendResult


def forward_enriched(
    processed: Sequence[tuple[str, Any, Mapping[str, Any]]],
    processor_response: Mapping[str, Sequence[Mapping[str, str]]],
    queue_url: str,
    sqs: Any = None,
) -> ForwardResult:
    """Send the bodies of the successfully processed records (BatchProcessor.process() tuples of status,
    EnrichOutcome, raw SQS record) in SendMessageBatch calls and add the records whose send failed to the
    processor's batchItemFailures."""
    succeeded = [(record["messageId"], outcome) for status, outcome, record in processed if status == SUCCESS]
    to_send = [(message_id, outcome.body) for message_id, outcome in succeeded if outcome.body is not None]
    send = send_in_batches(queue_url, to_send, sqs)
    not_sent = set(send.failed_ids)
    failures = [dict(item) for item in processor_response.get(FAILURES_KEY, [])]
    failures += [{ITEM_ID_KEY: message_id} for message_id, _ in to_send if message_id in not_sent]
    done = tuple(outcome for message_id, outcome in succeeded if message_id not in not_sent)
    return ForwardResult(done=done, response={FAILURES_KEY: failures}, send=send)
