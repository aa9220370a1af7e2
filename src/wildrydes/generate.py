"""`wildrydes generate`: seeded synthetic rides + GHCN-D weather with an exactly known ground truth.

Output layout under ``--out``::

    rides/rides-0000.json ...          {"travel_data": [ride, ...]}, time-sorted within each file
    ghcn/csv/by_year/YYYY.csv          GHCN-D by_year CSV (with header), NYC stations + distractors
    ghcn/parquet/by_year/YEAR=YYYY/ELEMENT=EL/data_0.parquet
    truth/rides_truth.csv              per ride: ride_id, the station-day weather used, exact P(heavy)

The generative model is documented in docs/data-model.md. In short, for a ride of written distance D at
station-day weather (TMIN, TMAX, PRCP) the unrounded magic usage is

    magic = FIXED_COST + RATE * D + W_TMIN * TMIN + W_TMAX * TMAX + W_PRCP * PRCP + NOISE_SCALE * eps,

eps ~ standard logistic, and MagicPoints = max(0, floor(magic + 0.5)). The label ``MagicPoints > 50 * D``
then has P(heavy) = sigmoid((FIXED_COST + (RATE - 50) D + W.x - delta) / NOISE_SCALE) with the rounding
offset delta = floor(50 D) + 0.5 - 50 D (computed in float64 exactly as the ETL compares), so the true
log-odds is linear in (D, TMIN, TMAX, PRCP) up to delta / NOISE_SCALE <= 0.05.

Same seed and arguments give byte-identical files: weather comes from its own seed stream (independent of
the number of rides) and each day's rides from a stream keyed by (seed, day), so rides are streamed one day
at a time and memory does not grow with --rides.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from wildrydes_lambda.etl.rides import HEAVY_MAGIC_PER_MILE, ride_id
from wildrydes_lambda.etl.stations import GROUND_STATIONS, nearest_station

# ---------------------------------------------------------------------------------------------------- model
# Magic-point model (units: magic points; D in miles; TMIN/TMAX in tenths of degC; PRCP in tenths of mm).
FIXED_COST = 15.0  # per ride, whatever its length: short rides are heavier per mile
RATE_PER_MILE = 42.0  # below HEAVY_MAGIC_PER_MILE, so long rides tend to be light
W_TMIN = -0.04  # cold nights raise magic use (per tenth of degC)
W_TMAX = -0.03  # cold days too
W_PRCP = 0.10  # rain raises magic use (per tenth of mm: 1 point per mm)
NOISE_SCALE = 10.0  # scale of the logistic noise, in magic points

# Ride attributes that do not enter the label.
DISTANCE_MEDIAN_MILES = 1.5
DISTANCE_LOG_SD = 0.7
DISTANCE_RANGE_MILES = (0.05, 20.0)
DISTANCE_DECIMALS = 2
POSITION_DECIMALS = 6
# Rides start inside this box (it contains the four ground stations and lies inside the ETL service area).
RIDE_LAT_RANGE = (40.57, 40.90)
RIDE_LON_RANGE = (-74.05, -73.72)
HEALTH_POINTS_RANGE = (50, 250)
UNICORN_NAMES = (
    "Shadowfax",
    "Rocinante",
    "Bucephalus",
    "Moonglow",
    "Starfire",
    "Thistle",
    "Quicksilver",
    "Nimbus",
    "Pegasus",
    "Marigold",
    "Sprocket",
    "Clover",
    "Tempest",
    "Juniper",
    "Comet",
    "Saffron",
)
MS_PER_DAY = 86_400_000

# ---------------------------------------------------------------------------------------------- weather
# Central Park 1991-2020 monthly normals: (TMAX, TMIN) tenths of degC, PRCP mm per month.
CENTRAL_PARK_NORMALS = {
    1: (42, -23, 92.5),
    2: (57, -14, 81.0),
    3: (99, 21, 109.0),
    4: (166, 75, 103.9),
    5: (219, 128, 100.6),
    6: (265, 180, 115.3),
    7: (294, 212, 116.8),
    8: (285, 205, 115.8),
    9: (246, 168, 109.5),
    10: (181, 108, 111.3),
    11: (122, 56, 90.9),
    12: (68, 10, 111.3),
}
# Day-to-day TMAX spread (tenths of degC): ~5.7 degC in January, ~3.4 degC in July.
TMAX_ANOMALY_SD_MEAN = 45.5
TMAX_ANOMALY_SD_AMPLITUDE = 11.5
ANOMALY_PERSISTENCE = 0.65  # AR(1) coefficient of the city-wide anomaly
TMIN_TMAX_ANOMALY_CORRELATION = 0.85
STATION_NOISE_SD = 8.0  # tenths of degC, station-to-station scatter on one day
MIN_DIURNAL_RANGE = 5  # tenths of degC, TMIN <= TMAX - this
# Wet days: a two-state Markov chain for the city (stationary wet fraction 0.25 / (0.25 + 0.5) = 1/3),
# each station following the city with a small chance of a local shower or a dry spot.
P_WET_AFTER_WET = 0.5
P_WET_AFTER_DRY = 0.25
P_STATION_WET_IF_CITY_WET = 0.95
P_STATION_WET_IF_CITY_DRY = 0.025
WET_AMOUNT_GAMMA_SHAPE = 0.8
STATION_AMOUNT_LOG_SD = 0.3
MIN_WET_PRCP_TENTHS_MM = 3  # a wet day has PRCP >= 0.25 mm
P_TRACE_ON_DRY_DAY = 0.1  # PRCP 0 with M_FLAG "T"
SNOW_MAX_TMAX = 20  # tenths of degC: precipitation falls as snow below this TMAX
# Data-quality defects of the published file (per element row).
P_QUALITY_FLAGGED = 0.004
P_ROW_MISSING = 0.003
QUALITY_FLAGS = ("D", "G", "I", "K", "S", "X")
FLAGGED_TEMPERATURE_SPIKE = 250  # a flagged value is off by this (tenths of degC) ...
FLAGGED_PRCP_FACTOR = 10  # ... or this factor for precipitation

ELEMENTS = ("TMAX", "TMIN", "PRCP", "SNOW")
GHCN_HEADER = ("ID", "DATE", "ELEMENT", "DATA_VALUE", "M_FLAG", "Q_FLAG", "S_FLAG", "OBS_TIME")


@dataclass(frozen=True)
class Station:
    id: str
    tmax_offset: int  # tenths of degC relative to Central Park's normals
    tmin_offset: int
    source_flag: str
    obs_time: str
    follows_city: bool  # NYC stations share the city's weather; distractors get their own


STATIONS = (
    Station("US1NYNY0074", 0, 0, "N", "0700", True),
    Station("USW00014732", -5, 12, "W", "", True),  # LaGuardia: milder nights by the water
    Station("USW00094728", 0, 0, "W", "2400", True),  # Central Park: the normals themselves
    Station("USW00094789", -12, 5, "W", "", True),  # JFK: sea breeze, cooler afternoons
    # Distractors elsewhere in the country: a reduction must filter them out.
    Station("USW00014739", -20, -25, "W", "", False),  # Boston Logan
    Station("USW00094846", -15, -40, "W", "", False),  # Chicago O'Hare
    Station("USW00023174", 90, 120, "W", "", False),  # Los Angeles
)
assert {s.id for s in STATIONS if s.follows_city} == set(GROUND_STATIONS), "stations out of sync"

# Seed-stream labels: each purpose draws from its own stream so one cannot shift another.
STREAM_WEATHER, STREAM_ALLOCATION, STREAM_DAY = 1, 2, 3


def _daily_normals(days: list[date]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central Park TMAX, TMIN (tenths degC) and mean PRCP per wet day (tenths mm), interpolated daily.

    Monthly normals are placed at mid-month and linearly interpolated (periodically over the year) so the
    seasonal cycle is smooth. The mean wet-day amount is the month's total over its expected wet days.
    """
    mid_doy = np.array([date(2001, m, 15).timetuple().tm_yday for m in range(1, 13)], dtype=float)
    tmax_n = np.array([CENTRAL_PARK_NORMALS[m][0] for m in range(1, 13)], dtype=float)
    tmin_n = np.array([CENTRAL_PARK_NORMALS[m][1] for m in range(1, 13)], dtype=float)
    xp = np.concatenate([mid_doy - 365, mid_doy, mid_doy + 365])
    doy = np.array([min(d.timetuple().tm_yday, 365) for d in days], dtype=float)
    tmax = np.interp(doy, xp, np.tile(tmax_n, 3))
    tmin = np.interp(doy, xp, np.tile(tmin_n, 3))
    wet_mean = np.array(
        [CENTRAL_PARK_NORMALS[d.month][2] * 10 / (calendar.monthrange(d.year, d.month)[1] / 3) for d in days]
    )
    return tmax, tmin, wet_mean


