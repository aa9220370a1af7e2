"""Validation of single rides: every reason code, normalization, identity and the heavy rule."""

import math

import pytest

from wildrydes_lambda.etl import rides
from wildrydes_lambda.etl.rides import InvalidRide, is_heavy, ride_id, validate_ride

GOOD = {
    "Name": "Shadowfax",
    "StatusTime": "2017-06-01 12:30:45.123",
    "Latitude": 40.75,
    "Longitude": -73.95,
    "Distance": 2.5,
    "HealthPoints": 150,
    "MagicPoints": 120.5,
}


def with_(**changes):
    record = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


def test_good_ride_is_normalized():
    ride = validate_ride(GOOD)
    assert list(ride) == [
        "ride_id",
        "name",
        "statustime",
        "latitude",
        "longitude",
        "distance",
        "healthpoints",
        "magicpoints",
    ]
    assert ride["statustime"] == "2017-06-01 12:30:45.123"
    assert ride["healthpoints"] == 150 and isinstance(ride["healthpoints"], int)
    assert ride["magicpoints"] == 120.5
    assert len(ride["ride_id"]) == 32 and int(ride["ride_id"], 16) >= 0


def test_keys_match_case_insensitively_and_unknown_keys_are_dropped():
    mixed = {k.upper() if i % 2 else k.lower(): v for i, (k, v) in enumerate(GOOD.items())}
    mixed["Colour"] = "white"
    assert validate_ride(mixed) == validate_ride(GOOD)
    assert "colour" not in validate_ride(mixed)


def test_numbers_as_strings_are_accepted_when_they_parse():
    ride = validate_ride(
        with_(
            Latitude=" 40.75", Longitude="-73.95", Distance="2.5", HealthPoints="150", MagicPoints="1.205e2"
        )
    )
    assert ride == validate_ride(GOOD)


def test_timestamp_variants_are_canonicalized():
    assert validate_ride(with_(StatusTime="2017-06-01T12:30:45"))["statustime"] == "2017-06-01 12:30:45.000"
    assert (
        validate_ride(with_(StatusTime="2017-06-01 12:30:45.1239"))["statustime"] == "2017-06-01 12:30:45.123"
    )


INVALID_CASES = [
    (42, "NOT_AN_OBJECT"),
    ([GOOD], "NOT_AN_OBJECT"),
    ("ride", "NOT_AN_OBJECT"),
    ({**GOOD, "name": "Other"}, "AMBIGUOUS_KEY"),
    (with_(Distance=...), "MISSING_FIELD"),
    (with_(MagicPoints=...), "MISSING_FIELD"),
    (with_(StatusTime=None), "NULL_FIELD"),
    (with_(Latitude=None), "NULL_FIELD"),
    (with_(Name="   "), "EMPTY_FIELD"),
    (with_(Name=17), "WRONG_TYPE"),
    (with_(Distance=True), "WRONG_TYPE"),
    (with_(Distance=[2.5]), "WRONG_TYPE"),
    (with_(HealthPoints={"v": 1}), "WRONG_TYPE"),
    (with_(StatusTime=1496320245), "WRONG_TYPE"),
    (with_(Distance="two miles"), "NOT_A_NUMBER"),
    (with_(Distance="٢"), "NOT_A_NUMBER"),  # non-ASCII digit
    (with_(Distance="NaN"), "NON_FINITE"),
    (with_(MagicPoints="-Infinity"), "NON_FINITE"),
    (with_(Distance=float("nan")), "NON_FINITE"),
    (with_(Latitude=float("inf")), "NON_FINITE"),
    (with_(Distance="1e999"), "NON_FINITE"),
    (with_(Distance=0), "NON_POSITIVE_DISTANCE"),
    (with_(Distance=-3.1), "NON_POSITIVE_DISTANCE"),
    (with_(MagicPoints=-1), "NEGATIVE_POINTS"),
    (with_(HealthPoints="-5"), "NEGATIVE_POINTS"),
    (with_(Latitude=91.0), "LAT_OUT_OF_RANGE"),
    (with_(Longitude=-181.0), "LON_OUT_OF_RANGE"),
    (with_(Latitude=-73.95, Longitude=40.75), "LAT_LON_SWAPPED"),
    (with_(StatusTime="yesterday"), "BAD_TIMESTAMP"),
    (with_(StatusTime="2017/06/01 12:30:45"), "BAD_TIMESTAMP"),
    (with_(StatusTime="2017-06-01 12:30:45+02:00"), "BAD_TIMESTAMP"),
    (with_(StatusTime="2017-02-30 12:00:00.000"), "IMPOSSIBLE_TIMESTAMP"),
    (with_(StatusTime="2017-06-01 25:00:00.000"), "IMPOSSIBLE_TIMESTAMP"),
    (with_(StatusTime="1899-06-01 12:00:00.000"), "TIMESTAMP_OUT_OF_RANGE"),
    (with_(Name="x" * (rides.MAX_NAME_CHARS + 1)), "STRING_TOO_LONG"),
    (with_(Distance="1" * (rides.MAX_NUMBER_STRING_CHARS + 1)), "STRING_TOO_LONG"),
    (with_(StatusTime="2100-01-01 00:00:00"), "TIMESTAMP_OUT_OF_RANGE"),
    (with_(StatusTime="1999-12-31 23:59:59"), "TIMESTAMP_OUT_OF_RANGE"),
    (with_(Name="a\ud800b"), "UNREPRESENTABLE_STRING"),  # lone surrogate (NDJSON's parser keeps it)
    (with_(Name="\udc00"), "UNREPRESENTABLE_STRING"),
    (with_(Name="x\ufdd0"), "UNREPRESENTABLE_STRING"),  # the JSON-document reader's stand-in for one
    (with_(Name="two\nlines"), "NAME_CONTROL_CHARACTER"),
    (with_(Name="cr\r"), "NAME_CONTROL_CHARACTER"),
    (with_(Name="nul\x00"), "NAME_CONTROL_CHARACTER"),
    (with_(Distance="1e308"), "VALUE_TOO_LARGE"),
    (with_(Distance=rides.MAX_DISTANCE_MILES + 0.01), "VALUE_TOO_LARGE"),
    (with_(MagicPoints=rides.MAX_POINTS + 1), "VALUE_TOO_LARGE"),
    (with_(HealthPoints=2**63), "VALUE_TOO_LARGE"),  # NDJSON's parser accepts any integer
    (with_(Latitude=10**400), "VALUE_TOO_LARGE"),
]

