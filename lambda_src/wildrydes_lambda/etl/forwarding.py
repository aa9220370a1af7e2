"""Enrich's output side: the records Powertools' BatchProcessor enriched are forwarded with as few
SendMessageBatch calls as possible, and the partial batch response names every record that is not done.

A record is done when it was enriched and its message was sent (or it had no ride left to send). A record
whose enrichment failed (already in the processor's batchItemFailures) or whose message was not sent (an
entry in SendMessageBatch's Failed list, a call that raised, a body over the size limit) is reported in
batchItemFailures, so SQS redelivers it alone; redelivery re-enriches and re-sends the same body, which
the writer stores under the same keys (idempotent). Records that were sent are never reported.

An enriched message is normally one body. Ingest leaves a quarter of SQS's limit for what enrich adds; should
the enriched rides still compress past the limit (rides whose added fields compress unusually badly),
:func:`enriched_bodies` splits them in halves, in order, each half a *part* of the message with its own
``source.part``, and the writer names each part's objects apart. The split depends only on the enriched
rides, so a redelivery re-sends the same parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wildrydes_lambda.aws.sqs import BatchSendResult, send_in_batches
from wildrydes_lambda.contracts.envelope import SQS_MAX_MESSAGE_BYTES, Lineage, assemble_message, encode_ride

SUCCESS = "success"  # the status Powertools' BatchProcessor.process() gives a record that was handled
FAILURES_KEY = "batchItemFailures"
ITEM_ID_KEY = "itemIdentifier"


@dataclass(frozen=True)
class EnrichOutcome:
    """One record's enrichment: counts for metrics/logging and the message bodies to forward (none if no
    ride survived enrichment; two or more only when the enriched rides outgrew one message)."""

    source_key: str
    chunk: int
    enriched: int
    rejected: int
    bodies: tuple[str, ...]


def enriched_bodies(
    lineage: Lineage, rides: list[dict[str, Any]], limit_bytes: int = SQS_MAX_MESSAGE_BYTES
) -> tuple[str, ...]:
    """The message(s) carrying ``rides`` on: one body with the lineage unchanged when it fits
    ``limit_bytes``, else halves (recursively, in order) numbered as parts 0, 1, ... of the chunk. Enrich
    only ever receives ingest's messages, which have no part."""
    if not rides:
        return ()
    encoded = [encode_ride(ride) for ride in rides]

    def body(group: list[str], part: int | None) -> str:
        return assemble_message(lineage.source, lineage.chunk, group, lineage.generation, part)

    whole = body(encoded, lineage.part)
    if len(whole.encode("utf-8")) <= limit_bytes:
        return (whole,)
    pieces: list[list[str]] = []

    def split(group: list[str]) -> None:
        # Sized with the largest part number any piece can get, so numbering never pushes one over.
        if len(group) == 1 or len(body(group, len(encoded)).encode("utf-8")) <= limit_bytes:
            pieces.append(group)
            return
        half = len(group) // 2
        split(group[:half])
        split(group[half:])

    split(encoded)
    return tuple(body(group, part) for part, group in enumerate(pieces))


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
    to_send = [(message_id, body) for message_id, outcome in succeeded for body in outcome.bodies]
    send = send_in_batches(queue_url, to_send, sqs)
    not_sent = set(send.failed_ids)
    failures = [dict(item) for item in processor_response.get(FAILURES_KEY, [])]
    failures += [{ITEM_ID_KEY: message_id} for message_id, _ in to_send if message_id in not_sent]
    done = tuple(outcome for message_id, outcome in succeeded if message_id not in not_sent)
    return ForwardResult(done=done, response={FAILURES_KEY: failures}, send=send)
