"""Inference API: API Gateway (REST, AWS_PROXY) event -> score with the published model -> JSON response.

Thin by design: configuration and the model cache are built once per execution environment; the request
logic lives in wildrydes_lambda.serving.service (tested without AWS).
"""
from __future__ import annotations

import json
import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from wildrydes_lambda import aws
from wildrydes_lambda.serving.service import InferenceSettings, answer
from wildrydes_lambda.serving.model_cache import ModelCache, register_snapstart_hooks

LIBRARY_LOGGER = "wildrydes_lambda"
logger = Logger()  # POWERTOOLS_SERVICE_NAME / LOG_LEVEL from the environment
# The library logs with the standard `logging` module (model loads, reloads, faults); give its package
# logger (Powertools only configures top-level ones) the same structured JSON handler and level.
logging.getLogger(LIBRARY_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={LIBRARY_LOGGER})

SETTINGS = InferenceSettings.from_env()
# The model itself is loaded on the first request (not at import) so a missing model is a 503 answer,
# not a failed cold start, and a model published later is picked up without a new environment.
MODEL_CACHE = ModelCache(aws.client("s3"), SETTINGS.bucket, SETTINGS.pointer_key, SETTINGS.versions_prefix,
                         SETTINGS.engine, SETTINGS.recheck_seconds)
# With SnapStart (inference_snapstart_enabled): load before the snapshot, re-check S3 after each restore.
register_snapstart_hooks(MODEL_CACHE)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: object) -> dict:
    if not isinstance(event, dict):  # a direct invoke with a non-object payload: answer like a bad request
        event = {}
    status, headers, body = answer(
        event.get("httpMethod"),
        event.get("headers"),
        event.get("body"),
        bool(event.get("isBase64Encoded")),
        MODEL_CACHE.get,
        SETTINGS,
    )
    current = MODEL_CACHE.current
    logger.info("scored" if status == 200 else "rejected", extra={
        "status": status, "error": body.get("error"),
        "model_version": current.model_version if current else None, "engine": SETTINGS.engine,
    })
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}
