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
    assert stations.haversine_miles(40.7, -73.9, 40.6, -73.7) == stations.haversine_miles(40.6, -73.7, 40.7, -73.9)


@pytest.mark.parametrize("station", sorted(stations.GROUND_STATIONS))
def test_each_station_is_nearest_to_itself(station):
    lat, lon = stations.GROUND_STATIONS[station]
    assert stations.nearest_station(lat + 0.001, lon - 0.001)[0] == station


def test_nearest_station_examples():
    assert stations.nearest_station(40.6413, -73.7781)[0] == "USW00094789"  # JFK
    assert stations.nearest_station(40.7769, -73.8740)[0] == "USW00014732"  # LaGuardia
    assert stations.nearest_station(40.7812, -73.9665)[0] == "USW00094728"  # Central Park


def test_station_too_far_is_refused():
    with pytest.raises(stations.NoStationInRange):
        stations.nearest_station(34.05, -118.24)


RIDE = validate_ride({"Name": 'Comet, "the fast"', "StatusTime": "2017-06-01 12:30:45.123", "Latitude": 40.75,
                      "Longitude": -73.95, "Distance": 2.5, "HealthPoints": 150, "MagicPoints": 130})


def test_csv_row_format_and_quoting():
    [enriched], rejected = enrich_rides([RIDE])
    assert rejected == []
    data = csvrows.render_csv([enriched]).decode()
    lines = data.split("\n")
    assert lines[0] == ",".join(csvrows.CSV_COLUMNS)
    assert lines[1] == (f'{RIDE["ride_id"]},"Comet, \\"the fast\\"",2017-06-01 12:30:45.123,40.75,-73.95,2.5,150,130,'
                        "USW00094728,1")
    assert lines[2] == "" and len(lines) == 3
    parsed = list(csv.DictReader(io.StringIO(data), escapechar="\\", doublequote=False))
    assert parsed[0]["name"] == 'Comet, "the fast"' and parsed[0]["heavy_utilization"] == "1"


def test_plan_groups_by_date_and_is_independent_of_order():
    other_day = validate_ride({"Name": "B", "StatusTime": "2017-06-02 08:00:00", "Latitude": 40.7, "Longitude": -73.9,
                               "Distance": 1, "HealthPoints": 1, "MagicPoints": 1})
    same_day = validate_ride({"Name": "C", "StatusTime": "2017-06-01 09:00:00", "Latitude": 40.7, "Longitude": -73.9,
                              "Distance": 1, "HealthPoints": 1, "MagicPoints": 100})
    enriched, _ = enrich_rides([RIDE, other_day, same_day])
    plan = csvrows.plan_csv_objects(enriched, "processed/")
    assert [k.split("/")[1] for k, _ in plan] == ["ride_date=2017-06-01", "ride_date=2017-06-02"]
    assert plan == csvrows.plan_csv_objects(list(reversed(enriched)), "processed/")
    assert plan[0][1].count(b"\n") == 3  # header + 2 rides
    per_ride = csvrows.plan_csv_objects(enriched, "processed/", per_ride=True)
    assert len(per_ride) == 3 and all(key.endswith(".csv") for key, _ in per_ride)
    assert {k.rsplit("/", 1)[1][:-4] for k, _ in per_ride} == {r["ride_id"] for r in enriched}
