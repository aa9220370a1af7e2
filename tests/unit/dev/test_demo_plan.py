"""wildrydes_dev/demo.py's planning for `make demo RIDES=<your file>`: the span of the user's rides, the
weather window, what is generated and uploaded, and a report that claims no ground truth."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from wildrydes.workshop_shape import (
    WORKSHOP_FIRST_DAY,
    WORKSHOP_LAST_DAY,
    workshop_rides,
    write_workshop_file,
)
from wildrydes_dev import demo


def _settings(tmp_path: Path, rides_file: Path | None = None) -> demo.Settings:
    return demo.Settings(
        port=4999,
        moto_port=5000,
        rides=1234,
        seed=5,
        state_dir=tmp_path / "state",
        quiet_progress=True,
        rides_file=rides_file,
    )


def test_the_span_of_a_workshop_file_is_read_as_ingest_reads_it(tmp_path):
    path = write_workshop_file(tmp_path / "ride_data.json")
    first, last = demo.ride_span(path)
    rides = list(workshop_rides())
    assert (first.isoformat(), last.isoformat()) == (
        rides[0]["StatusTime"][:10],
        rides[-1]["StatusTime"][:10],
    )
    assert WORKSHOP_FIRST_DAY <= first < last <= WORKSHOP_LAST_DAY


def test_gzipped_ndjson_any_key_case_and_undated_rides_are_skipped(tmp_path):
    lines = [
        {"statustime": "2015-03-02 10:00:00", "name": "a"},
        {"STATUSTIME": "2013-07-09 23:59:59.999", "name": "b"},
        {"StatusTime": "not a time"},
        {"Name": "no time at all"},
        [1, 2],
    ]
    body = "\n".join(json.dumps(x) for x in lines) + "\n\nnot json\n"
    path = tmp_path / "rides.NDJSON.gz"
    path.write_bytes(gzip.compress(body.encode()))
    assert demo.ride_span(path) == (dt.date(2013, 7, 9), dt.date(2015, 3, 2))


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("rides.csv", b"a,b\n", "ingest reads .json"),
        ("rides.json", b"{not json", "ingest would reject"),
        ("rides.json", json.dumps([{"StatusTime": "yesterday"}]).encode(), "no ride with a valid StatusTime"),
    ],
)
def test_a_file_ingest_cannot_use_is_refused_before_anything_starts(tmp_path, name, body, message):
    path = tmp_path / name
    path.write_bytes(body)
    with pytest.raises(demo.DemoError, match=message):
        demo.ride_span(path)


def test_weather_covers_whole_years_of_the_span():
    assert demo.weather_window(dt.date(2009, 12, 31), dt.date(2019, 7, 10)) == (
        dt.date(2009, 1, 1),
        dt.date(2019, 12, 31),
    )


def test_the_default_plan_generates_the_sample_with_its_truth(tmp_path):
    plan = demo.plan_data(_settings(tmp_path), tmp_path / "data")
    assert plan.user_file is None and plan.has_truth and plan.weather_window is None
    args = plan.generate_args
    assert args[:5] == ["generate", "--rides", "1234", "--seed", "5"]
    assert "--start" not in args


def test_a_user_file_plan_generates_weather_only_and_uploads_the_file(tmp_path):
    path = write_workshop_file(tmp_path / "ride_data.json", n=200, seed=1)
    data_dir = tmp_path / "data"
    plan = demo.plan_data(_settings(tmp_path, path), data_dir)
    assert not plan.has_truth and plan.user_file == path
    args = plan.generate_args
    assert args[args.index("--rides") + 1] == "0"
    start, end = args[args.index("--start") + 1], args[args.index("--end") + 1]
    first, last = demo.ride_span(path)
    assert (start, end) == (f"{first.year}-01-01", f"{last.year}-12-31")
    assert plan.marker != demo.plan_data(_settings(tmp_path), data_dir).marker  # no reuse of the sample
    assert demo.upload_files(data_dir, plan) == [path]


def test_the_report_claims_no_bayes_auc_for_a_user_file(tmp_path):
    validation = {"roc_auc": 0.61, "brier": 0.2, "accuracy_at_threshold": 0.6, "rows": 40}
    summary = {"bayes_optimal_auc": 0.8, "auc_gap": 0.19}
    user = demo.plan_data(_settings(tmp_path, write_workshop_file(tmp_path / "r.json", n=20)), tmp_path / "d")
    line = demo.quality_line(validation, summary, user)
    assert "no ground truth" in line and "Bayes-optimal AUC 0." not in line and "0.6100" in line
    sample = demo.plan_data(_settings(tmp_path), tmp_path / "d")
    assert "vs Bayes-optimal AUC 0.8000" in demo.quality_line(validation, summary, sample)


def test_rides_file_argument(tmp_path, monkeypatch):
    path = write_workshop_file(tmp_path / "mine.json", n=10)
    monkeypatch.chdir(tmp_path)
    s = demo.parse_args(["--port", "4998", "--rides-file", "mine.json"])
    assert s.rides_file == path.resolve() and s.rides == 0
    assert demo.parse_args(["--port", "4998"]).rides_file is None
    with pytest.raises(SystemExit):
        demo.parse_args(["--port", "4998", "--rides-file", "missing.json"])