def _ar1(rng: np.random.Generator, sd: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) series with marginal standard deviation ``sd`` (per day) and persistence ``phi``."""
    out = np.empty(len(sd))
    state = rng.standard_normal()
    innovations = rng.standard_normal(len(sd))
    for i in range(len(sd)):
        if i:
            state = phi * state + math.sqrt(1 - phi * phi) * innovations[i]
        out[i] = state * sd[i]
    return out


def _wet_chain(rng: np.random.Generator, n: int) -> np.ndarray:
    stationary = P_WET_AFTER_DRY / (P_WET_AFTER_DRY + 1 - P_WET_AFTER_WET)
    u = rng.random(n)
    wet = np.empty(n, dtype=bool)
    wet[0] = u[0] < stationary
    for i in range(1, n):
        wet[i] = u[i] < (P_WET_AFTER_WET if wet[i - 1] else P_WET_AFTER_DRY)
    return wet


@dataclass
class Weather:
    """True daily weather per station and what the published GHCN file shows of it."""

    days: list[date]
    true: dict[str, dict[str, np.ndarray]]  # station -> element -> int array (true value per day)
    trace: dict[str, np.ndarray]  # station -> bool per day (PRCP 0 reported with M_FLAG T)
    q_flag: dict[str, dict[str, list[str]]]  # station -> element -> "" or a flag per day
    missing: dict[str, dict[str, np.ndarray]]  # station -> element -> bool (row absent from the file)

    def complete(self, station: str, day_index: int) -> bool:
        """True when TMIN, TMAX and PRCP of that station-day are all published with an empty Q_FLAG."""
        return all(
            not self.missing[station][el][day_index] and not self.q_flag[station][el][day_index]
            for el in ("TMIN", "TMAX", "PRCP")
        )

    def published_value(self, station: str, element: str, i: int) -> int:
        """The value in the file: the true one, or a corrupted one when the row is quality-flagged."""
        value = int(self.true[station][element][i])
        if not self.q_flag[station][element][i]:
            return value
        if element in ("TMAX", "TMIN"):
            return value + FLAGGED_TEMPERATURE_SPIKE
        return value * FLAGGED_PRCP_FACTOR + FLAGGED_PRCP_FACTOR


def generate_weather(seed: int, start: date, end: date) -> Weather:
    """Daily weather for every station from ``start`` to ``end`` inclusive (deterministic in seed)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM_WEATHER]))
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    n = len(days)
    tmax_norm, tmin_norm, wet_mean = _daily_normals(days)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    tmax_sd = TMAX_ANOMALY_SD_MEAN + TMAX_ANOMALY_SD_AMPLITUDE * np.cos(2 * np.pi * (doy - 15) / 365.25)

    def regional() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a_max = _ar1(rng, tmax_sd, ANOMALY_PERSISTENCE)
        rho = TMIN_TMAX_ANOMALY_CORRELATION
        a_min = rho * a_max + math.sqrt(1 - rho * rho) * _ar1(rng, tmax_sd * 0.9, ANOMALY_PERSISTENCE)
        wet = _wet_chain(rng, n)
        amount = rng.gamma(WET_AMOUNT_GAMMA_SHAPE, wet_mean / WET_AMOUNT_GAMMA_SHAPE)
        return a_max, a_min, wet, amount

    city = regional()
    true: dict[str, dict[str, np.ndarray]] = {}
    trace: dict[str, np.ndarray] = {}
    q_flag: dict[str, dict[str, list[str]]] = {}
    missing: dict[str, dict[str, np.ndarray]] = {}
    lognormal_mean = math.exp(STATION_AMOUNT_LOG_SD**2 / 2)
    for st in STATIONS:
        a_max, a_min, wet_region, amount = city if st.follows_city else regional()
        tmax = np.rint(tmax_norm + st.tmax_offset + a_max + rng.normal(0, STATION_NOISE_SD, n)).astype(int)
        tmin = np.rint(tmin_norm + st.tmin_offset + a_min + rng.normal(0, STATION_NOISE_SD, n)).astype(int)
        tmin = np.minimum(tmin, tmax - MIN_DIURNAL_RANGE)
        follow = rng.random(n)
        wet = np.where(wet_region, follow < P_STATION_WET_IF_CITY_WET, follow < P_STATION_WET_IF_CITY_DRY)
        local = amount * rng.lognormal(0, STATION_AMOUNT_LOG_SD, n) / lognormal_mean
        # A local shower on a regionally dry day draws its own amount.
        local = np.where(
            wet_region, local, rng.gamma(WET_AMOUNT_GAMMA_SHAPE, wet_mean / WET_AMOUNT_GAMMA_SHAPE)
        )
        prcp = np.where(wet, np.maximum(np.rint(local), MIN_WET_PRCP_TENTHS_MM), 0).astype(int)
        snow = np.where(tmax < SNOW_MAX_TMAX, prcp, 0).astype(int)  # mm of snow ~ tenths mm of water
        true[st.id] = {"TMAX": tmax, "TMIN": tmin, "PRCP": prcp, "SNOW": snow}
        trace[st.id] = (~wet) & (rng.random(n) < P_TRACE_ON_DRY_DAY)
        q_flag[st.id], missing[st.id] = {}, {}
        for el in ELEMENTS:
            flagged = rng.random(n) < P_QUALITY_FLAGGED
            which = rng.integers(0, len(QUALITY_FLAGS), n)
            q_flag[st.id][el] = [QUALITY_FLAGS[w] if f else "" for f, w in zip(flagged, which, strict=True)]
            missing[st.id][el] = (rng.random(n) < P_ROW_MISSING) & ~flagged
    return Weather(days, true, trace, q_flag, missing)


