"""wildrydes generate: determinism, schema, exactness of the ground truth, weather realism, data defects."""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wildrydes import generate as gen
from wildrydes_lambda.etl.rides import is_heavy, validate_ride
from wildrydes_lambda.etl.stations import GROUND_STATIONS, nearest_station

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "data" / "sample"
# The arguments `make sample-data` uses (Makefile SAMPLE_RIDES / SAMPLE_SEED, --files 2).
SAMPLE_ARGS = {"n_rides": 5000, "seed": 20170101, "n_files": 2}
RIDE_KEYS = {"Name", "StatusTime", "Latitude", "Longitude", "Distance", "HealthPoints", "MagicPoints"}


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def load_rides(root: Path) -> dict[str, list[dict]]:
    return {p.name: json.loads(p.read_text())["travel_data"] for p in sorted((root / "rides").glob("*.json"))}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen-small")
    gen.generate(out, 3000, seed=11, n_files=3)
    return out


@pytest.fixture(scope="module")
def large_truth(tmp_path_factory) -> pd.DataFrame:
    """Enough rides to test calibration of the truth against observed labels."""
    out = tmp_path_factory.mktemp("gen-large")
    gen.generate(out, 60000, seed=5, n_files=1)
    return pd.read_csv(out / "truth" / "rides_truth.csv", dtype={"distance": str})


def test_same_seed_gives_byte_identical_files(small, tmp_path):
    gen.generate(tmp_path, 3000, seed=11, n_files=3)
    assert all_files(tmp_path) == all_files(small)


def test_different_seed_gives_different_rides_and_weather(small, tmp_path):
    gen.generate(tmp_path, 3000, seed=12, n_files=3)
    other, base = all_files(tmp_path), all_files(small)
    assert other["rides/rides-0000.json"] != base["rides/rides-0000.json"]
    assert other["ghcn/csv/by_year/2017.csv"] != base["ghcn/csv/by_year/2017.csv"]


def test_weather_does_not_depend_on_the_number_of_rides(small, tmp_path):
    gen.generate(tmp_path, 10, seed=11, n_files=1)
    for name, content in all_files(tmp_path).items():
        if name.startswith("ghcn/"):
            assert content == all_files(small)[name], name


def test_committed_sample_is_what_make_sample_data_writes(tmp_path):
    gen.generate(tmp_path, **SAMPLE_ARGS)
    assert all_files(tmp_path) == all_files(SAMPLE)
    assert sum(len(b) for b in all_files(SAMPLE).values()) < 3 * 1024 * 1024


def test_rides_follow_the_workshop_schema_and_pass_etl_validation(small):
    rides = load_rides(small)
    assert len(rides) == 3 and sum(len(v) for v in rides.values()) == 3000
    for file_rides in rides.values():
        times = [r["StatusTime"] for r in file_rides]
        assert times == sorted(times), "rides must be time-sorted within a file"
        for ride in file_rides:
            assert set(ride) == RIDE_KEYS  # no truth columns leak into the ride data
            assert isinstance(ride["MagicPoints"], int) and isinstance(ride["HealthPoints"], int)
            assert validate_ride(ride)["statustime"] == ride["StatusTime"]
            assert "2017-01-01" <= ride["StatusTime"][:10] <= "2018-12-31"


def test_truth_matches_the_rides_as_the_etl_sees_them(small):
    truth = {
        row["ride_id"]: row
        for row in csv.DictReader((small / "truth" / "rides_truth.csv").read_text().splitlines())
    }
    seen = 0
    for file_name, file_rides in load_rides(small).items():
        for ride in file_rides:
            norm = validate_ride(ride)
            row = truth[norm["ride_id"]]
            assert row["file"] == file_name
            assert row["groundstation"] == nearest_station(norm["latitude"], norm["longitude"])[0]
            assert float(row["distance"]) == norm["distance"]
            assert int(row["magicpoints"]) == norm["magicpoints"]
            assert int(row["heavy"]) == is_heavy(norm["magicpoints"], norm["distance"])
            seen += 1
    assert seen == len(truth) == 3000


