"""Haversine, nearest station, CSV rows and the processed-object plan."""

import csv
import io

import pytest

from wildrydes_lambda.contracts.envelope import LEGACY_GENERATION, Lineage, Source, lineage_of
from wildrydes_lambda.etl import csv_output as csvrows
from wildrydes_lambda.etl import naming, stations
from wildrydes_lambda.etl.enrichment import enrich_rides
from wildrydes_lambda.etl.naming import source_key_hash
from wildrydes_lambda.etl.rides import validate_ride

LINEAGE = Lineage(
    Source("bucket", "raw/x y.json", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "2026-12-07T20:39:39.123000Z"),
    42,
    "0badcafe",
)


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
    data = csvrows.render_csv([enriched], csvrows.lineage_cells(LINEAGE.source)).decode()
    lines = data.split("\n")
    assert lines[0] == ",".join(csvrows.CSV_COLUMNS)
    assert lines[1] == (
        f'{RIDE["ride_id"]},"Comet, \\"the fast\\"",2017-06-01 12:30:45.123,40.75,-73.95,2.5,150,130,'
        f"USW00094728,1,{enriched['station_distance_miles']!r},"
        f"{source_key_hash('raw/x y.json')},3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY,2026-12-07T20:39:39.123000Z"
    )
    assert lines[2] == "" and len(lines) == 3
    parsed = list(csv.DictReader(io.StringIO(data), escapechar="\\", doublequote=False))
    assert parsed[0]["name"] == 'Comet, "the fast"' and parsed[0]["heavy_utilization"] == "1"
    assert parsed[0]["source_version"] == LINEAGE.source.version_id


def test_rows_of_a_source_without_a_version_or_lineage():
    """An unversioned bucket's source_version is the string "null"; a message from before lineage existed
    (in flight across the deploy) has an empty ingested_at, which sorts before every real one."""
    [enriched], _ = enrich_rides([RIDE])
    legacy = lineage_of({"v": 1, "source": {"bucket": "b", "key": "raw/old.json"}, "rides": [enriched]})
    [(key, body)] = csvrows.plan_csv_objects([enriched], "processed/", legacy)
    row = next(csv.DictReader(io.StringIO(body.decode()), escapechar="\\", doublequote=False))
    assert (row["source_version"], row["ingested_at"]) == ("null", "")
    assert row["source_key_hash"] == source_key_hash("raw/old.json")
    assert naming.parse_object_name(key).generation == LEGACY_GENERATION


def test_plan_groups_by_month_and_is_independent_of_order():
    other_day = validate_ride(
        {
            "Name": "B",
            "StatusTime": "2017-07-02 08:00:00",
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
    plan = csvrows.plan_csv_objects(enriched, "processed/", LINEAGE)
    assert [k.split("/")[1] for k, _ in plan] == ["ride_month=2017-06", "ride_month=2017-07"]
    assert plan == csvrows.plan_csv_objects(list(reversed(enriched)), "processed/", LINEAGE)
    assert plan[0][1].count(b"\n") == 3  # header + 2 rides
    # <key hash>-<version tag>-<generation>-<chunk>: one name per (message, month)
    names = [naming.parse_object_name(k) for k, _ in plan]
    assert {(n.key_hash, n.tag, n.part) for n in names} == {
        (source_key_hash("raw/x y.json"), naming.object_tag(LINEAGE.source, "0badcafe"), "00042")
    }
    per_ride = csvrows.plan_csv_objects(enriched, "processed/", LINEAGE, per_ride=True)
    assert len(per_ride) == 3 and all(key.endswith(".csv") for key, _ in per_ride)
    assert {naming.parse_object_name(k).part for k, _ in per_ride} == {r["ride_id"] for r in enriched}


def test_a_ride_enriched_before_the_distance_column_is_still_written():
    [enriched], _ = enrich_rides([RIDE])
    old = {k: v for k, v in enriched.items() if k != "station_distance_miles"}
    cells = csvrows.lineage_cells(LINEAGE.source)
    assert csvrows.render_csv([old], cells) == csvrows.render_csv([enriched], cells)
