"""Haversine, nearest station, CSV rows and the processed-object plan."""

import csv
import io

import pytest

from wildrydes_lambda.etl import csv_output as csvrows
from wildrydes_lambda.etl import stations
from wildrydes_lambda.etl.enrichment import enrich_rides
from wildrydes_lambda.etl.rides import validate_ride


@pytest.mark.parametrize(
    "a, b, miles",
    [
        ((40.6413, -73.7781), (33.9416, -118.4085), 2470.0),  # JFK -> LAX
        ((51.4700, -0.4543), (40.6413, -73.7781), 3451.0),  # LHR -> JFK
        ((0.0, 0.0), (0.0, 1.0), 69.09),  # one degree of longitude on the equator
    ],
)
def test_haversine_known_distances(a, b, miles):
    assert stations.haversine_miles(*a, *b) == pytest.approx(miles, rel=0.005)


def test_haversine_is_symmetric_and_zero_on_self():
    assert stations.haversine_miles(40.7, -73.9, 40.7, -73.9) == 0.0
    assert stations.haversine_miles(40.7, -73.9, 40.6, -73.7) == stations.haversine_miles(
        40.6, -73.7, 40.7, -73.9
    )


@pytest.mark.parametrize("station", sorted(stations.GROUND_STATIONS))
def test_each_station_is_nearest_to_itself(station):
    lat, lon = stations.GROUND_STATIONS[station]
    assert stations.nearest_station(lat + 0.001, lon - 0.001)[0] == station


def test_nearest_station_examples():
    assert stations.nearest_station(40.6413, -73.7781)[0] == "USW00094789"  # JFK
    assert stations.nearest_station(40.7769, -73.8740)[0] == "USW00014732"  # LaGuardia
    assert stations.nearest_station(40.7812, -73.9665)[0] == "USW00094728"  # Central Park


def test_every_valid_position_gets_its_nearest_station_unless_a_limit_is_set():
    station, miles = stations.nearest_station(34.05, -118.24)  # Los Angeles: the workshop's semantics
    assert station == "USW00094728" and miles == pytest.approx(2447, rel=0.01)
    assert stations.nearest_station(34.05, -118.24, max_miles=3000.0) == (station, miles)
    with pytest.raises(stations.NoStationInRange):
        stations.nearest_station(34.05, -118.24, max_miles=50.0)


def test_workshop_rides_north_of_the_city_are_enriched_with_their_distance():
    north = validate_ride(
        {
            "Name": "Shadowfax",
            "StatusTime": "2009-12-31 23:59:59.000",
            "Latitude": 42.86,
            "Longitude": -73.9,
            "Distance": 30.0,
            "HealthPoints": 150,
            "MagicPoints": 1600,
        }
    )
    [enriched], rejected = enrich_rides([north])
    assert rejected == [] and enriched["groundstation"] == "US1NYNY0074"
    expected = stations.haversine_miles(42.86, -73.9, *stations.GROUND_STATIONS["US1NYNY0074"])
    assert enriched["station_distance_miles"] == expected and 140 < expected < 150
    assert enriched["heavy_utilization"] == 1  # 1600 > 50 x 30
    assert enrich_rides([north], max_station_miles=100.0)[1][0][1] == "NO_STATION_IN_RANGE"


RIDE = validate_ride(
    {
        "Name": 'Comet, "the fast"',
        "StatusTime": "2017-06-01 12:30:45.123",
        "Latitude": 40.75,
        "Longitude": -73.95,
        "Distance": 2.5,
        "HealthPoints": 150,
        "MagicPoints": 130,
    }
)


def test_csv_row_format_and_quoting():
    [enriched], rejected = enrich_rides([RIDE])
    assert rejected == []
    data = csvrows.render_csv([enriched]).decode()
    lines = data.split("\n")
    assert lines[0] == ",".join(csvrows.CSV_COLUMNS)
    assert lines[1] == (
        f'{RIDE["ride_id"]},"Comet, \\"the fast\\"",2017-06-01 12:30:45.123,40.75,-73.95,2.5,150,130,'
        f"USW00094728,1,{enriched['station_distance_miles']!r}"
    )
    assert lines[2] == "" and len(lines) == 3
    parsed = list(csv.DictReader(io.StringIO(data), escapechar="\\", doublequote=False))
    assert parsed[0]["name"] == 'Comet, "the fast"' and parsed[0]["heavy_utilization"] == "1"


def test_plan_groups_by_date_and_is_independent_of_order():
    other_day = validate_ride(
        {
            "Name": "B",
            "StatusTime": "2017-06-02 08:00:00",
            "Latitude": 40.7,
            "Longitude": -73.9,
            "Distance": 1,
            "HealthPoints": 1,
            "MagicPoints": 1,
        }
    )
    same_day = validate_ride(
        {
            "Name": "C",
            "StatusTime": "2017-06-01 09:00:00",
            "Latitude": 40.7,
            "Longitude": -73.9,
            "Distance": 1,
            "HealthPoints": 1,
            "MagicPoints": 100,
        }
    )
    enriched, _ = enrich_rides([RIDE, other_day, same_day])
    plan = csvrows.plan_csv_objects(enriched, "processed/")
    assert [k.split("/")[1] for k, _ in plan] == ["ride_date=2017-06-01", "ride_date=2017-06-02"]
    assert plan == csvrows.plan_csv_objects(list(reversed(enriched)), "processed/")
    assert plan[0][1].count(b"\n") == 3  # header + 2 rides
    per_ride = csvrows.plan_csv_objects(enriched, "processed/", per_ride=True)
    assert len(per_ride) == 3 and all(key.endswith(".csv") for key, _ in per_ride)
    assert {k.rsplit("/", 1)[1][:-4] for k, _ in per_ride} == {r["ride_id"] for r in enriched}


def test_a_ride_enriched_before_the_distance_column_is_still_written():
    [enriched], _ = enrich_rides([RIDE])
    old = {k: v for k, v in enriched.items() if k != "station_distance_miles"}
    assert csvrows.render_csv([old]) == csvrows.render_csv([enriched])
