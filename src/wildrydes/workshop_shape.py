"""A ride file shaped like the workshop's own ``ride_data.json`` (which cannot be downloaded here).

What is known of that file (issue 13): 7,755 rides, PascalCase keys, every ride named ``Shadowfax``,
``StatusTime`` from 2009-12-31 to 2019-07-10 over 3,129 distinct dates, latitudes 40.78 -> 42.86 (the
simulated unicorn drifts north on ~30-mile rides), so about 80 % of the rides lie north of 41.2 deg.
:func:`workshop_rides` reproduces that shape, seeded: dates drawn uniformly over the span (7,755 draws
from 3,480 days leave ~3,100 distinct dates), latitude uniform over 40.78..42.86 (79.8 % north of 41.2),
longitude near Manhattan's, distance 20..40 miles, magic points around the heavy threshold (50 per mile)
so both labels occur. There is no ground truth: it exists to test ingest on real-world shape and cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

WORKSHOP_RIDES = 7755
WORKSHOP_FIRST_DAY = date(2009, 12, 31)
WORKSHOP_LAST_DAY = date(2019, 7, 10)
WORKSHOP_NAME = "Shadowfax"
WORKSHOP_LAT = (40.78, 42.86)
WORKSHOP_LON = (-74.05, -73.85)
WORKSHOP_DISTANCE_MILES = (20.0, 40.0)
WORKSHOP_HEALTH = (100, 200)
# MagicPoints per mile drawn around the heavy threshold (50 per mile) so both labels occur.
WORKSHOP_MAGIC_PER_MILE = (35.0, 65.0)
SECONDS_PER_DAY = 86_400
COORDINATE_DECIMALS = 6
DISTANCE_DECIMALS = 2


def workshop_rides(n: int = WORKSHOP_RIDES, seed: int = 0) -> Iterator[dict]:
    """``n`` rides in time order, PascalCase keys, as the workshop's file spells them."""
    rng = np.random.default_rng(seed)
    span_days = (WORKSHOP_LAST_DAY - WORKSHOP_FIRST_DAY).days + 1
    days = np.sort(rng.integers(0, span_days, n))
    seconds = rng.integers(0, SECONDS_PER_DAY, n)
    millis = rng.integers(0, 1000, n)
    order = np.lexsort((millis, seconds, days))
    lats = rng.uniform(*WORKSHOP_LAT, n)
    lons = rng.uniform(*WORKSHOP_LON, n)
    distances = rng.uniform(*WORKSHOP_DISTANCE_MILES, n)
    health = rng.integers(WORKSHOP_HEALTH[0], WORKSHOP_HEALTH[1] + 1, n)
    magic_rate = rng.uniform(*WORKSHOP_MAGIC_PER_MILE, n)
    start = datetime(WORKSHOP_FIRST_DAY.year, WORKSHOP_FIRST_DAY.month, WORKSHOP_FIRST_DAY.day)
    for i in order:
        instant = start + timedelta(days=int(days[i]), seconds=int(seconds[i]), milliseconds=int(millis[i]))
        distance = round(float(distances[i]), DISTANCE_DECIMALS)
        yield {
            "Name": WORKSHOP_NAME,
            "StatusTime": instant.strftime("%Y-%m-%d %H:%M:%S.") + f"{instant.microsecond // 1000:03d}",
            "Latitude": round(float(lats[i]), COORDINATE_DECIMALS),
            "Longitude": round(float(lons[i]), COORDINATE_DECIMALS),
            "Distance": distance,
            "HealthPoints": int(health[i]),
            "MagicPoints": int(round(distance * float(magic_rate[i]))),
        }


def workshop_file_bytes(n: int = WORKSHOP_RIDES, seed: int = 0, wrapped: bool = True) -> bytes:
    """The whole file: ``{"travel_data": [...]}`` (or a bare list), ~1.2 MB at the workshop's size."""
    rides = list(workshop_rides(n, seed))
    return json.dumps({"travel_data": rides} if wrapped else rides).encode("utf-8")


def write_workshop_file(path: Path, n: int = WORKSHOP_RIDES, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workshop_file_bytes(n, seed))
    return path