def test_truth_uses_the_true_weather_of_the_station_day(small):
    weather = gen.generate_weather(11, date(2017, 1, 1), date(2018, 12, 31))
    index = {d.isoformat(): i for i, d in enumerate(weather.days)}
    rows = list(csv.DictReader((small / "truth" / "rides_truth.csv").read_text().splitlines()))
    for row in rows:
        i = index[row["ride_date"]]
        for col, el in (("tmin", "TMIN"), ("tmax", "TMAX"), ("prcp", "PRCP")):
            assert int(row[col]) == weather.true[row["groundstation"]][el][i]
        assert int(row["weather_complete"]) == weather.complete(row["groundstation"], i)
    assert {r["weather_complete"] for r in rows} == {"0", "1"}, (
        "the sample must include rides without weather"
    )


def test_truth_probability_follows_the_documented_formula(large_truth):
    t = large_truth
    d = t["distance"].astype(float).to_numpy()
    mean = (
        gen.FIXED_COST
        + gen.RATE_PER_MILE * d
        + gen.W_TMIN * t["tmin"]
        + gen.W_TMAX * t["tmax"]
        + gen.W_PRCP * t["prcp"]
    )
    # The label's integer threshold, computed the way the ETL compares (float64 product).
    z = (mean - (np.floor(50 * d) + 0.5)) / gen.NOISE_SCALE
    np.testing.assert_allclose(t["p_heavy"], 1 / (1 + np.exp(-z)), rtol=1e-9, atol=1e-12)


def test_truth_probability_is_calibrated_against_the_labels(large_truth):
    t = large_truth
    edges = np.linspace(0, 1, 11)
    bins = np.clip(np.digitize(t["p_heavy"], edges) - 1, 0, 9)
    chi2, dof = 0.0, 0
    for b in range(10):
        sel = bins == b
        n = int(sel.sum())
        if n < 200:
            continue
        p = t["p_heavy"][sel].to_numpy()
        observed = t["heavy"][sel].sum()
        expected, variance = p.sum(), (p * (1 - p)).sum()
        z = (observed - expected) / math.sqrt(variance)
        assert abs(z) < 4.5, f"bin {b}: observed {observed} expected {expected:.1f}"
        chi2, dof = chi2 + z * z, dof + 1
    assert dof >= 8
    assert chi2 < dof + 5 * math.sqrt(2 * dof)  # far beyond any plausible chi-square draw if miscalibrated


def test_weather_and_distance_both_move_the_probability(large_truth):
    t = large_truth
    wet, dry = t[t["prcp"] >= 50], t[t["prcp"] == 0]
    cold, warm = t[t["tmax"] < 50], t[t["tmax"] > 250]
    short, long_ = t[t["distance"].astype(float) < 1], t[t["distance"].astype(float) > 3]
    assert wet["heavy"].mean() > dry["heavy"].mean() + 0.05
    assert cold["heavy"].mean() > warm["heavy"].mean() + 0.1
    assert short["heavy"].mean() > long_["heavy"].mean() + 0.3


def test_bayes_auc_is_reachable_by_a_linear_model(large_truth):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    t = large_truth
    x = np.column_stack([t["distance"].astype(float), t["tmin"], t["tmax"], t["prcp"]])
    half = len(t) // 2
    model = LogisticRegression(max_iter=2000).fit(x[:half], t["heavy"][:half])
    auc_model = roc_auc_score(t["heavy"][half:], model.predict_proba(x[half:])[:, 1])
    auc_bayes = roc_auc_score(t["heavy"][half:], t["p_heavy"][half:])
    assert auc_bayes - auc_model < 0.005
    weather_blind = roc_auc_score(t["heavy"][half:], -x[half:, 0])
    assert auc_bayes - weather_blind > 0.02, "weather must carry signal beyond distance"


@pytest.fixture(scope="module")
def long_weather():
    return gen.generate_weather(3, date(1991, 1, 1), date(2020, 12, 31))


def _central_park(weather) -> pd.DataFrame:
    cp = weather.true["USW00094728"]
    return pd.DataFrame(
        {
            "month": [d.month for d in weather.days],
            "year": [d.year for d in weather.days],
            "tmax": cp["TMAX"],
            "tmin": cp["TMIN"],
            "prcp": cp["PRCP"],
        }
    )


