"""Processed CSV: the rendering of enriched rides (docs/design.md "Outputs")."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS
from wildrydes_lambda.etl.stations import GROUND_STATIONS, haversine_miles

# The Athena rides table reads these files with OpenCSVSerde (separatorChar ",", quoteChar '"',
# escapeChar "\\"; modules/athena). Its parser (opencsv) drops a backslash that does not precede a quote
# or another backslash and reads a doubled quote "" as one quote only in some positions, so the one
# encoding both it and DuckDB (read_csv(..., quote = '"', escape = '\\')) read back exactly is: quote a
# text cell that holds a separator, quote, backslash or leading/trailing blank (or is empty), and inside
# the quotes put a backslash before every quote and backslash. Line breaks cannot be stored at all (Athena
# splits rows at every line break before the SerDe runs); validation quarantines names holding them.
CSV_SEPARATOR, CSV_QUOTE, CSV_ESCAPE = ",", '"', "\\"
_NEEDS_QUOTES = frozenset((CSV_SEPARATOR, CSV_QUOTE, CSV_ESCAPE))


def quote_cell(text: str) -> str:
    """A text cell as the SerDe and DuckDB read it back identically (see above)."""
    if text and text == text.strip() and not _NEEDS_QUOTES.intersection(text):
        return text
    escaped = text.replace(CSV_ESCAPE, CSV_ESCAPE * 2).replace(CSV_QUOTE, CSV_ESCAPE + CSV_QUOTE)
    return f"{CSV_QUOTE}{escaped}{CSV_QUOTE}"


def _cell(value: object) -> str:
    # repr() of a float is the shortest string that round-trips, so readers get the exact value back.
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return quote_cell(value)
    return str(value)


def csv_row(ride: dict) -> list[str]:
    """One enriched ride as CSV cells in CSV_COLUMNS order, quoted (KeyError if a column is missing).

    A ride enriched before `station_distance_miles` existed (a message in flight across a deploy) gets it
    computed here from its position and `groundstation`, so the writer never fails on one."""
    if "station_distance_miles" not in ride and ride.get("groundstation") in GROUND_STATIONS:
        station_lat, station_lon = GROUND_STATIONS[ride["groundstation"]]
        miles = haversine_miles(ride["latitude"], ride["longitude"], station_lat, station_lon)
        ride = {**ride, "station_distance_miles": miles}
    return [_cell(ride[column]) for column in CSV_COLUMNS]


def render_csv(rides: Iterable[dict]) -> bytes:
    """UTF-8 CSV with a header line and '\\n' line ends, quoted and escaped as described above."""
    lines = [CSV_SEPARATOR.join(CSV_COLUMNS)]
    lines.extend(CSV_SEPARATOR.join(csv_row(ride)) for ride in rides)
    return ("\n".join(lines) + "\n").encode("utf-8")


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
