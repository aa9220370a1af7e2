"""Ground stations and the nearest-station lookup (haversine great-circle distance)."""

from __future__ import annotations

import math

# Mean Earth radius (IUGG) in statute miles; ride distances are in miles too.
EARTH_RADIUS_MILES = 3958.7613

# GHCN-D stations whose daily weather labels the rides: id -> (latitude, longitude).
GROUND_STATIONS: dict[str, tuple[float, float]] = {
    "US1NYNY0074": (40.7969, -73.9330),
    "USW00014732": (40.7794, -73.8803),
    "USW00094728": (40.7789, -73.9692),
    "USW00094789": (40.6386, -73.7622),
}

# Training's default limit: a ride farther than this from its station has weather that is not its
# station's (src/wildrydes/training excludes it, reason far_from_station). Enrich has no limit by default
# (the workshop's semantics: every ride gets its nearest station); MAX_STATION_DISTANCE_MILES sets one.
MAX_STATION_DISTANCE_MILES = 50.0


class NoStationInRange(ValueError):
    """The nearest ground station is farther than the configured limit."""


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two (lat, lon) points in degrees, in miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def nearest_station(
    lat: float,
    lon: float,
    stations: dict[str, tuple[float, float]] = GROUND_STATIONS,
    max_miles: float | None = None,
) -> tuple[str, float]:
    """(station id, miles) of the closest station; ties go to the smaller id (deterministic).
    NoStationInRange when ``max_miles`` is set and the closest is farther."""
    best_id, best_miles = min(
        ((sid, haversine_miles(lat, lon, slat, slon)) for sid, (slat, slon) in stations.items()),
        key=lambda pair: (pair[1], pair[0]),
    )
    if max_miles is not None and best_miles > max_miles:
        raise NoStationInRange(f"nearest station {best_id} is {best_miles:.1f} miles from ({lat}, {lon})")
    return best_id, best_miles
