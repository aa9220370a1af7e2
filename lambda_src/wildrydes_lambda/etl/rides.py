"""Ride records: key normalization, validation with reason codes, identity and the heavy-usage rule.

Pure functions, stdlib only. ``validate_ride`` turns one raw record from an input file into a normalized
ride (see docs/design.md "Ride data") or raises :class:`InvalidRide` carrying a reason code from
:data:`REASONS`, so every rejected ride can be quarantined with a machine-readable cause.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# magicpoints > HEAVY_MAGIC_PER_MILE * distance  ->  heavy utilization (label 1)
HEAVY_MAGIC_PER_MILE = 50

# Fields every ride must carry (lower-case: input keys are matched case-insensitively).
REQUIRED_FIELDS = ("name", "statustime", "latitude", "longitude", "distance", "healthpoints", "magicpoints")

# The home area (New York City plus a margin). Since the workshop's semantics (every ride with valid
# coordinates gets its nearest station, however far) it only detects swapped coordinates: a position
# outside the box whose swap lands inside it is LAT_LON_SWAPPED. Far rides are limited, if at all, by
# enrich's optional MAX_STATION_DISTANCE_MILES (NO_STATION_IN_RANGE).
SERVICE_AREA_LAT = (40.3, 41.2)
SERVICE_AREA_LON = (-74.6, -73.3)

# Timestamps are accepted from this year range only; anything else is a corrupt clock, not a ride.
MIN_RIDE_YEAR = 2000
MAX_RIDE_YEAR = 2099

# Longest accepted rider name; longer strings are garbage or an attack on the CSV/SQS size budget.
MAX_NAME_CHARS = 256
# Upper bounds of a real ride (inclusive). A unicorn's day is a few dozen miles (the workshop's rides are
# ~30 miles), so 1,000 miles is far beyond any ride yet keeps 50 x distance and every sum over rides far
# from float overflow ("1e308" passes as a finite number otherwise). Points likewise: the workshop's
# values are in the hundreds to thousands; 1,000,000 leaves room and keeps integers exact in a double.
MAX_DISTANCE_MILES = 1000.0
MAX_POINTS = 1_000_000
# Characters a stored name may not hold: C0 controls and DEL. Athena reads the processed CSV line by line
# (TextInputFormat), so a line break inside a field splits the row whatever the quoting; the other control
# characters are refused with it so that a name is plain text everywhere it is shown.
_NAME_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")
# Lone UTF-16 surrogates (from NDJSON's parser) and the sentinel the JSON-document reader puts in their
# place (streaming.LONE_SURROGATE_SENTINEL): text that cannot be stored as UTF-8 without altering it.
_UNREPRESENTABLE_RE = re.compile("[\ud800-\udfff\ufdd0]")
# Longest accepted numeric string ("12.5"); a longer one is not a number we want to parse.
MAX_NUMBER_STRING_CHARS = 64
# Integers must fit int64, as in a JSON document (the parser rejects larger ones there as NOT_JSON).
INT64_LIMIT = 2**63

# Reason codes (the `reason` field of quarantine lines). Keep docs/design.md in sync.
REASONS = {
    "NOT_AN_OBJECT": "the ride is not a JSON object (e.g. a number, string or nested list)",
    "AMBIGUOUS_KEY": "two keys differ only by case and carry different values",
    "MISSING_FIELD": "a required field is absent",
    "NULL_FIELD": "a required field is null",
    "EMPTY_FIELD": "a required string field is empty or blank",
    "WRONG_TYPE": "a field has a JSON type that cannot hold its value (bool, list, object, ...)",
    "NOT_A_NUMBER": "a numeric field is a string that does not parse as a number",
    "NON_FINITE": "a numeric field is NaN or +/-Infinity",
    "NON_POSITIVE_DISTANCE": "distance is zero or negative",
    "NEGATIVE_POINTS": "healthpoints or magicpoints is negative",
    "LAT_OUT_OF_RANGE": "latitude is outside [-90, 90]",
    "LON_OUT_OF_RANGE": "longitude is outside [-180, 180]",
    "LAT_LON_SWAPPED": "latitude and longitude look swapped (swapped back they fall in the home area)",
    "BAD_TIMESTAMP": "statustime does not look like YYYY-MM-DD HH:MM:SS[.fff]",
    "IMPOSSIBLE_TIMESTAMP": "statustime has the right shape but is not a real instant (e.g. Feb 30, 25:00)",
    "TIMESTAMP_OUT_OF_RANGE": f"statustime's year is outside {MIN_RIDE_YEAR}..{MAX_RIDE_YEAR}",
    "STRING_TOO_LONG": f"name longer than {MAX_NAME_CHARS} or a numeric string longer than "
    f"{MAX_NUMBER_STRING_CHARS} characters",
    "UNREPRESENTABLE_STRING": "a string holds a lone UTF-16 surrogate escape (e.g. \\ud800) or the "
    "noncharacter U+FDD0: it cannot be stored exactly as UTF-8",
    "NAME_CONTROL_CHARACTER": "name holds a line break or another control character (U+0000-U+001F, U+007F)",
    "VALUE_TOO_LARGE": f"distance above {MAX_DISTANCE_MILES:g} miles or points above {MAX_POINTS:,}",
    "DUPLICATE_CONFLICT": "the ride id appeared earlier in the file with different values (the first is "
    "kept; this record is quarantined whole)",
    "NOT_JSON_LINE": "an NDJSON line is not one JSON value (syntax, invalid UTF-8, over the line limit)",
    "TOO_DEEP": "the record nests too deeply to process (recursion limit)",
    "RECORD_TOO_LARGE": "processing the record ran out of memory",
}

# Date and time, separated by a space or 'T', optional fraction of 1-6 digits, no zone.
_TIMESTAMP_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$", re.ASCII)
# Strings accepted as numbers: optional sign, digits with optional fraction and exponent, or the
# non-finite spellings Python accepts (rejected later as NON_FINITE with a precise reason).
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_INTEGER_RE = re.compile(r"^[+-]?\d+$", re.ASCII)
_NON_FINITE_RE = re.compile(r"^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


class InvalidRide(ValueError):
    """A ride that must be quarantined; ``reason`` is a key of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ServiceArea:
    lat: tuple[float, float] = SERVICE_AREA_LAT
    lon: tuple[float, float] = SERVICE_AREA_LON

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat[0] <= lat <= self.lat[1] and self.lon[0] <= lon <= self.lon[1]


