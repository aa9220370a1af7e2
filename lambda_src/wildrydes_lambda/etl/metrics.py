"""What the ETL functions count (pure; the handlers hand the counts to Powertools Metrics as EMF lines).

ingest: rides in / valid / quarantined / duplicates and messages sent, per file (the manifest's counts);
enrich: rides enriched and quarantined, messages sent; writer: rides and objects written. Dimension: service.
"""

from __future__ import annotations

from collections.abc import Mapping

from wildrydes_lambda.contracts import metrics as names


def ingest_counts(manifest: Mapping[str, object]) -> dict[str, int]:
    fields = {
        names.RIDES_IN: "rides_in",
        names.RIDES_VALID: "valid",
        names.RIDES_QUARANTINED: "quarantined",
        names.RIDES_DUPLICATE: "duplicates",
        names.MESSAGES_SENT: "messages",
    }
    return {name: int(manifest.get(field) or 0) for name, field in fields.items()}  # type: ignore[call-overload]


def enrich_counts(enriched: int, rejected: int) -> dict[str, int]:
    return {
        names.RIDES_ENRICHED: enriched,
        names.RIDES_QUARANTINED: rejected,
        names.MESSAGES_SENT: int(enriched > 0),
    }


def writer_counts(rides: int, objects: int) -> dict[str, int]:
    return {names.RIDES_WRITTEN: rides, names.OBJECTS_WRITTEN: objects}
