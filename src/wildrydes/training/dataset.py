"""Training data: the feature list and its leakage guard, the rides x weather join, and the seeded split."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from wildrydes.errors import CommandError
from wildrydes_lambda.contracts import features as features_contract
from wildrydes_lambda.etl.stations import MAX_STATION_DISTANCE_MILES

# Request names (as the inference API and metadata.json spell them) -> column of the joined table.
FEATURE_COLUMNS = {"distance": "distance", "TMIN": "tmin", "TMAX": "tmax", "PRCP": "prcp"}
FEATURE_UNITS = features_contract.FEATURE_UNITS
DEFAULT_FEATURES = features_contract.FEATURE_NAMES
LABEL_COLUMN = features_contract.LABEL_NAME
# Inputs that encode the label (heavy = magicpoints > 50 * distance) or are only known after the ride.
# Matched on the lower-cased name with separators removed, so "Magic_Points" is refused too.
LEAKY_NAME_PARTS = ("magic", "health", "heavy", "utiliz", "label", "target")

DEFAULT_SEED = 0
# load_joined's frame carries in .attrs how many processed rows the reader rule (sql/rides_unique.sql) dropped.
DUPLICATE_ROWS_ATTR = "duplicate_rows_dropped"
VALIDATION_FRACTION = 0.1


def parse_features(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate a feature list (comma string or sequence); raises CommandError on leakage or unknowns."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise CommandError("no features given")
    for name in names:
        squashed = name.lower().replace("_", "").replace("-", "")
        leak = next((part for part in LEAKY_NAME_PARTS if part in squashed), None)
        if leak:
            raise CommandError(
                f"feature {name!r} is not allowed: it leaks the label (heavy_utilization is defined as "
                f"magicpoints > 50 * distance) or is unknown at pricing time; use {', '.join(DEFAULT_FEATURES)}"
            )
        if name not in FEATURE_COLUMNS:
            raise CommandError(f"unknown feature {name!r}; available: {', '.join(FEATURE_COLUMNS)}")
    if len(set(names)) != len(names):
        raise CommandError(f"duplicate features in {','.join(names)}")
    return tuple(names)


def load_joined(rides: str, weather: str) -> pd.DataFrame:
    """Processed rides, each ride once, LEFT JOIN reduced weather, via the weather stage's join
    (sql/rides_unique.sql, then sql/training_join.sql).

    Local directories or s3:// prefixes; the result has ``wildrydes.weather.JOIN_HEADER`` columns and keeps
    rides without weather (``has_weather`` = 0) so build_dataset can count them. The number of processed
    rows the reader rule dropped (the same ride in several files, retries, superseded versions) is in
    ``frame.attrs[DUPLICATE_ROWS_ATTR]``.
    """
    from wildrydes import weather as weather_stage

    for what, location in (("--rides", rides), ("--weather", weather)):
        if not location.startswith("s3://") and not Path(location).exists():
            raise CommandError(f"{what}: {location} does not exist")
    try:
        rows, join_report = weather_stage.join_duckdb(rides, weather)
    except weather_stage.WeatherError as exc:
        raise CommandError(str(exc)) from None
    if join_report.missing_station_days:
        print(f"join: {join_report.summary()}", file=sys.stderr)
    frame = pd.DataFrame(rows, columns=list(weather_stage.JOIN_HEADER))
    frame.attrs[DUPLICATE_ROWS_ATTR] = join_report.duplicate_rows
    for column in (*FEATURE_COLUMNS.values(), LABEL_COLUMN):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


@dataclass
class Dataset:
    """The rows a model is trained and evaluated on, in a canonical order (sorted by ride_id)."""

    features: tuple[str, ...]
    ride_ids: np.ndarray
    x: np.ndarray  # raw features, float64, columns in `features` order
    y: np.ndarray  # 0/1 labels
    frame: pd.DataFrame  # the joined rows kept (for the report's plots)
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of exactly what the model sees: ids, labels and features in canonical order."""
        digest = hashlib.sha256()
        digest.update(json.dumps(list(self.features)).encode())
        digest.update("\n".join(self.ride_ids).encode())
        digest.update(np.ascontiguousarray(self.y, dtype="<i8").tobytes())
        digest.update(np.ascontiguousarray(self.x, dtype="<f8").tobytes())
        return digest.hexdigest()


def build_dataset(
    joined: pd.DataFrame,
    features: tuple[str, ...],
    max_station_distance_miles: float | None = MAX_STATION_DISTANCE_MILES,
) -> Dataset:
    """Select features and label; count the duplicate rows the join's reader rule dropped and drop (and
    count) any ride_id still repeated, rides farther than
    ``max_station_distance_miles`` from their station (their weather is not their station's; None = keep
    all) and rides without the weather needed."""
    columns = [FEATURE_COLUMNS[f] for f in features]
    frame = joined.sort_values("ride_id", kind="mergesort").reset_index(drop=True)
    excluded: dict[str, int] = {}
    duplicated = frame.duplicated("ride_id", keep="first")
    excluded["duplicate_ride_id"] = int(joined.attrs.get(DUPLICATE_ROWS_ATTR, 0)) + int(duplicated.sum())
    frame = frame[~duplicated]
    if max_station_distance_miles is not None and "station_distance_miles" in frame:
        miles = pd.to_numeric(frame["station_distance_miles"], errors="coerce")
        # A missing distance (a row written before the column existed, when ingest kept only rides inside
        # the NYC box, all within 47 miles of a station) is kept.
        far = miles > max_station_distance_miles
        excluded["far_from_station"] = int(far.sum())
        frame = frame[~far]
    no_station_day = frame["has_weather"] == 0
    incomplete = ~no_station_day & frame[columns].isna().any(axis=1)
    excluded["no_weather_for_station_day"] = int(no_station_day.sum())
    excluded["weather_element_missing"] = int(incomplete.sum())
    frame = frame[~no_station_day & ~incomplete]
    bad_label = ~frame[LABEL_COLUMN].isin([0, 1])
    excluded["bad_label"] = int(bad_label.sum())
    frame = frame[~bad_label].reset_index(drop=True)
    if frame.empty:
        raise CommandError(f"no rides left to train on after excluding {excluded}")
    y = frame[LABEL_COLUMN].to_numpy(dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise CommandError(f"all {len(y)} rides have heavy_utilization={y[0]}: nothing to learn")
    return Dataset(
        features=features,
        ride_ids=frame["ride_id"].to_numpy(dtype=str),
        x=frame[columns].to_numpy(dtype=np.float64),
        y=y,
        frame=frame,
        excluded=excluded,
    )


def split_indices(
    n: int, seed: int, validation_fraction: float = VALIDATION_FRACTION
) -> tuple[np.ndarray, ...]:
    """Seeded shuffle of the canonical row order into (train, validation) index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_validation = max(1, round(n * validation_fraction))
    if n - n_validation < 2:
        raise CommandError(f"only {n} rides: too few to split into training and validation")
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])