NYC_SERVICE_AREA = ServiceArea()


def normalize_keys(record: dict) -> dict:
    """Lower-case every key. Keys equal up to case must carry equal values, else AMBIGUOUS_KEY."""
    out: dict = {}
    for key, value in record.items():
        low = str(key).lower()
        if low in out and out[low] != value:
            raise InvalidRide("AMBIGUOUS_KEY", f"key {low!r} appears twice with different values")
        out[low] = value
    return out


def _number(field: str, value: Any) -> int | float:
    """A finite int/float from a JSON number or a numeric string (int stays int, as given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidRide("WRONG_TYPE", f"{field} is {type(value).__name__}, expected a number")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_STRING_CHARS:
            raise InvalidRide("STRING_TOO_LONG", f"{field} string has {len(text)} characters")
        if _NON_FINITE_RE.match(text):
            raise InvalidRide("NON_FINITE", f"{field} is {text!r}")
        if not _NUMBER_RE.match(text):
            raise InvalidRide("NOT_A_NUMBER", f"{field} {text[:40]!r} does not parse as a number")
        value = int(text) if _INTEGER_RE.match(text) else float(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRide("NON_FINITE", f"{field} is {value!r}")
    if isinstance(value, int) and not -INT64_LIMIT <= value < INT64_LIMIT:
        raise InvalidRide("VALUE_TOO_LARGE", f"{field} integer has {len(str(abs(value)))} digits")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return float(value)


def canonical_statustime(value: Any) -> str:
    """`YYYY-MM-DD HH:MM:SS.fff` from an accepted timestamp string (fraction truncated to ms)."""
    if not isinstance(value, str):
        raise InvalidRide("WRONG_TYPE", f"statustime is {type(value).__name__}, expected a string")
    text = value.strip()
    match = _TIMESTAMP_RE.match(text) if len(text) <= 40 else None
    if match is None:
        raise InvalidRide("BAD_TIMESTAMP", f"statustime {text[:40]!r} is not YYYY-MM-DD HH:MM:SS[.fff]")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        instant = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise InvalidRide("IMPOSSIBLE_TIMESTAMP", f"statustime {text!r}: {exc}") from None
    if not MIN_RIDE_YEAR <= instant.year <= MAX_RIDE_YEAR:
        raise InvalidRide("TIMESTAMP_OUT_OF_RANGE", f"statustime {text!r}")
    millis = (fraction or "").ljust(3, "0")[:3]
    return f"{instant:%Y-%m-%d %H:%M:%S}.{millis}"


def _position(lat: float, lon: float, area: ServiceArea) -> tuple[float, float]:
    if not -90.0 <= lat <= 90.0:
        if area.contains(lon, lat):
            raise InvalidRide("LAT_LON_SWAPPED", f"latitude {lat} / longitude {lon}")
        raise InvalidRide("LAT_OUT_OF_RANGE", f"latitude {lat}")
    if not -180.0 <= lon <= 180.0:
        raise InvalidRide("LON_OUT_OF_RANGE", f"longitude {lon}")
    if not area.contains(lat, lon) and area.contains(lon, lat):
        raise InvalidRide("LAT_LON_SWAPPED", f"latitude {lat} / longitude {lon}")
    return lat, lon


def ride_identity(name: str, statustime: str, latitude: float, longitude: float) -> str:
    """The string a ride's id is hashed from; floats use Python's shortest round-trip repr."""
    return f"{name}|{statustime}|{latitude!r}|{longitude!r}"


def ride_id(name: str, statustime: str, latitude: float, longitude: float) -> str:
    """32 hex chars: the first 128 bits of sha256 of the ride identity (stable across runs)."""
    identity = ride_identity(name, statustime, latitude, longitude)
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def validate_ride(record: Any, area: ServiceArea = NYC_SERVICE_AREA) -> dict:
    """Normalized ride dict (lower-case keys, ``ride_id`` first) or :class:`InvalidRide`.

    Unknown keys are ignored (dropped from the normalized ride; they stay in the raw file).
    """
    if not isinstance(record, dict):
        raise InvalidRide("NOT_AN_OBJECT", f"ride is a JSON {type(record).__name__}")
    fields = normalize_keys(record)
    for field in REQUIRED_FIELDS:
        if field not in fields:
            raise InvalidRide("MISSING_FIELD", f"{field} is missing")
        if fields[field] is None:
            raise InvalidRide("NULL_FIELD", f"{field} is null")

    name = fields["name"]
    if not isinstance(name, str):
        raise InvalidRide("WRONG_TYPE", f"name is {type(name).__name__}, expected a string")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidRide("STRING_TOO_LONG", f"name has {len(name)} characters")
    if _UNREPRESENTABLE_RE.search(name):
        raise InvalidRide("UNREPRESENTABLE_STRING", "name holds a lone surrogate or U+FDD0")
    if not name.strip():
        raise InvalidRide("EMPTY_FIELD", "name is blank")
    control = _NAME_CONTROL_RE.search(name)
    if control:
        raise InvalidRide("NAME_CONTROL_CHARACTER", f"name holds U+{ord(control.group()):04X}")

    statustime = canonical_statustime(fields["statustime"])
    latitude = float(_number("latitude", fields["latitude"]))
    longitude = float(_number("longitude", fields["longitude"]))
    latitude, longitude = _position(latitude, longitude, area)

    distance = float(_number("distance", fields["distance"]))
    if distance <= 0:
        raise InvalidRide("NON_POSITIVE_DISTANCE", f"distance {distance}")
    if distance > MAX_DISTANCE_MILES:
        raise InvalidRide("VALUE_TOO_LARGE", f"distance {distance!r} > {MAX_DISTANCE_MILES:g} miles")
    healthpoints = _number("healthpoints", fields["healthpoints"])
    magicpoints = _number("magicpoints", fields["magicpoints"])
    for field, points in (("healthpoints", healthpoints), ("magicpoints", magicpoints)):
        if points < 0:
            raise InvalidRide("NEGATIVE_POINTS", f"{field} {points}")
        if points > MAX_POINTS:
            raise InvalidRide("VALUE_TOO_LARGE", f"{field} {points!r} > {MAX_POINTS:,}")

    return {
        "ride_id": ride_id(name, statustime, latitude, longitude),
        "name": name,
        "statustime": statustime,
        "latitude": latitude,
        "longitude": longitude,
        "distance": distance,
        "healthpoints": healthpoints,
        "magicpoints": magicpoints,
    }


def ride_date(ride: dict) -> str:
    """`YYYY-MM-DD` of a normalized ride (the processed/ partition)."""
    return ride["statustime"][:10]


def is_heavy(magicpoints: float, distance: float) -> int:
    """1 when the ride used more than HEAVY_MAGIC_PER_MILE magic points per mile, else 0."""
    return 1 if magicpoints > HEAVY_MAGIC_PER_MILE * distance else 0
