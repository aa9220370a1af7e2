"""Scoring and held-out metrics of a trained model (shared by both engines and the report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wildrydes.training.dataset import Dataset
from wildrydes.training.gate import expected_calibration_error
from wildrydes_lambda.model_format import linear_learner as ll


def scores_of(model: ll.LinearModel, x: np.ndarray) -> np.ndarray:
    """Vectorized LinearModel.score (same formula; numpy for speed on whole datasets)."""
    z = x @ np.asarray(model.weights, dtype=np.float64) + model.bias
    return 1.0 / (1.0 + np.exp(-z))


def calibrate_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The threshold t maximizing accuracy of `score >= t` on held-out rows (SageMaker's default criterion).

    Candidates are the observed scores plus +inf (predict all 0); ties go to the candidate nearest 0.5 so
    the result does not hinge on one borderline row.
    """
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_y = scores[order], y[order]
    # Predicting 1 for the top k rows: correct = positives among top k + negatives among the rest.
    tp = np.concatenate([[0], np.cumsum(sorted_y)])
    fp = np.concatenate([[0], np.cumsum(1 - sorted_y)])
    negatives = len(y) - int(sorted_y.sum())
    correct = tp + (negatives - fp)
    # Only cut between distinct scores (k = 0 or a k where the next score differs).
    valid = np.ones(len(y) + 1, dtype=bool)
    valid[1:-1] = sorted_scores[:-1] != sorted_scores[1:]
    candidates = np.concatenate([[np.inf], sorted_scores])
    best = correct[valid].max()
    ties = np.flatnonzero(valid & (correct == best))
    chosen = ties[np.argmin(np.abs(candidates[ties] - 0.5))]
    return float(candidates[chosen]) if np.isfinite(candidates[chosen]) else 1.0


def evaluate(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    predicted = (scores >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y, scores)),
        "brier": float(brier_score_loss(y, scores)),
        "log_loss": float(log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "calibration_error": expected_calibration_error(y, scores),
        "accuracy_at_threshold": float((predicted == y).mean()),
        "positive_rate": float(y.mean()),
        "rows": len(y),
    }


@dataclass
class TrainingResult:
    model: ll.LinearModel
    artifact: bytes
    metadata: dict[str, Any]
    dataset: Dataset
    train_idx: np.ndarray
    validation_idx: np.ndarray
    validation_scores: np.ndarray
