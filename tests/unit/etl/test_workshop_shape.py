"""The workshop-shaped ride file lands completely: every ride valid, nearest station, distance, label."""

import io

from wildrydes.workshop_shape import WORKSHOP_RIDES, workshop_file_bytes, workshop_rides
from wildrydes_lambda.contracts.envelope import Source, decode_message, lineage_of
from wildrydes_lambda.etl import quarantine as q
from wildrydes_lambda.etl.csv_output import plan_csv_objects
from wildrydes_lambda.etl.enrichment import enrich_rides
from wildrydes_lambda.etl.ingestion import ingest_file
from wildrydes_lambda.etl.rides import is_heavy
from wildrydes_lambda.etl.stations import GROUND_STATIONS, haversine_miles

SOURCE = Source("bucket", "raw/ride_data.json")
NORTH_OF = 41.2


def test_the_builder_has_the_workshop_shape():
    rides = list(workshop_rides())
    assert len(rides) == WORKSHOP_RIDES and {r["Name"] for r in rides} == {"Shadowfax"}
    assert set(rides[0]) == {
        "Name",
        "StatusTime",
        "Latitude",
        "Longitude",
        "Distance",
        "HealthPoints",
        "MagicPoints",
    }
    dates = {r["StatusTime"][:10] for r in rides}
    assert 3_000 <= len(dates) <= 3_250
    assert min(dates) >= "2009-12-31" and max(dates) <= "2019-07-10"
    assert len({d[:4] for d in dates}) == 11  # 2009 (one day) .. 2019: ten years of rides
    north = sum(r["Latitude"] > NORTH_OF for r in rides) / len(rides)
    assert 0.77 <= north <= 0.83
    assert [r["StatusTime"] for r in rides] == sorted(r["StatusTime"] for r in rides)
    assert list(workshop_rides(50, seed=3)) == list(workshop_rides(50, seed=3))


def test_every_workshop_ride_is_processed_with_its_nearest_station():
    bodies: list[str] = []
    quarantine = q.QuarantineWriter(lambda k, b: None, "quarantine/", SOURCE)
    data = workshop_file_bytes()
    manifest = ingest_file(SOURCE, lambda: io.BytesIO(data), bodies.append, quarantine)
    assert (manifest.rides_in, manifest.valid, manifest.quarantined, manifest.duplicates) == (
        WORKSHOP_RIDES,
        WORKSHOP_RIDES,
        0,
        0,
    )
    rides = [r for body in bodies for r in decode_message(body)["rides"]]
    enriched, rejected = enrich_rides(rides)
    assert rejected == [] and len(enriched) == WORKSHOP_RIDES
    for ride in enriched:
        miles = {
            sid: haversine_miles(ride["latitude"], ride["longitude"], *pos)
            for sid, pos in GROUND_STATIONS.items()
        }
        assert ride["groundstation"] == min(miles, key=lambda s: (miles[s], s))
        assert ride["station_distance_miles"] == miles[ride["groundstation"]]
        assert ride["heavy_utilization"] == is_heavy(ride["magicpoints"], ride["distance"])
    assert 0.2 < sum(r["heavy_utilization"] for r in enriched) / WORKSHOP_RIDES < 0.8
    # Sparse months are packed whole into shared messages, and the writer writes one object per (message,
    # month): one object per month for this file (per date it was ~3.1k: 0.4 per ride), ~11 messages.
    months = sorted({r["statustime"][:7] for r in rides})
    assert manifest.months == months and len(months) == 116
    objects = [
        key
        for body in bodies
        for key, _ in plan_csv_objects(
            enrich_rides(decode_message(body)["rides"])[0], "processed/", lineage_of(decode_message(body))
        )
    ]
    assert len(objects) == len(set(objects)) == len(months) and len(objects) / WORKSHOP_RIDES <= 0.02
    assert manifest.messages <= 12 and manifest.messages / WORKSHOP_RIDES <= 0.002
