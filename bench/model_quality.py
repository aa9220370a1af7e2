#!/usr/bin/env python3
"""Model quality on the generator's data: held-out AUC next to the Bayes-optimal AUC, as the data grows.

For each size N: `wildrydes generate --rides N`, the ETL's pure functions turn the raw rides into the
processed CSV tree (validate, nearest station, heavy rule, csvrows), the GHCN CSV is reduced with the shared
SQL (sql/reduce_ghcn_csv.sql, DuckDB), then the local trainer runs exactly as `wildrydes train` does and
the truth file gives the Bayes-optimal AUC on the same held-out rides.

    .venv/bin/python bench/model_quality.py --out build/bench/model.json --sizes 5000 50000

Exit status 1 when a size >= MIN_ROWS_FOR_CHECK has a gap above AUC_GAP_LIMIT (the issue's acceptance bar).
"""
from __future__ import annotations

import argparse
import json
import string
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("src", "lambda_src"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

from wildrydes_common import csvrows, rides, stations

from wildrydes import generate, report, train

AUC_GAP_LIMIT = 0.01
# Below this many rides the 10% held-out set is too small for a 0.01 AUC comparison to mean anything.
MIN_ROWS_FOR_CHECK = 50_000
DEFAULT_SEED = 7


def processed_tree(generated: Path, out: Path) -> int:
    """Raw generated rides -> processed/ride_date=.../<hash>.csv via the ETL's own functions."""
    by_date: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((generated / "rides").glob("*.json")):
        for record in json.loads(path.read_text())["travel_data"]:
            try:
                ride = rides.validate_ride(record)
                ride["groundstation"], _ = stations.nearest_station(ride["latitude"], ride["longitude"])
            except (rides.InvalidRide, stations.NoStationInRange):
                continue  # the ETL quarantines these; they never reach training
            ride["heavy_utilization"] = rides.is_heavy(ride["magicpoints"], ride["distance"])
            by_date[rides.ride_date(ride)].append(ride)
    count = 0
    for day, group in by_date.items():
        name = csvrows.group_object_name(r["ride_id"] for r in group)
        target = out / csvrows.processed_key("", day, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(csvrows.render_csv(group))
        count += len(group)
    return count


def reduced_weather(generated: Path, out: Path) -> Path:
    """GHCN by_year CSV -> station_id,date,tmin,tmax,prcp with the SQL Athena runs (DuckDB here)."""
    import duckdb

    csv_files = sorted((generated / "ghcn" / "csv" / "by_year").glob("*.csv"))
    years = ", ".join(f"'{p.stem}'" for p in csv_files)
    ids = ", ".join(f"'{sid}'" for sid in stations.GROUND_STATIONS)
    file_list = ", ".join(f"'{p}'" for p in csv_files)
    sql = string.Template((ROOT / "sql" / "reduce_ghcn_csv.sql").read_text()).substitute(
        ghcn_table=f"read_csv([{file_list}], header=true, all_varchar=true)", stations=ids, years=years)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "weather.csv"
    con = duckdb.connect()
    try:
        con.execute(sql).df().to_csv(target, index=False)
    finally:
        con.close()
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
    joined = train.join_rides_weather(train.read_rides(str(processed)), train.read_weather(str(weather)))
    dataset = train.build_dataset(joined, train.DEFAULT_FEATURES)
    result = train.run_local(dataset, seed)
    trained = time.perf_counter()
    validation = result.metadata["metrics"]["validation"]
    bayes_auc, matched = report.bayes_optimal_auc(
        dataset.ride_ids[result.validation_idx], dataset.y[result.validation_idx], report.read_truth(truth_file))
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
        print(f"{size:>8} rides: AUC {row['auc']:.4f}, Bayes {row['bayes_optimal_auc']:.4f}, "
              f"gap {row['auc_gap']:+.4f}, Brier {row['brier']:.4f}", file=sys.stderr)
    failures = [r for r in rows if r["rides"] >= MIN_ROWS_FOR_CHECK and r["auc_gap"] > AUC_GAP_LIMIT]
    result = {"seed": args.seed, "auc_gap_limit": AUC_GAP_LIMIT, "min_rows_for_check": MIN_ROWS_FOR_CHECK,
              "sizes": rows, "ok": not failures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
