"""The model's features: their request names (as the workshop and the API spell them), default order
and units. metadata.json carries the order a model was trained with; this is the default."""

from __future__ import annotations

FEATURE_NAMES: tuple[str, ...] = ("distance", "TMIN", "TMAX", "PRCP")
FEATURE_UNITS: dict[str, str] = {
    "distance": "miles",
    "TMIN": "tenths of degC",
    "TMAX": "tenths of degC",
    "PRCP": "tenths of mm",
}
LABEL_NAME = "heavy_utilization"
