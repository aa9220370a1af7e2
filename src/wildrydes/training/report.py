"""Training report: held-out metrics, the Bayes-optimal reference and plots, written to build/report/.

The Bayes-optimal AUC is the AUC of the generator's true heavy-utilization probabilities on the same
held-out rides: no model of the same inputs can rank better on average, so the gap to it says how much the
model leaves on the table (as opposed to how noisy the label is).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wildrydes.errors import CommandError
from wildrydes.training.metrics import TrainingResult, scores_of

# Column names a truth file may use for the true probability (the generator's choice wins if present).
TRUTH_PROBABILITY_COLUMNS = ("p_heavy", "heavy_probability", "true_probability", "probability")
CALIBRATION_BINS = 10
WEATHER_BINS = 10
# Plot heavy rate vs these joined columns (label, column, unit).
RATE_PLOTS = (
    ("precipitation", "prcp", "PRCP, tenths of mm"),
    ("temperature", "tmax", "TMAX, tenths of degC"),
)


def read_truth(path: str | Path) -> pd.DataFrame:
    """The generator's ground truth as (ride_id, p_true). CSV, JSON lines or a JSON list."""
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"--truth: {path} does not exist")
    if path.suffix in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype={"ride_id": str})
    elif path.suffix == ".json":
        frame = pd.read_json(path, dtype={"ride_id": str})
    else:
        frame = pd.read_csv(path, dtype={"ride_id": str})
    column = next((c for c in TRUTH_PROBABILITY_COLUMNS if c in frame.columns), None)
    if "ride_id" not in frame.columns or column is None:
        raise CommandError(
            f"--truth: {path} needs ride_id and one of {', '.join(TRUTH_PROBABILITY_COLUMNS)} "
            f"(has {', '.join(map(str, frame.columns))})"
        )
    return frame[["ride_id", column]].rename(columns={column: "p_true"}).drop_duplicates("ride_id")


def bayes_optimal_auc(ride_ids: np.ndarray, y: np.ndarray, truth: pd.DataFrame) -> tuple[float, int]:
    """AUC of the true probabilities on these rides; returns (auc, rows matched)."""
    from sklearn.metrics import roc_auc_score

    p_true = pd.Series(ride_ids).map(truth.set_index("ride_id")["p_true"]).to_numpy(dtype=float)
    matched = ~np.isnan(p_true)
    if matched.sum() == 0 or len(np.unique(y[matched])) < 2:
        raise CommandError(
            "--truth matches none (or one class only) of the held-out rides: wrong truth file?"
        )
    return float(roc_auc_score(y[matched], p_true[matched])), int(matched.sum())


def _plots(
    out_dir: Path,
    y: np.ndarray,
    scores: np.ndarray,
    frame: pd.DataFrame,
    p_true: np.ndarray | None,
    all_scores: np.ndarray,
) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    written = []

    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr, _ = roc_curve(y, scores)
    ax.plot(fpr, tpr, label="model")
    if p_true is not None:
        matched = ~np.isnan(p_true)
        fpr_b, tpr_b, _ = roc_curve(y[matched], p_true[matched])
        ax.plot(fpr_b, tpr_b, "--", label="Bayes-optimal (true p)")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, held-out rides")
    ax.legend()
    written.append(_save(fig, out_dir / "roc.png"))

    fig, ax = plt.subplots(figsize=(5, 5))
    observed, predicted = calibration_curve(y, scores, n_bins=CALIBRATION_BINS, strategy="quantile")
    ax.plot(predicted, observed, "o-", label="model")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="mean predicted probability", ylabel="observed heavy rate", title="Calibration, held-out")
    ax.legend()
    written.append(_save(fig, out_dir / "calibration.png"))

    for name, column, unit in RATE_PLOTS:
        fig, ax = plt.subplots(figsize=(6, 4))
        values = frame[column].to_numpy(dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, WEATHER_BINS + 1)))
        bins = np.clip(np.digitize(values, edges[1:-1]), 0, len(edges) - 2)
        table = (
            pd.DataFrame(
                {"bin": bins, "x": values, "y": frame["heavy_utilization"].to_numpy(), "score": all_scores}
            )
            .groupby("bin")
            .mean()
        )
        ax.plot(table["x"], table["y"], "o-", label="observed heavy rate")
        ax.plot(table["x"], table["score"], "s--", label="mean model score")
        ax.set(xlabel=unit, ylabel="heavy utilization rate", title=f"Heavy rate vs {name}")
        ax.legend()
        written.append(_save(fig, out_dir / f"heavy_rate_vs_{name}.png"))
    return written


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def write_report(
    result: TrainingResult, out_dir: str | Path, *, truth_path: str | Path | None = None
) -> dict[str, Any]:
    """Write report.json, report.md and the PNG plots; return the report dict."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset, idx = result.dataset, result.validation_idx
    y, scores = dataset.y[idx], result.validation_scores
    summary: dict[str, Any] = {
        "model_version": result.metadata["model_version"],
        "features": list(dataset.features),
        "weights": list(result.model.weights),
        "bias": result.model.bias,
        "threshold": result.model.threshold,
        "validation": result.metadata["metrics"]["validation"],
        "excluded_rows": dataset.excluded,
        "training_data_sha256": dataset.sha256,
    }
    p_true = None
    if truth_path:
        truth = read_truth(truth_path)
        auc, matched = bayes_optimal_auc(dataset.ride_ids[idx], y, truth)
        summary["bayes_optimal_auc"] = auc
        summary["auc_gap"] = auc - summary["validation"]["roc_auc"]
        summary["truth_rows_matched"] = matched
        p_true = (
            pd.Series(dataset.ride_ids[idx]).map(truth.set_index("ride_id")["p_true"]).to_numpy(dtype=float)
        )
    feature_columns = [c for c in ("prcp", "tmax") if c in dataset.frame.columns]
    plots = []
    if len(feature_columns) == len(RATE_PLOTS):
        all_scores = scores_of(result.model, dataset.x)
        plots = _plots(out, y, scores, dataset.frame, p_true, all_scores)
    summary["plots"] = plots
    (out / "report.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (out / "report.md").write_text(_markdown(summary))
    return summary


def _markdown(summary: dict[str, Any]) -> str:
    v = summary["validation"]
    lines = [
        f"# Heavy-utilization model {summary['model_version']}",
        "",
        (
            f"Features: {', '.join(summary['features'])}; threshold {summary['threshold']:.4f} "
            "(maximizes held-out accuracy)."
        ),
        "",
        "| metric (held-out) | value |",
        "| --- | --- |",
        f"| rows | {v['rows']} |",
        f"| ROC AUC | {v['roc_auc']:.4f} |",
    ]
    if "bayes_optimal_auc" in summary:
        lines += [
            f"| Bayes-optimal AUC (true p, same rows) | {summary['bayes_optimal_auc']:.4f} |",
            f"| AUC gap | {summary['auc_gap']:.4f} |",
        ]
    lines += [
        f"| Brier score | {v['brier']:.4f} |",
        f"| accuracy at threshold | {v['accuracy_at_threshold']:.4f} |",
        f"| heavy rate | {v['positive_rate']:.4f} |",
        "",
        f"Excluded rides: {summary['excluded_rows']}",
        "",
    ]
    lines += [f"![{name}]({name})" for name in summary["plots"]]
    return "\n".join(lines) + "\n"
