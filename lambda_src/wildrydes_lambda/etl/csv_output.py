"""Processed CSV: the rendering of enriched rides (docs/design.md "Outputs")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS, RIDE_COLUMNS
from wildrydes_lambda.contracts.envelope import LEGACY_INGESTED_AT, Lineage, Source
from wildrydes_lambda.etl.naming import chunk_part, month_of, processed_key, source_key_hash
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


def csv_row(ride: dict, lineage: Sequence[str]) -> list[str]:
    """One enriched ride as CSV cells in CSV_COLUMNS order, quoted (KeyError if a column is missing);
    ``lineage`` holds the LINEAGE_COLUMNS cells (see :func:`lineage_cells`).

    A ride enriched before `station_distance_miles` existed (a message in flight across a deploy) gets it
    computed here from its position and `groundstation`, so the writer never fails on one."""
    if "station_distance_miles" not in ride and ride.get("groundstation") in GROUND_STATIONS:
        station_lat, station_lon = GROUND_STATIONS[ride["groundstation"]]
        miles = haversine_miles(ride["latitude"], ride["longitude"], station_lat, station_lon)
        ride = {**ride, "station_distance_miles": miles}
    return [_cell(ride[column]) for column in RIDE_COLUMNS] + [_cell(cell) for cell in lineage]


def lineage_cells(source: Source) -> tuple[str, str, str]:
    """(source_key_hash, source_version, ingested_at) of every row read from ``source``."""
    return (source_key_hash(source.key), source.source_version, source.ingested_at or LEGACY_INGESTED_AT)


def render_csv(rides: Iterable[dict], lineage: Sequence[str]) -> bytes:
    """UTF-8 CSV with a header line and '\\n' line ends, quoted and escaped as described above."""
    lines = [CSV_SEPARATOR.join(CSV_COLUMNS)]
    lines.extend(CSV_SEPARATOR.join(csv_row(ride, lineage)) for ride in rides)
    return ("\n".join(lines) + "\n").encode("utf-8")


def plan_csv_objects(
    rides: Iterable[dict], prefix: str, lineage: Lineage, per_ride: bool = False
) -> list[tuple[str, bytes]]:
    """(key, CSV bytes) for a message's rides: one object per ride month (or per ride in the baseline
    mode), named by source, version, grouping generation and chunk (``etl.naming``), so writing a
    redelivered message overwrites its own objects and another version's never collide with them."""
    by_month: dict[str, list[dict]] = defaultdict(list)
    for ride in rides:
        by_month[month_of(ride["statustime"])].append(ride)
    cells = lineage_cells(lineage.source)
    objects: list[tuple[str, bytes]] = []
    for month in sorted(by_month):
        group = sorted(by_month[month], key=lambda r: r["ride_id"])
        if per_ride:
            objects.extend(
                (
                    processed_key(prefix, month, lineage.source, lineage.generation, r["ride_id"]),
                    render_csv([r], cells),
                )
                for r in group
            )
        else:
            key = processed_key(
                prefix, month, lineage.source, lineage.generation, chunk_part(lineage.chunk, lineage.part)
            )
            objects.append((key, render_csv(group, cells)))
    return objects
