"""What the inference function counts per request (pure: the handler hands the counts to Powertools Metrics).

Per answered request, dimensions service + model_version: ``Predictions``, ``PredictedLabel0|1`` and a
score-bucket count per prediction, ``ColdStart`` on an environment's first request. Model loads and rejects
(deltas of the cache's counters) go out with the service dimension only, so one alarm watches every version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from wildrydes_lambda.contracts import metrics as names


def prediction_counts(body: Mapping[str, Any]) -> Counter[str]:
    """Counts for a 200 response body ``{"predictions": [{"score": s, "predicted_label": 0|1}, ...]}``."""
    counts: Counter[str] = Counter()
    for prediction in body.get("predictions") or []:
        counts[names.PREDICTIONS] += 1
        label = prediction.get("predicted_label")
        if label is not None:
            counts[f"{names.PREDICTED_LABEL_PREFIX}{int(label)}"] += 1
        score = prediction.get("score")
        if isinstance(score, (int, float)):
            counts[names.score_bucket_name(float(score))] += 1
    return counts
