#!/usr/bin/env python3
"""Model quality on the generator's data: held-out AUC next to the Bayes-optimal AUC, as the data grows.

For each size N: `wildrydes generate --rides N`, the ETL's pure functions turn the raw rides into the
processed CSV tree (validate, nearest station, heavy rule, csvrows), the GHCN Parquet is reduced with the
weather stage's DuckDB run of the shared SQL, then the local trainer runs exactly as `wildrydes train` does and
the truth file gives the Bayes-optimal AUC on the same held-out rides.

    .venv/bin/python bench/model_quality.py --out build/bench/model.json --sizes 5000 50000

Exit status 1 when a size >= MIN_ROWS_FOR_CHECK has a gap above AUC_GAP_LIMIT (the issue's acceptance bar).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from wildrydes import generate, weather
from wildrydes import training as train
from wildrydes.training import report
from wildrydes_lambda.contracts.envelope import LEGACY_GENERATION, Lineage, Source
from wildrydes_lambda.etl import csv_output as csvrows
from wildrydes_lambda.etl import rides, stations

ROOT = Path(__file__).resolve().parents[1]

# The lineage stamped on the bench's processed rows (one fixed upload time: no supersession here).
BENCH_INGESTED_AT = "2026-01-01T00:00:00.000000Z"
AUC_GAP_LIMIT = 0.01
# Below this many rides the 10% held-out set is too small for a 0.01 AUC comparison to mean anything.
MIN_ROWS_FOR_CHECK = 50_000
DEFAULT_SEED = 7


def processed_tree(generated: Path, out: Path) -> int:
    """Raw generated rides -> processed/ride_month=.../<name>.csv via the ETL's own functions (one source per
    generated file, one message per file, as the writer names and renders it)."""
    count = 0
    for path in sorted((generated / "rides").glob("*.json")):
        kept = []
        for record in json.loads(path.read_text())["travel_data"]:
            try:
                ride = rides.validate_ride(record)
                ride["groundstation"], _ = stations.nearest_station(ride["latitude"], ride["longitude"])
            except (rides.InvalidRide, stations.NoStationInRange):
                continue  # the ETL quarantines these; they never reach training
            ride["heavy_utilization"] = rides.is_heavy(ride["magicpoints"], ride["distance"])
            kept.append(ride)
        lineage = Lineage(Source("bench", f"raw/{path.name}", None, BENCH_INGESTED_AT), 0, LEGACY_GENERATION)
        for key, body in csvrows.plan_csv_objects(kept, "", lineage):
            target = out / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        count += len(kept)
    return count


def reduced_weather(generated: Path, out: Path) -> Path:
    """GHCN-D -> station_id,date,tmin,tmax,prcp with the weather stage's DuckDB reduction (Athena's SQL)."""
    parquet_root = generated / "ghcn" / "parquet" / "by_year"
    years = sorted(int(p.name.split("=")[1]) for p in parquet_root.glob("YEAR=*"))
    run = weather.reduce_duckdb(str(generated / "ghcn"), "parquet", weather.DEFAULT_STATIONS, years)
    out.mkdir(parents=True, exist_ok=True)
    target = out / weather.OUTPUT_FILE_NAME
    target.write_text(weather.format_output(run.rows))
    return target


def prepare(generated: Path, work: Path) -> tuple[Path, Path, Path]:
    """(processed dir, weather dir, truth file) ready for `wildrydes train`."""
    processed_tree(generated, work / "processed")
    reduced_weather(generated, work / "weather")
    return work / "processed", work / "weather", generated / "truth" / "rides_truth.csv"


def measure(n_rides: int, seed: int, work: Path) -> dict:
    started = time.perf_counter()
    generate.generate(work / "generated", n_rides, seed, n_files=1)
    processed, weather, truth_file = prepare(work / "generated", work / "inputs")
    prepared = time.perf_counter()
    joined = train.load_joined(str(processed), str(weather))
    dataset = train.build_dataset(joined, train.DEFAULT_FEATURES)
    result = train.run_local(dataset, seed)
    trained = time.perf_counter()
    validation = result.metadata["metrics"]["validation"]
    bayes_auc, matched = report.bayes_optimal_auc(
        dataset.ride_ids[result.validation_idx],
        dataset.y[result.validation_idx],
        report.read_truth(truth_file),
    )
    return {
        "rides": n_rides,
        "training_rows": len(result.train_idx),
        "validation_rows": len(result.validation_idx),
        "excluded": dataset.excluded,
        "auc": validation["roc_auc"],
        "bayes_optimal_auc": bayes_auc,
        "auc_gap": bayes_auc - validation["roc_auc"],
        "truth_rows_matched": matched,
        "brier": validation["brier"],
        "accuracy_at_threshold": validation["accuracy_at_threshold"],
        "threshold": result.model.threshold,
        "prepare_seconds": round(prepared - started, 2),
        "train_seconds": round(trained - prepared, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "model.json")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="model-quality-") as tmp:
            row = measure(size, args.seed, Path(tmp))
        rows.append(row)
        print(
            f"{size:>8} rides: AUC {row['auc']:.4f}, Bayes {row['bayes_optimal_auc']:.4f}, "
            f"gap {row['auc_gap']:+.4f}, Brier {row['brier']:.4f}",
            file=sys.stderr,
        )
    failures = [r for r in rows if r["rides"] >= MIN_ROWS_FOR_CHECK and r["auc_gap"] > AUC_GAP_LIMIT]
    result = {
        "seed": args.seed,
        "auc_gap_limit": AUC_GAP_LIMIT,
        "min_rows_for_check": MIN_ROWS_FOR_CHECK,
        "sizes": rows,
        "ok": not failures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
