"""The reader rule (sql/rides_unique.sql, the Athena view rides_unique) on DuckDB over processed CSV fixtures:
each ride once, the current version of each source only, the newest upload winning, deterministically; and
the training join reading through it."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from wildrydes import training as train
from wildrydes import weather as w
from wildrydes_lambda.contracts.csv_schema import CSV_COLUMNS, LINEAGE_COLUMNS
from wildrydes_lambda.contracts.csv_schema import RIDE_COLUMNS as RIDE_ONLY_COLUMNS
from wildrydes_lambda.etl.csv_output import CSV_SEPARATOR, csv_row, render_csv
from wildrydes_lambda.etl.rides import is_heavy, validate_ride
from wildrydes_lambda.etl.stations import nearest_station

STATION = "USW00094728"  # Central Park: every fixture ride is near it
MONTHS = ("2018-03", "2018-04")
KEY_HASH_CHARS = 32


def key_hash(key: str) -> str:
    """The lineage's source_key_hash: first 32 hex of sha256 of the raw object key (contract)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:KEY_HASH_CHARS]


def event_time(second: int) -> str:
    return f"2026-12-07T20:00:{second:02d}.000000Z"


def make_ride(i: int, magicpoints: float = 100.0) -> dict:
    """An enriched ride as the writer renders it; ride i always has the same ride_id (its identity is
    name, time and position), whatever its measurements."""
    month = MONTHS[i % len(MONTHS)]
    ride = validate_ride(
        {
            "Name": f"Unicorn {i}",
            "StatusTime": f"{month}-{1 + i % 28:02d} 12:{i % 60:02d}:00.000",
            "Latitude": 40.78 + i * 1e-4,
            "Longitude": -73.97,
            "Distance": 1.5,
            "HealthPoints": 100,
            "MagicPoints": magicpoints,
        }
    )
    station, miles = nearest_station(ride["latitude"], ride["longitude"])
    ride.update(
        groundstation=station,
        heavy_utilization=is_heavy(ride["magicpoints"], ride["distance"]),
        station_distance_miles=miles,
    )
    return ride


@dataclass(frozen=True)
class Upload:
    """One version of one raw object, as the pipeline stamps its rows."""

    key: str
    version: str
    ingested_at: str

    @property
    def lineage(self) -> dict[str, str]:
        return {
            "source_key_hash": key_hash(self.key),
            "source_version": self.version,
            "ingested_at": self.ingested_at,
        }


def render(rides: list[dict], upload: Upload | None) -> bytes:
    """A processed CSV as the writer renders it: the ride's columns, then the lineage (None: a file written
    before the lineage columns existed, header and rows without them)."""
    if upload is None:
        lines = [CSV_SEPARATOR.join(RIDE_ONLY_COLUMNS)]
        lines += [CSV_SEPARATOR.join(csv_row(r, ())) for r in rides]
        return ("\n".join(lines) + "\n").encode()
    return render_csv(rides, [upload.lineage[c] for c in LINEAGE_COLUMNS])


def write(root: Path, name: str, rides: list[dict], upload: Upload | None) -> Path:
    """processed/ride_month=YYYY-MM/<name>.csv, one object per month as the writer does."""
    paths = []
    for month in sorted({r["statustime"][:7] for r in rides}):
        path = root / f"ride_month={month}" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render([r for r in rides if r["statustime"].startswith(month)], upload))
        paths.append(path)
    return root


def view(root: Path) -> pd.DataFrame:
    result = w.unique_rides_duckdb(str(root))
    frame = pd.DataFrame(result.rows, columns=list(w.READER_COLUMNS))
    frame.attrs["rows_read"], frame.attrs["duplicate_rows"] = result.rows_read, result.duplicate_rows
    return frame


def ids(rides: list[dict]) -> list[str]:
    return sorted(r["ride_id"] for r in rides)


# ------------------------------------------------------------------------------------- the SQL text
def test_the_view_sql_renders_completely_and_returns_the_tables_columns():
    sql = w.unique_rides_sql("wildrydes.rides")
    assert "$" not in sql and "FROM wildrydes.rides AS r" in sql
    select = re.match(r"SELECT (.*?)\nFROM", sql.split("\n-- ")[-1].split("\n", 1)[1], re.S)
    assert select and [c.strip() for c in select.group(1).split(",")] == list(w.READER_COLUMNS)
    assert w.READER_COLUMNS[: len(CSV_COLUMNS)] == CSV_COLUMNS  # existing columns keep their place
    assert w.READER_COLUMNS[-1] == "ride_month" and set(w.LINEAGE_COLUMNS) <= set(w.READER_COLUMNS)
    text = (w.SQL_DIR / w.UNIQUE_SQL).read_text()
    assert "%{" not in text  # a Terraform template directive would break templatefile()
    # Trino has neither QUALIFY nor SELECT * EXCLUDE: the text must stay in the common subset.
    assert not re.search(r"\b(QUALIFY|EXCLUDE|arg_max)\b", text, re.I)


