"""Small inline ride fixtures and a generated, never-materialized ride file for ETL tests."""

from __future__ import annotations

import json
from datetime import date, timedelta

BASE_LAT, BASE_LON = 40.70, -73.95
FIRST_DAY = date(2017, 6, 1)


def make_ride(i: int, day: int = 1, **overrides) -> dict:
    """A valid ride in the workshop schema; i makes it unique, day picks the ride_date (1 = 2017-06-01)."""
    ride_day = FIRST_DAY + timedelta(days=day - 1)
    ride = {
        "Name": f"Rider{i % 97}",
        "StatusTime": f"{ride_day:%Y-%m-%d} "
        f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}",
        "Latitude": round(BASE_LAT + (i % 100) * 0.002, 6),
        "Longitude": round(BASE_LON + (i % 50) * 0.003, 6),
        "Distance": 1.0 + (i % 20) * 0.5,
        "HealthPoints": 100 + i % 50,
        "MagicPoints": (i * 7) % 400,
    }
    ride.update(overrides)
    return ride


def file_bytes(rides: list, wrapped: bool = True) -> bytes:
    return json.dumps({"travel_data": rides} if wrapped else rides).encode()


class GeneratedRideFile:
    """A file-like ride file of n rides over many dates, produced on the fly (constant memory)."""

    def __init__(self, n: int, days: int = 28) -> None:
        self._chunks = self._generate(n, days)
        self._buffer = b""

    @staticmethod
    def _generate(n: int, days: int):
        yield b'{"travel_data": ['
        for i in range(n):
            sep = b"," if i else b""
            yield sep + json.dumps(make_ride(i, day=1 + i % days)).encode()
        yield b"]}"

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