# Reasons ingest gives outside validate_ride (tested in test_hostile_input.py and test_formats.py).
INGEST_LEVEL_REASONS = {"DUPLICATE_CONFLICT", "NOT_JSON_LINE", "TOO_DEEP", "RECORD_TOO_LARGE"}


@pytest.mark.parametrize("record, reason", INVALID_CASES)
def test_invalid_rides_carry_their_reason(record, reason):
    with pytest.raises(InvalidRide) as info:
        validate_ride(record)
    assert info.value.reason == reason
    assert info.value.detail


def test_every_reason_code_is_exercised():
    tested = {reason for _, reason in INVALID_CASES}
    assert tested | INGEST_LEVEL_REASONS == set(rides.REASONS) and not tested & INGEST_LEVEL_REASONS


def test_same_key_with_same_value_in_two_cases_is_fine():
    assert validate_ride({**GOOD, "name": "Shadowfax"})["name"] == "Shadowfax"


def test_ride_id_is_stable_and_identity_sensitive():
    a = ride_id("Shadowfax", "2017-06-01 12:30:45.123", 40.75, -73.95)
    assert a == ride_id("Shadowfax", "2017-06-01 12:30:45.123", 40.75, -73.95)
    assert a != ride_id("Shadowfax", "2017-06-01 12:30:45.124", 40.75, -73.95)
    assert a != ride_id("Bucephalus", "2017-06-01 12:30:45.123", 40.75, -73.95)
    # Same timestamp, different rider: two different rides, both kept.
    assert validate_ride(GOOD)["ride_id"] != validate_ride(with_(Name="Bucephalus"))["ride_id"]


def test_distance_and_points_do_not_change_identity():
    assert validate_ride(with_(Distance=9.0))["ride_id"] == validate_ride(GOOD)["ride_id"]


@pytest.mark.parametrize(
    "magic, distance, heavy",
    [(100.0, 2.0, 0), (100.0001, 2.0, 1), (99.9999, 2.0, 0), (0, 0.1, 0), (51, 1, 1), (50, 1, 0)],
)
def test_heavy_rule_boundary(magic, distance, heavy):
    assert rides.HEAVY_MAGIC_PER_MILE == 50
    assert is_heavy(magic, distance) == heavy


def test_bounds_are_inclusive_and_names_are_kept_exactly():
    at_bounds = validate_ride(with_(Distance=rides.MAX_DISTANCE_MILES, MagicPoints=rides.MAX_POINTS))
    assert (at_bounds["distance"], at_bounds["magicpoints"]) == (rides.MAX_DISTANCE_MILES, rides.MAX_POINTS)
    for name in [
        "back\\slash\\",
        'quo"te',
        "com,ma",
        "=1+1",
        " padded ",
        "\U0001f600 emoji",
        "tab-free ünïcødé",
    ]:
        assert validate_ride(with_(Name=name))["name"] == name


def test_accepted_years_are_the_athena_projection_range():
    """The Athena table projects ride_month over exactly the accepted years (modules/athena default)."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[3] / "modules" / "athena" / "variables.tf").read_text()
    block = text[text.index('variable "ride_month_range"') :]
    first, last = re.search(r'default\s*=\s*"(\d{4})-01,(\d{4})-12"', block).groups()
    assert (int(first), int(last)) == (rides.MIN_RIDE_YEAR, rides.MAX_RIDE_YEAR)


def test_far_positions_are_valid_rides():
    """The workshop's semantics: every valid coordinate is a ride (enrich finds its nearest station)."""
    for lat, lon in ((34.05, -118.24), (42.86, -73.9), (0.0, 0.0), (10.0, 10.0), (-89.9, 179.9)):
        assert validate_ride(with_(Latitude=lat, Longitude=lon))["latitude"] == lat


def test_service_area_corners_are_inside():
    for lat in rides.SERVICE_AREA_LAT:
        for lon in rides.SERVICE_AREA_LON:
            assert math.isfinite(validate_ride(with_(Latitude=lat, Longitude=lon))["latitude"])