def ghcn_rows(weather: Weather, year: int):
    """GHCN-D by_year rows for one year, sorted by (ID, DATE, ELEMENT) as strings."""
    indices = [i for i, d in enumerate(weather.days) if d.year == year]
    for st in sorted(STATIONS, key=lambda s: s.id):
        for i in indices:
            day = weather.days[i].strftime("%Y%m%d")
            for el in sorted(ELEMENTS):
                if weather.missing[st.id][el][i]:
                    continue
                m_flag = "T" if el == "PRCP" and weather.trace[st.id][i] else ""
                yield (
                    st.id,
                    day,
                    el,
                    weather.published_value(st.id, el, i),
                    m_flag,
                    weather.q_flag[st.id][el][i],
                    st.source_flag,
                    st.obs_time,
                )


def write_ghcn(weather: Weather, out: Path) -> None:
    """csv/by_year/YYYY.csv (with header) and the Parquet by_year/YEAR=/ELEMENT= layout."""
    csv_dir = out / "csv" / "by_year"
    csv_dir.mkdir(parents=True, exist_ok=True)
    years = sorted({d.year for d in weather.days})
    for year in years:
        with open(csv_dir / f"{year}.csv", "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(GHCN_HEADER)
            writer.writerows(ghcn_rows(weather, year))
    write_parquet_from_csv(sorted(csv_dir.glob("*.csv")), out / "parquet" / "by_year")


def write_parquet_from_csv(csv_files: list[Path], parquet_root: Path) -> None:
    """Hive-partitioned Parquet (YEAR, ELEMENT as directory-only columns) written by DuckDB.

    One thread and an explicit ORDER BY make the files byte-identical across runs.
    """
    import duckdb

    if parquet_root.exists():
        shutil.rmtree(parquet_root)
    parquet_root.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("SET preserve_insertion_order = true")
    files = ", ".join(f"'{p.as_posix()}'" for p in csv_files)
    con.execute(
        f"""
        COPY (
            SELECT ID, DATE, DATA_VALUE, M_FLAG, Q_FLAG, S_FLAG, OBS_TIME,
                   substr(DATE, 1, 4) AS YEAR, ELEMENT
            FROM read_csv([{files}], header = true, auto_detect = false, columns = {{
                'ID': 'VARCHAR', 'DATE': 'VARCHAR', 'ELEMENT': 'VARCHAR', 'DATA_VALUE': 'BIGINT',
                'M_FLAG': 'VARCHAR', 'Q_FLAG': 'VARCHAR', 'S_FLAG': 'VARCHAR', 'OBS_TIME': 'VARCHAR'}})
            ORDER BY YEAR, ELEMENT, ID, DATE
        ) TO '{parquet_root.as_posix()}'
        (FORMAT parquet, PARTITION_BY (YEAR, ELEMENT), FILENAME_PATTERN 'data_{{i}}')
        """
    )
    con.close()


# ------------------------------------------------------------------------------------------------- rides
def log_odds_heavy(distance: float, tmin: float, tmax: float, prcp: float) -> float:
    """Exact log-odds of ``MagicPoints > 50 * distance`` for a ride written with this distance.

    MagicPoints = max(0, floor(magic + 0.5)) is an integer, so it exceeds t = 50 * distance (float64, as the
    ETL computes it) exactly when it is >= floor(t) + 1, i.e. when magic >= floor(t) + 0.5 (the clamp at 0
    never matters because t > 0). With magic = mean + NOISE_SCALE * eps, eps standard logistic:
    P = sigmoid((mean - floor(t) - 0.5) / NOISE_SCALE).
    """
    mean = FIXED_COST + RATE_PER_MILE * distance + W_TMIN * tmin + W_TMAX * tmax + W_PRCP * prcp
    threshold = HEAVY_MAGIC_PER_MILE * distance
    return (mean - (math.floor(threshold) + 0.5)) / NOISE_SCALE


def p_heavy(distance: float, tmin: float, tmax: float, prcp: float) -> float:
    z = log_odds_heavy(distance, tmin, tmax, prcp)
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


TRUTH_HEADER = (
    "ride_id",
    "file",
    "ride_date",
    "groundstation",
    "distance",
    "tmin",
    "tmax",
    "prcp",
    "weather_complete",
    "magicpoints",
    "heavy",
    "p_heavy",
)


class _RideFile:
    """One rides JSON file written incrementally: {"travel_data": [ ... ]}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 (closed in close())
        self.fh.write('{"travel_data": [')
        self.count = 0

    def write(self, line: str) -> None:
        self.fh.write(("\n" if self.count == 0 else ",\n") + line)
        self.count += 1

    def close(self) -> None:
        self.fh.write("\n]}\n" if self.count else "]}\n")
        self.fh.close()


def _json_string(text: str) -> str:
    # Names come from UNICORN_NAMES (plain ASCII letters), so quoting is enough.
    return '"' + text + '"'


def write_rides(weather: Weather, seed: int, n_rides: int, n_files: int, out: Path) -> dict[str, int]:
    """Stream rides day by day into ``n_files`` files and the truth CSV; return counts."""
    rides_dir, truth_dir = out / "rides", out / "truth"
    rides_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    alloc_rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM_ALLOCATION]))
    per_day = alloc_rng.multinomial(n_rides, np.full(len(weather.days), 1 / len(weather.days)))
    files = [_RideFile(rides_dir / f"rides-{k:04d}.json") for k in range(n_files)]
    counts = {"rides": 0, "heavy": 0, "incomplete_weather": 0}
    with open(truth_dir / "rides_truth.csv", "w", newline="") as tfh:
        truth = csv.writer(tfh, lineterminator="\n")
        truth.writerow(TRUTH_HEADER)
        for i, day in enumerate(weather.days):
            m = int(per_day[i])
            if not m:
                continue
            rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM_DAY, i]))
            millis = np.sort(rng.integers(0, MS_PER_DAY, m))
            lats = np.round(rng.uniform(*RIDE_LAT_RANGE, m), POSITION_DECIMALS)
            lons = np.round(rng.uniform(*RIDE_LON_RANGE, m), POSITION_DECIMALS)
            dist = np.clip(
                np.exp(rng.normal(math.log(DISTANCE_MEDIAN_MILES), DISTANCE_LOG_SD, m)), *DISTANCE_RANGE_MILES
            )
            names = rng.integers(0, len(UNICORN_NAMES), m)
            health = rng.integers(HEALTH_POINTS_RANGE[0], HEALTH_POINTS_RANGE[1] + 1, m)
            u = rng.random(m)
            eps = np.log(u) - np.log1p(-u)  # standard logistic
            which_file = rng.integers(0, n_files, m)
            for j in range(m):
                name = UNICORN_NAMES[names[j]]
                ms = int(millis[j])
                secs, frac = divmod(ms, 1000)
                statustime = (
                    f"{day:%Y-%m-%d} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{frac:03d}"
                )
                lat, lon = float(lats[j]), float(lons[j])
                distance_text = f"{dist[j]:.{DISTANCE_DECIMALS}f}"
                distance = float(distance_text)  # exactly what a reader of the JSON gets
                station, _ = nearest_station(lat, lon)
                tmin = int(weather.true[station]["TMIN"][i])
                tmax = int(weather.true[station]["TMAX"][i])
                prcp = int(weather.true[station]["PRCP"][i])
                mean = FIXED_COST + RATE_PER_MILE * distance + W_TMIN * tmin + W_TMAX * tmax + W_PRCP * prcp
                magic = max(0, math.floor(mean + NOISE_SCALE * float(eps[j]) + 0.5))
                heavy = 1 if magic > HEAVY_MAGIC_PER_MILE * distance else 0
                complete = weather.complete(station, i)
                k = int(which_file[j])
                files[k].write(
                    f'{{"Name": {_json_string(name)}, "StatusTime": "{statustime}", "Latitude": {lat!r}, '
                    f'"Longitude": {lon!r}, "Distance": {distance_text}, "HealthPoints": {int(health[j])}, '
                    f'"MagicPoints": {magic}}}'
                )
                truth.writerow(
                    (
                        ride_id(name, statustime, lat, lon),
                        files[k].path.name,
                        f"{day:%Y-%m-%d}",
                        station,
                        distance_text,
                        tmin,
                        tmax,
                        prcp,
                        int(complete),
                        magic,
                        heavy,
                        f"{p_heavy(distance, tmin, tmax, prcp):.12g}",
                    )
                )
                counts["rides"] += 1
                counts["heavy"] += heavy
                counts["incomplete_weather"] += int(not complete)
    for f in files:
        f.close()
    return counts


def generate(
    out: Path,
    n_rides: int,
    seed: int,
    n_files: int = 1,
    start: date = date(2017, 1, 1),
    end: date = date(2018, 12, 31),
) -> dict[str, int]:
    """Write rides, GHCN weather and the truth file under ``out`` (see the module docstring)."""
    weather = generate_weather(seed, start, end)
    write_ghcn(weather, out / "ghcn")
    return write_rides(weather, seed, n_rides, n_files, out)


# --------------------------------------------------------------------------------------------------- CLI
def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate",
        help="seeded synthetic rides + GHCN-D weather with exact ground truth",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--rides", type=int, required=True, help="number of rides")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed -> identical files)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--files", type=int, default=1, help="number of ride files (default 1)")
    p.add_argument("--start", type=_parse_date, default=date(2017, 1, 1), help="first day (YYYY-MM-DD)")
    p.add_argument("--end", type=_parse_date, default=date(2018, 12, 31), help="last day (YYYY-MM-DD)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from wildrydes.errors import CommandError

    if args.rides < 0:
        raise CommandError("--rides must be >= 0")
    if args.files < 1:
        raise CommandError("--files must be >= 1")
    if args.seed < 0:
        raise CommandError("--seed must be >= 0")
    if args.end < args.start:
        raise CommandError("--end is before --start")
    out: Path = args.out
    # Build in a sibling temp dir and swap in, so an interrupted run never leaves a half-written sample.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".generate-", dir=out.parent))
    try:
        counts = generate(tmp, args.rides, args.seed, args.files, args.start, args.end)
        for sub in ("rides", "ghcn", "truth"):
            if (out / sub).exists():
                shutil.rmtree(out / sub)
        out.mkdir(exist_ok=True)
        for sub in ("rides", "ghcn", "truth"):
            os.replace(tmp / sub, out / sub)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"wrote {counts['rides']} rides in {args.files} file(s) to {out}/rides, weather to {out}/ghcn, "
        f"truth to {out}/truth/rides_truth.csv (heavy {counts['heavy']}, "
        f"incomplete weather {counts['incomplete_weather']})"
    )
    return 0
