"""The local engine: scikit-learn logistic regression on standardized features, folded into raw-feature
weights as SageMaker does with ``normalize_data=true``; same data + seed -> byte-identical artifact."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from wildrydes.errors import CommandError
from wildrydes.training.dataset import DEFAULT_SEED, FEATURE_UNITS, Dataset, split_indices
from wildrydes.training.metrics import TrainingResult, calibrate_threshold, evaluate, scores_of
from wildrydes_lambda.model_format import linear_learner as ll

# Strong-ish L2 would shrink four well-scaled coefficients for nothing; 1e4 is effectively unregularized.
LOGISTIC_C = 1e4
LOGISTIC_MAX_ITER = 1000
LOGISTIC_TOL = 1e-10
MODEL_VERSION_HEX_CHARS = 16


def fold_normalization(
    w_n: np.ndarray, b_n: float, mu: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, float]:
    """Turn a model on z = (x - mu) / sigma into one on raw x: w = w_n / sigma, b = b_n - sum(w_n mu / sigma)."""
    w_raw = w_n / sigma
    b_raw = float(b_n - np.sum(w_n * mu / sigma))
    return w_raw, b_raw


def fit_standardized_logistic(x: np.ndarray, y: np.ndarray):
    """Fit sklearn's logistic regression on standardized features; return (estimator, mu, sigma)."""
    from sklearn.linear_model import LogisticRegression

    mu = x.mean(axis=0)
    sigma = x.std(axis=0)
    sigma = np.where(sigma > 0, sigma, 1.0)  # a constant column carries no signal; avoid dividing by 0
    estimator = LogisticRegression(C=LOGISTIC_C, max_iter=LOGISTIC_MAX_ITER, tol=LOGISTIC_TOL, solver="lbfgs")
    estimator.fit((x - mu) / sigma, y)
    return estimator, mu, sigma


def train_local(dataset: Dataset, seed: int = DEFAULT_SEED) -> tuple[ll.LinearModel, np.ndarray, np.ndarray]:
    """Fit on the training split, calibrate the threshold on validation; returns (model, train, val)."""
    train_idx, validation_idx = split_indices(len(dataset.y), seed)
    if len(np.unique(dataset.y[train_idx])) < 2:
        raise CommandError("the training split holds one class only; add data or change --seed")
    estimator, mu, sigma = fit_standardized_logistic(dataset.x[train_idx], dataset.y[train_idx])
    w_raw, b_raw = fold_normalization(estimator.coef_[0], float(estimator.intercept_[0]), mu, sigma)
    # Round to float32 first: the artifact stores float32, and the threshold must fit the stored model.
    model = ll.LinearModel(weights=tuple(w_raw), bias=b_raw).as_float32()
    threshold = calibrate_threshold(dataset.y[validation_idx], scores_of(model, dataset.x[validation_idx]))
    return ll.LinearModel(model.weights, model.bias, threshold), train_idx, validation_idx


def build_metadata(
    model: ll.LinearModel,
    artifact: bytes,
    dataset: Dataset,
    metrics: dict[str, Any],
    engine: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        # Content address: the same artifact always has the same version, a new one a new version.
        "model_version": hashlib.sha256(artifact).hexdigest()[:MODEL_VERSION_HEX_CHARS],
        "features": list(dataset.features),
        "units": {f: FEATURE_UNITS[f] for f in dataset.features},
        "threshold": model.threshold,
        "metrics": metrics,
        "training_data_sha256": dataset.sha256,
        "created_by": f"wildrydes train --engine {engine}",
        **(extra or {}),
    }


def metadata_bytes(metadata: dict[str, Any]) -> bytes:
    return (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()


def finish(
    dataset: Dataset,
    model: ll.LinearModel,
    artifact: bytes,
    train_idx: np.ndarray,
    validation_idx: np.ndarray,
    seed: int,
    engine: str,
    extra: dict[str, Any] | None = None,
) -> TrainingResult:
    """Evaluate the artifact's model on the held-out rows and assemble metadata."""
    validation_scores = scores_of(model, dataset.x[validation_idx])
    metrics = {
        "validation": evaluate(dataset.y[validation_idx], validation_scores, model.threshold),
        "training_rows": len(train_idx),
        "validation_rows": len(validation_idx),
        "excluded_rows": dataset.excluded,
        "seed": seed,
    }
    metadata = build_metadata(model, artifact, dataset, metrics, engine, extra)
    return TrainingResult(model, artifact, metadata, dataset, train_idx, validation_idx, validation_scores)


def run_local(dataset: Dataset, seed: int) -> TrainingResult:
    model, train_idx, validation_idx = train_local(dataset, seed)
    artifact = ll.artifact_bytes(model)
    return finish(dataset, model, artifact, train_idx, validation_idx, seed, "local")
