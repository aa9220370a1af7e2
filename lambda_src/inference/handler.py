"""Inference API: API Gateway (REST, AWS_PROXY) event -> score with the published model -> JSON response.

Thin by design: configuration and the model cache are built once per execution environment; the request
logic lives in wildrydes_lambda.serving.service (tested without AWS).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from wildrydes_lambda import aws
from wildrydes_lambda.contracts import metrics as metric_names
from wildrydes_lambda.serving.metrics import prediction_counts
from wildrydes_lambda.serving.model_cache import ModelCache, register_snapstart_hooks
from wildrydes_lambda.serving.service import InferenceSettings, answer

LIBRARY_LOGGER = "wildrydes_lambda"
logger = Logger()  # POWERTOOLS_SERVICE_NAME / LOG_LEVEL from the environment
# The library logs with the standard `logging` module (model loads, reloads, faults); give its package
# logger (Powertools only configures top-level ones) the same structured JSON handler and level.
logging.getLogger(LIBRARY_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={LIBRARY_LOGGER})

SETTINGS = InferenceSettings.from_env()
# The model itself is loaded on the first request (not at import) so a missing model is a 503 answer,
# not a failed cold start, and a model published later is picked up without a new environment.
MODEL_CACHE = ModelCache(
    aws.client("s3"),
    SETTINGS.bucket,
    SETTINGS.pointer_key,
    SETTINGS.versions_prefix,
    SETTINGS.engine,
    SETTINGS.recheck_seconds,
)
# With SnapStart (inference_snapstart_enabled): load before the snapshot, re-check S3 after each restore.
register_snapstart_hooks(MODEL_CACHE)
# CloudWatch metrics as EMF log lines (service dimension = POWERTOOLS_SERVICE_NAME), flushed per invocation.
metrics = Metrics(namespace=metric_names.NAMESPACE)
_cold_start = [True]


def emit_metrics(status: int, body: dict, model_version: str | None, loads: int, rejects: int) -> None:
    """Model loads/rejects (service dimension only, so one alarm covers every version); per request, with
    the model version as a dimension: cold start, predictions by label and by score bucket."""
    for name, count in ((metric_names.MODEL_LOADS, loads), (metric_names.MODEL_REJECTS, rejects)):
        if count:
            with single_metric(name, MetricUnit.Count, count, namespace=metric_names.NAMESPACE):
                pass
    metrics.add_dimension(metric_names.MODEL_VERSION_DIMENSION, model_version or "none")
    if _cold_start[0]:
        _cold_start[0] = False
        metrics.add_metric(metric_names.COLD_START, MetricUnit.Count, 1)
    if status == 200:
        for name, count in sorted(prediction_counts(body).items()):
            metrics.add_metric(name, MetricUnit.Count, count)
    if metrics.metric_set:
        metrics.flush_metrics()
    else:
        metrics.clear_metrics()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: object) -> dict:
    if not isinstance(event, dict):  # a direct invoke with a non-object payload: answer like a bad request
        event = {}
    loads, rejects = MODEL_CACHE.loads, MODEL_CACHE.rejects
    result = answer(
        event.get("httpMethod"),
        event.get("headers"),
        event.get("body"),
        bool(event.get("isBase64Encoded")),
        MODEL_CACHE.get,
        SETTINGS,
    )
    current = MODEL_CACHE.current
    # JSON Lines answers carry the prediction records as a list; metrics count them the same way.
    scored = {"predictions": result.body} if isinstance(result.body, list) else result.body
    emit_metrics(
        result.status,
        scored,
        current.model_version if current else None,
        MODEL_CACHE.loads - loads,
        MODEL_CACHE.rejects - rejects,
    )
    logger.info(
        "scored" if result.status == 200 else "rejected",
        extra={
            "status": result.status,
            "error": result.error,
            "model_version": current.model_version if current else None,
            "engine": SETTINGS.engine,
        },
    )
    return {"statusCode": result.status, "headers": result.headers, "body": result.text}
