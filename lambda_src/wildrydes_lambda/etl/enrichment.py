"""Enrich stage logic: nearest ground station and the heavy-utilization label for each ride."""

from __future__ import annotations

from wildrydes_lambda.etl.rides import is_heavy
from wildrydes_lambda.etl.stations import NoStationInRange, nearest_station

NO_STATION_REASON = "NO_STATION_IN_RANGE"


def enrich_ride(ride: dict) -> dict:
    """A copy of a normalized ride with `groundstation` and `heavy_utilization`; NoStationInRange if far."""
    station, _miles = nearest_station(ride["latitude"], ride["longitude"])
    return {
        **ride,
        "groundstation": station,
        "heavy_utilization": is_heavy(ride["magicpoints"], ride["distance"]),
    }


def enrich_rides(rides: list[dict]) -> tuple[list[dict], list[tuple[dict, str, str]]]:
    """(enriched rides, rejected as (ride, reason, detail)) — order kept, so output is deterministic."""
    enriched, rejected = [], []
    for ride in rides:
        try:
            enriched.append(enrich_ride(ride))
        except NoStationInRange as exc:
            rejected.append((ride, NO_STATION_REASON, str(exc)))
    return enriched, rejected
