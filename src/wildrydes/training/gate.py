"""The quality gate between a stored model version and the serving pointer.

A candidate is promoted only when, on its own held-out rows (``holdout.csv`` of the version):

1. it clears absolute floors: ROC AUC >= ``min_auc``, Brier score <= ``max_brier``, expected calibration error
   <= ``max_calibration_error``;
2. it is not worse than the serving model on the same rows beyond ``tolerance`` (AUC lower or Brier
   higher by more than the tolerance; calibration error is not compared: a no-skill model is well calibrated);
3. it beats a distance-only baseline: a one-feature logistic regression on ``distance`` fitted on those same
   held-out rows (in-sample, so the baseline is optimistic and beating it is the stricter test) — higher AUC
   by more than ``baseline_margin`` and a lower Brier score.

Otherwise the version stays stored but the pointer does not move (``wildrydes train --publish`` and
``wildrydes models promote`` exit with ``GATE_REFUSED_EXIT``); ``--force`` promotes anyway and is recorded.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

# Exit code of a command whose model was stored but refused by the gate (2 is a usage/command error).
GATE_REFUSED_EXIT = 3

# Defaults (docs/training.md "The quality gate" says why). Measured on the committed sample (4,894 rides
# with weather, 489 held-out rows, seeds 0-2): the model scores AUC 0.77-0.82, Brier 0.170-0.198, calibration
# error 0.050-0.059 (the sampling noise of a 10-bin ECE on ~500 rows is ~0.05); the distance-only baseline AUC
# 0.65-0.74, Brier 0.205-0.230; a model of shuffled labels AUC 0.53, Brier 0.243 (no skill at a 41% base
# rate is 0.242).
DEFAULT_MIN_AUC = 0.70  # well above shuffled (0.53), below every honest sample model (>= 0.77)
DEFAULT_MAX_BRIER = 0.22  # ~9% better than no skill (0.242 at the sample's 41% heavy rate)
DEFAULT_MAX_CALIBRATION_ERROR = 0.10  # twice the noise floor on 500 rows: catches a real shift, not noise
DEFAULT_TOLERANCE = 0.02  # paired comparison on the same rows: retrains differ by < 0.01
DEFAULT_BASELINE_MARGIN = 0.005
CALIBRATION_BINS = 10
BASELINE_FEATURE = "distance"
MIN_GATE_ROWS = 50  # fewer held-out rows than this say nothing reliable about AUC or calibration


def expected_calibration_error(y: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by the rows in each bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.sum() * abs(float(y[in_bin].mean()) - float(scores[in_bin].mean()))
    return total / len(y)


def quality_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The three numbers the gate compares: ROC AUC, Brier score, expected calibration error."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(y, scores)),
        "brier": float(brier_score_loss(y, scores)),
        "calibration_error": expected_calibration_error(y, scores),
    }


def baseline_scores(distance: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A distance-only logistic regression fitted (practically unregularized) on these rows, scored
    on them."""
    from sklearn.linear_model import LogisticRegression

    x = distance.reshape(-1, 1)
    sigma = float(x.std()) or 1.0
    z = (x - float(x.mean())) / sigma
    model = LogisticRegression(C=1e4, max_iter=1000).fit(z, y)
    return model.predict_proba(z)[:, 1]


@dataclass(frozen=True)
class GateConfig:
    min_auc: float = DEFAULT_MIN_AUC
    max_brier: float = DEFAULT_MAX_BRIER
    max_calibration_error: float = DEFAULT_MAX_CALIBRATION_ERROR
    tolerance: float = DEFAULT_TOLERANCE
    baseline_margin: float = DEFAULT_BASELINE_MARGIN

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"gate {name} must be a finite number >= 0, got {value!r}")


@dataclass
class GateVerdict:
    passed: bool
    failures: list[str]
    candidate: dict[str, float]
    baseline: dict[str, float]
    serving: dict[str, float] | None
    serving_version: str | None
    rows: int
    config: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (strict JSON has no NaN: a metric that could not be computed is null)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))

    def summary(self) -> str:
        def fmt(m: dict[str, float] | None) -> str:
            if m is None:
                return "-"
            auc, brier, ece = m["roc_auc"], m["brier"], m["calibration_error"]
            return f"AUC {auc:.4f}, Brier {brier:.4f}, calibration error {ece:.4f}"

        lines = [
            f"gate {'PASSED' if self.passed else 'REFUSED'} on {self.rows} held-out rows",
            f"  candidate: {fmt(self.candidate)}",
            f"  distance-only baseline: {fmt(self.baseline)}",
            f"  serving ({self.serving_version or 'none'}): {fmt(self.serving)}",
        ]
        lines += [f"  - {reason}" for reason in self.failures]
        return "\n".join(lines)


def evaluate_gate(
    y: np.ndarray,
    candidate_scores: np.ndarray,
    distance: np.ndarray,
    serving_scores: np.ndarray | None,
    config: GateConfig,
    serving_version: str | None = None,
) -> GateVerdict:
    """The verdict for a candidate on held-out rows ``y`` (see the module docstring for the rules)."""
    failures: list[str] = []
    if len(y) < MIN_GATE_ROWS or len(np.unique(y)) < 2:
        failures.append(
            f"only {len(y)} held-out rows ({len(np.unique(y))} classes): need >= {MIN_GATE_ROWS} "
            "with both classes"
        )
        empty = {"roc_auc": math.nan, "brier": math.nan, "calibration_error": math.nan}
        return GateVerdict(False, failures, empty, empty, None, serving_version, len(y), asdict(config))
    candidate = quality_metrics(y, candidate_scores)
    baseline = quality_metrics(y, baseline_scores(distance, y))
    serving = quality_metrics(y, serving_scores) if serving_scores is not None else None

    if candidate["roc_auc"] < config.min_auc:
        failures.append(f"AUC {candidate['roc_auc']:.4f} is below the floor {config.min_auc}")
    if candidate["brier"] > config.max_brier:
        failures.append(f"Brier {candidate['brier']:.4f} is above the ceiling {config.max_brier}")
    if candidate["calibration_error"] > config.max_calibration_error:
        failures.append(
            f"calibration error {candidate['calibration_error']:.4f} is above the ceiling "
            f"{config.max_calibration_error}"
        )
    if candidate["roc_auc"] <= baseline["roc_auc"] + config.baseline_margin:
        failures.append(
            f"AUC {candidate['roc_auc']:.4f} does not beat the distance-only baseline's "
            f"{baseline['roc_auc']:.4f} by more than {config.baseline_margin}"
        )
    if candidate["brier"] >= baseline["brier"]:
        failures.append(
            f"Brier {candidate['brier']:.4f} is not below the distance-only baseline's "
            f"{baseline['brier']:.4f}"
        )
    if serving is not None:
        if candidate["roc_auc"] < serving["roc_auc"] - config.tolerance:
            failures.append(
                f"AUC {candidate['roc_auc']:.4f} is worse than the serving model's "
                f"{serving['roc_auc']:.4f} by more than {config.tolerance}"
            )
        # Not calibration error: a model with no skill (scores near the base rate) is perfectly calibrated, so
        # comparing it would keep a useless serving model in place. Brier covers calibration and skill.
        if candidate["brier"] > serving["brier"] + config.tolerance:
            failures.append(
                f"Brier {candidate['brier']:.4f} is worse than the serving model's {serving['brier']:.4f} "
                f"by more than {config.tolerance}"
            )
    return GateVerdict(
        not failures, failures, candidate, baseline, serving, serving_version, len(y), asdict(config)
    )