# ------------------------------------------------------------------------------------- the rule
def test_two_files_sharing_ten_rides_give_each_ride_once(tmp_path):
    rides = [make_ride(i) for i in range(50)]
    first, second = rides[:30], rides[20:]  # rides 20..29 are in both
    write(tmp_path, "a", first, Upload("raw/export-a.json", "va", event_time(1)))
    write(tmp_path, "b", second, Upload("raw/export-b.json", "vb", event_time(2)))
    frame = view(tmp_path)
    assert sorted(frame["ride_id"]) == ids(rides)  # 50 rides, once each
    assert frame.attrs["rows_read"] == 60 and frame.attrs["duplicate_rows"] == 10
    shared = frame[frame["ride_id"].isin(ids(rides[20:30]))]
    assert (shared["source_key_hash"] == key_hash("raw/export-b.json")).all()  # the newer upload wins
    assert sorted(frame["ride_month"].unique()) == list(MONTHS)
    assert (frame["ride_month"] == frame["statustime"].str[:7]).all()


def test_a_new_version_hides_the_old_one_and_a_dropped_ride_is_gone(tmp_path):
    v1 = [make_ride(i) for i in range(20)]
    v2 = [make_ride(0, magicpoints=900.0), *v1[1:19], make_ride(20)]  # ride 19 dropped, ride 0 corrected
    key = "raw/rides.json"
    write(tmp_path, "v1-objects", v1, Upload(key, "v1", event_time(1)))
    write(tmp_path, "v2-objects", v2, Upload(key, "v2", event_time(5)))
    frame = view(tmp_path).set_index("ride_id")
    assert sorted(frame.index) == ids(v2)
    assert v1[19]["ride_id"] not in frame.index
    assert (frame["source_version"] == "v2").all()  # no row of v1 shows, not even for unchanged rides
    assert float(frame.loc[v1[0]["ride_id"], "magicpoints"]) == 900.0
    assert frame.loc[v1[0]["ride_id"], "heavy_utilization"] == "1"


def test_a_ride_dropped_by_a_new_version_still_shows_from_another_file(tmp_path):
    v1 = [make_ride(i) for i in range(5)]
    write(tmp_path, "v1", v1, Upload("raw/rides.json", "v1", event_time(1)))
    write(tmp_path, "v2", v1[:4], Upload("raw/rides.json", "v2", event_time(3)))
    write(tmp_path, "other", [v1[4]], Upload("raw/other.json", "o1", event_time(2)))
    frame = view(tmp_path).set_index("ride_id")
    assert sorted(frame.index) == ids(v1)
    assert frame.loc[v1[4]["ride_id"], "source_key_hash"] == key_hash("raw/other.json")


def test_the_same_bytes_under_two_keys_count_once(tmp_path):
    rides = [make_ride(i) for i in range(12)]
    short, long_key = "raw/a.json", "raw/" + "k" * (200 - len("raw/.json")) + ".json"
    assert len(long_key) == 200
    write(tmp_path, "short", rides, Upload(short, "s1", event_time(7)))
    write(tmp_path, "long", rides, Upload(long_key, "l1", event_time(8)))
    frame = view(tmp_path)
    assert sorted(frame["ride_id"]) == ids(rides) and frame.attrs["duplicate_rows"] == len(rides)
    assert (frame["source_key_hash"] == key_hash(long_key)).all()


def test_a_retry_that_wrote_a_ride_twice_in_one_version_counts_it_once(tmp_path):
    rides = [make_ride(i) for i in range(30)]
    upload = Upload("raw/rides.json", "v1", event_time(1))
    # The first attempt grouped 10 rides per object, the retry (another RIDES_PER_MESSAGE) 7: other names.
    for n, size in (("attempt1", 10), ("attempt2", 7)):
        for start in range(0, len(rides), size):
            write(tmp_path, f"{n}-{start}", rides[start : start + size], upload)
    frame = view(tmp_path)
    assert sorted(frame["ride_id"]) == ids(rides)
    assert frame.attrs["rows_read"] == 60 and frame.attrs["duplicate_rows"] == 30


