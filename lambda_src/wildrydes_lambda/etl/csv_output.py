"""Processed CSV: the rendering of enriched rides (docs/design.md "Outputs")."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable

from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS


def _cell(value: object) -> str:
    # repr() of a float is the shortest string that round-trips, so readers get the exact value back.
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_row(ride: dict) -> list[str]:
    """One enriched ride as CSV cells in CSV_COLUMNS order (KeyError if a column is missing)."""
    return [_cell(ride[column]) for column in CSV_COLUMNS]


def render_csv(rides: Iterable[dict]) -> bytes:
    """UTF-8 CSV with a header line, '\\n' line ends, quoting only where a cell needs it (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ride in rides:
        writer.writerow(csv_row(ride))
    return buffer.getvalue().encode("utf-8")


def group_object_name(ride_ids: Iterable[str]) -> str:
    """sha256 hex of the sorted ride ids (one per line): the same rides always give the same object."""
    digest = hashlib.sha256()
    for rid in sorted(ride_ids):
        digest.update(rid.encode("ascii") + b"\n")
    return digest.hexdigest()


def processed_key(prefix: str, ride_date: str, object_name: str) -> str:
    """`processed/ride_date=YYYY-MM-DD/<object_name>.csv` (Hive-style partition for Athena)."""
    return f"{prefix}ride_date={ride_date}/{object_name}.csv"


def plan_csv_objects(rides: Iterable[dict], prefix: str, per_ride: bool = False) -> list[tuple[str, bytes]]:
    """(key, CSV bytes) for a message's rides: one object per ride_date (or per ride in the baseline
    mode). Keys depend only on the ride ids, so writing a redelivered message overwrites its objects."""
    by_date: dict[str, list[dict]] = defaultdict(list)
    for ride in rides:
        by_date[ride["statustime"][:10]].append(ride)
    objects: list[tuple[str, bytes]] = []
    for date in sorted(by_date):
        group = sorted(by_date[date], key=lambda r: r["ride_id"])
        if per_ride:
            objects.extend((processed_key(prefix, date, r["ride_id"]), render_csv([r])) for r in group)
        else:
            name = group_object_name(r["ride_id"] for r in group)
            objects.append((processed_key(prefix, date, name), render_csv(group)))
    return objects
