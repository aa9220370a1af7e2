"""Enrich stage logic: nearest ground station, its distance and the heavy-utilization label for each ride."""

from __future__ import annotations

from wildrydes_lambda.etl.rides import is_heavy
from wildrydes_lambda.etl.stations import NoStationInRange, nearest_station

NO_STATION_REASON = "NO_STATION_IN_RANGE"


def enrich_ride(ride: dict, max_station_miles: float | None = None) -> dict:
    """A copy of a normalized ride with `groundstation`, `station_distance_miles` (haversine, miles) and
    `heavy_utilization`; NoStationInRange when ``max_station_miles`` is set and the nearest is farther."""
    station, miles = nearest_station(ride["latitude"], ride["longitude"], max_miles=max_station_miles)
    return {
        **ride,
        "groundstation": station,
        "station_distance_miles": miles,
        "heavy_utilization": is_heavy(ride["magicpoints"], ride["distance"]),
    }


def enrich_rides(
    rides: list[dict], max_station_miles: float | None = None
) -> tuple[list[dict], list[tuple[dict, str, str]]]:
    """(enriched rides, rejected as (ride, reason, detail)) — order kept, so output is deterministic."""
    enriched, rejected = [], []
    for ride in rides:
        try:
            enriched.append(enrich_ride(ride, max_station_miles))
        except NoStationInRange as exc:
            rejected.append((ride, NO_STATION_REASON, str(exc)))
    return enriched, rejected