def test_rows_without_lineage_count_once_and_lose_to_an_upload_that_has_it(tmp_path):
    rides = [make_ride(i) for i in range(6)]
    write(tmp_path, "legacy-1", rides, None)
    write(tmp_path, "legacy-2", rides[:3], None)
    write(tmp_path, "new", rides[4:], Upload("raw/new.json", "n1", event_time(1)))
    frame = view(tmp_path).set_index("ride_id")
    assert sorted(frame.index) == ids(rides)
    assert frame.loc[ids(rides[4:]), "source_version"].tolist() == ["n1", "n1"]
    assert frame.loc[ids(rides[:4]), "source_key_hash"].isna().all()


def reference_rule(rows: list[dict]) -> dict[str, tuple[str, str]]:
    """The contract's rule in plain Python: ride_id -> (source_key_hash, source_version) of its winner."""
    newest: dict[str, tuple[str, str]] = {}
    for row in rows:
        mark = (row["ingested_at"], row["source_version"])
        newest[row["source_key_hash"]] = max(newest.get(row["source_key_hash"], mark), mark)
    winners: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        if (row["ingested_at"], row["source_version"]) != newest[row["source_key_hash"]]:
            continue
        rank = (row["ingested_at"], row["source_key_hash"], row["source_version"])
        winners[row["ride_id"]] = max(winners.get(row["ride_id"], rank), rank)
    return {ride: (hash_, version) for ride, (_, hash_, version) in winners.items()}


@pytest.mark.parametrize("seed", range(6))
def test_the_winner_matches_the_contract_and_does_not_depend_on_file_order(tmp_path, seed):
    rng = random.Random(seed)
    pool = [make_ride(i, magicpoints=float(rng.randint(0, 300))) for i in range(40)]
    keys = [f"raw/file-{k}.json" for k in range(4)]
    times = [event_time(rng.randint(0, 3)) for _ in range(12)]  # few distinct times: ties happen
    rows: list[dict] = []
    layouts = (tmp_path / "order-1", tmp_path / "order-2")
    for n in range(12):
        upload = Upload(rng.choice(keys), f"v{n}", times[n])
        chosen = rng.sample(pool, rng.randint(1, 15))
        rows += [{**r, **upload.lineage} for r in chosen]
        # The same objects under names that list in opposite orders in the two layouts.
        write(layouts[0], f"{n:03d}", chosen, upload)
        write(layouts[1], f"{999 - n:03d}", chosen, upload)
    expected = reference_rule(rows)
    first, second = view(layouts[0]), view(layouts[1])
    pd.testing.assert_frame_equal(first, second)
    got = {r.ride_id: (r.source_key_hash, r.source_version) for r in first.itertuples()}
    assert got == expected
    assert first.attrs["duplicate_rows"] == len(rows) - len(expected)


# ------------------------------------------------------------------------------------- training
def test_the_training_input_counts_each_shared_ride_once(tmp_path):
    rides = [make_ride(i, magicpoints=float(60 * (i % 3))) for i in range(50)]
    processed = tmp_path / "processed"
    write(processed, "a", rides[:30], Upload("raw/export-a.json", "va", event_time(1)))
    write(processed, "b", rides[20:], Upload("raw/export-b.json", "vb", event_time(2)))
    days = sorted({r["statustime"][:10] for r in rides})
    weather = tmp_path / "weather.csv"
    weather.write_text(
        "station_id,date,tmin,tmax,prcp\n"
        + "".join(f"{STATION},{d},10,200,{i}\n" for i, d in enumerate(days))
    )
    rows, report = w.join_duckdb(str(processed), str(weather))
    assert report.rides == len(rows) == 50 and len({r[0] for r in rows}) == 50
    assert report.rows_read == 60 and report.duplicate_rows == 10
    assert "10 of 60 processed rows dropped as duplicates" in report.summary()
    joined = train.load_joined(str(processed), str(weather))
    assert len(joined) == 50 and joined.attrs[train.DUPLICATE_ROWS_ATTR] == 10
    dataset = train.build_dataset(joined, train.DEFAULT_FEATURES)
    assert dataset.excluded["duplicate_ride_id"] == 10 and len(dataset.y) == 50
