"""The processed CSV's columns, in file order (docs/design.md "Outputs"; the Glue rides table matches)."""

from __future__ import annotations

CSV_COLUMNS: tuple[str, ...] = (
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
