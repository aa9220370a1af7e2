"""CloudWatch metrics the functions emit (Powertools Metrics, embedded metric format) and the alarms and
dashboards read: one namespace, the metric names, the dimension names. The inference module's monitoring.tf
uses the same strings (tests/terraform/test_contracts.py)."""

from __future__ import annotations

NAMESPACE = "WildRydes"
SERVICE_DIMENSION = "service"  # Powertools' default dimension: POWERTOOLS_SERVICE_NAME (the function name)
MODEL_VERSION_DIMENSION = "model_version"

# ETL (ingest, enrich, writer)
RIDES_IN = "RidesIn"
RIDES_VALID = "RidesValid"
RIDES_QUARANTINED = "RidesQuarantined"
RIDES_DUPLICATE = "RidesDuplicate"
MESSAGES_SENT = "MessagesSent"
RIDES_ENRICHED = "RidesEnriched"
RIDES_WRITTEN = "RidesWritten"
OBJECTS_WRITTEN = "ObjectsWritten"

# Inference: per request, with the model version as a dimension (service + model_version)
PREDICTIONS = "Predictions"
PREDICTED_LABEL_PREFIX = "PredictedLabel"  # PredictedLabel0, PredictedLabel1
SCORE_BUCKET_PREFIX = "Score"  # Score00to20, Score20to40, ... (percent)
SCORE_BUCKET_EDGES_PERCENT = (0, 20, 40, 60, 80, 100)
COLD_START = "ColdStart"
# Inference: model lifecycle, service dimension only (a stable dimension set an alarm can watch)
MODEL_LOADS = "ModelLoads"
MODEL_REJECTS = "ModelRejects"


def score_bucket_name(score: float) -> str:
    """The bucket metric of a score in [0, 1] (1.0 falls in the last bucket)."""
    edges = SCORE_BUCKET_EDGES_PERCENT
    percent = min(max(score * 100.0, 0.0), float(edges[-1]))
    for low, high in zip(edges, edges[1:], strict=False):
        if percent < high:
            return f"{SCORE_BUCKET_PREFIX}{low:02d}to{high}"
    return f"{SCORE_BUCKET_PREFIX}{edges[-2]:02d}to{edges[-1]}"