def test_central_park_monthly_means_match_the_normals(long_weather):
    df = _central_park(long_weather)
    for month, (tmax_n, tmin_n, prcp_mm) in gen.CENTRAL_PARK_NORMALS.items():
        m = df[df["month"] == month]
        assert abs(m["tmax"].mean() - tmax_n) < 12, (month, m["tmax"].mean())  # within 1.2 degC
        assert abs(m["tmin"].mean() - tmin_n) < 12, (month, m["tmin"].mean())
        monthly_total_mm = m.groupby("year")["prcp"].sum().mean() / 10
        assert abs(monthly_total_mm - prcp_mm) < 0.2 * prcp_mm, (month, monthly_total_mm)
        wet_fraction = (m["prcp"] >= 3).mean()  # >= 0.25 mm
        assert 0.27 < wet_fraction < 0.40, (month, wet_fraction)


def test_day_to_day_variation_is_larger_in_winter(long_weather):
    df = _central_park(long_weather)
    jan = df[df["month"] == 1]["tmax"].diff().dropna().std()
    jul = df[df["month"] == 7]["tmax"].diff().dropna().std()
    assert jan > 1.3 * jul
    assert jul > 20 and jan < 100  # tenths of degC: variation exists but is plausible
    assert (df["tmin"] <= df["tmax"]).all()


def test_published_ghcn_has_quality_flags_missing_rows_and_distractors(small):
    df = pd.read_csv(small / "ghcn" / "csv" / "by_year" / "2017.csv", dtype=str, keep_default_na=False)
    assert list(df.columns) == list(gen.GHCN_HEADER)
    nyc = df[df["ID"].isin(GROUND_STATIONS)]
    assert (nyc["Q_FLAG"] != "").sum() >= 5
    assert set(df["ID"]) - set(GROUND_STATIONS), "distractor stations expected"
    assert {"TMAX", "TMIN", "PRCP", "SNOW"} <= set(df["ELEMENT"])
    per_element = nyc.groupby("ELEMENT").size()
    assert (per_element < 4 * 365).all(), "some rows must be missing"
    assert (nyc["M_FLAG"] == "T").any()


def test_parquet_layout_holds_the_same_rows_as_the_csv(small):
    import duckdb

    parquet = small / "ghcn" / "parquet" / "by_year"
    assert sorted(p.relative_to(parquet).parts[:2] for p in parquet.rglob("*.parquet")) == sorted(
        (f"YEAR={y}", f"ELEMENT={e}") for y in (2017, 2018) for e in gen.ELEMENTS
    )
    con = duckdb.connect()
    from_parquet = con.execute(
        f"SELECT ID, DATE, ELEMENT, DATA_VALUE, coalesce(Q_FLAG, '') FROM read_parquet('{parquet}/*/*/*.parquet', "
        "hive_partitioning = true) ORDER BY ALL"
    ).fetchall()
    rows = []
    for year in (2017, 2018):
        df = pd.read_csv(small / "ghcn" / "csv" / "by_year" / f"{year}.csv", dtype=str, keep_default_na=False)
        rows += [(r.ID, r.DATE, r.ELEMENT, int(r.DATA_VALUE), r.Q_FLAG) for r in df.itertuples()]
    assert from_parquet == sorted(rows)
    columns = [
        c[0]
        for c in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{next(parquet.rglob('*.parquet'))}', hive_partitioning = false)"
        ).fetchall()
    ]
    assert "ELEMENT" not in columns and "YEAR" not in columns  # partition keys only, as in noaa-ghcn-pds


def test_rounding_offset_is_taken_into_account():
    # 50 * 0.07 is 3.5000000000000004 in float64: MagicPoints 4 is heavy, and P(heavy) needs magic >= 3.5.
    assert gen.log_odds_heavy(0.07, 0, 0, 0) == pytest.approx(
        (gen.FIXED_COST + gen.RATE_PER_MILE * 0.07 - 3.5) / 10
    )
    # 50 * 2.0 = 100 exactly: heavy needs MagicPoints >= 101, i.e. magic >= 100.5.
    assert gen.log_odds_heavy(2.0, 0, 0, 0) == pytest.approx(
        (gen.FIXED_COST + gen.RATE_PER_MILE * 2 - 100.5) / 10
    )
