"""The processed CSV's columns, in file order (docs/design.md "Outputs"; the Glue rides table matches)."""

from __future__ import annotations

# The ride's own columns (from the enriched ride dict).
RIDE_COLUMNS: tuple[str, ...] = (
    "ride_id",
    "name",
    "statustime",
    "latitude",
    "longitude",
    "distance",
    "healthpoints",
    "magicpoints",
    "groundstation",
    "heavy_utilization",
    "station_distance_miles",  # haversine miles to groundstation (appended: earlier columns keep their place)
)
# Lineage of every row (appended after the ride's columns; from the message envelope, not the ride):
# first 32 hex of sha256(raw object key), the S3 versionId read ("null" when none), the S3 event's time.
LINEAGE_COLUMNS: tuple[str, ...] = ("source_key_hash", "source_version", "ingested_at")

CSV_COLUMNS: tuple[str, ...] = RIDE_COLUMNS + LINEAGE_COLUMNS
