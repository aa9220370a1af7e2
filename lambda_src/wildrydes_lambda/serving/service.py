"""The inference API's request -> response logic, free of Lambda and API Gateway specifics.

``InferenceSettings.from_env`` reads the function's configuration once (see lambda_src/README.md);
``answer`` turns one HTTP request (method, headers, body) into ``(status, headers, JSON body)`` using a
model provider (normally ``ModelCache.get``). Every outcome is a JSON body: client mistakes are 4xx naming
the field, a model that cannot be loaded is 503, and anything unexpected is a 500 without internals.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wildrydes_lambda.contracts.layout import METADATA_FILE_NAME, MODEL_POINTER_KEY, MODEL_VERSIONS_PREFIX
from wildrydes_lambda.serving import engine as inference_engine
from wildrydes_lambda.settings import ConfigError, int_setting, key_prefix
from wildrydes_lambda.serving.request import (
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    HTTP_INTERNAL_ERROR,
    HTTP_OK,
    HTTP_SERVICE_UNAVAILABLE,
    RequestError,
    decode_http_body,
    parse_payload,
    predictions_body,
)
from wildrydes_lambda.serving.model_cache import LoadedModel, ModelUnavailable

logger = logging.getLogger(__name__)

DEFAULT_POINTER_KEY = MODEL_POINTER_KEY
DEFAULT_VERSIONS_PREFIX = MODEL_VERSIONS_PREFIX
DEFAULT_ENGINE = inference_engine.ENGINE_MXNET
DEFAULT_RECHECK_SECONDS = 60.0
# Hard ceilings so a typo in configuration cannot make the function accept absurd requests.
MAX_BATCH_CEILING = 10_000
MAX_BODY_BYTES_CEILING = 6 * 1024 * 1024  # Lambda's synchronous payload limit

RESPONSE_HEADERS = {"Content-Type": "application/json"}
RETRY_AFTER_SECONDS = 30  # a missing model is usually a publish in progress or not done yet


def default_metadata_key(model_key: str) -> str:
    """metadata.json next to the model: models/linear-learner/latest/{model.tar.gz -> metadata.json}."""
    parent = model_key.rsplit("/", 1)[0] + "/" if "/" in model_key else ""
    return parent + METADATA_FILE_NAME


@dataclass(frozen=True)
class InferenceSettings:
    bucket: str
    pointer_key: str = DEFAULT_POINTER_KEY
    versions_prefix: str = DEFAULT_VERSIONS_PREFIX
    engine: str = DEFAULT_ENGINE
    recheck_seconds: float = DEFAULT_RECHECK_SECONDS
    max_batch: int = DEFAULT_MAX_BATCH
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InferenceSettings:
        """Validated configuration; a bad value raises ConfigError naming the variable (fails the cold start)."""
        env = os.environ if env is None else env
        bucket = env.get("MODEL_S3_BUCKET", "").strip()
        if not bucket:
            raise ConfigError("MODEL_S3_BUCKET is required (the bucket holding the published model)")
        pointer_key = env.get("MODEL_POINTER_KEY", "").strip() or DEFAULT_POINTER_KEY
        if pointer_key.startswith("/") or pointer_key.endswith("/"):
            raise ConfigError(f"MODEL_POINTER_KEY={pointer_key!r}: a key without a leading or trailing /")
        versions_prefix = key_prefix(env, "MODEL_VERSIONS_PREFIX", DEFAULT_VERSIONS_PREFIX)
        engine = env.get("INFERENCE_ENGINE", "").strip().lower() or DEFAULT_ENGINE
        if engine not in inference_engine.ENGINES:
            raise ConfigError(f"INFERENCE_ENGINE={engine!r}; choose one of {', '.join(inference_engine.ENGINES)}")
        raw_recheck = env.get("MODEL_RECHECK_SECONDS", "").strip()
        try:
            recheck = float(raw_recheck) if raw_recheck else DEFAULT_RECHECK_SECONDS
        except ValueError:
            raise ConfigError(f"MODEL_RECHECK_SECONDS={raw_recheck!r} is not a number") from None
        if not recheck >= 0:  # also rejects NaN
            raise ConfigError("MODEL_RECHECK_SECONDS must be >= 0 (0 = check on every request)")
        return cls(
            bucket=bucket,
            pointer_key=pointer_key,
            versions_prefix=versions_prefix,
            engine=engine,
            recheck_seconds=recheck,
            max_batch=int_setting(env, "MAX_BATCH", DEFAULT_MAX_BATCH, 1, MAX_BATCH_CEILING),
            max_body_bytes=int_setting(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 64, MAX_BODY_BYTES_CEILING),
        )


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}


def answer(method: str | None, headers: Mapping[str, str] | None, body: str | bytes | None,
           is_base64_encoded: bool, get_model: Callable[[], LoadedModel],
           settings: InferenceSettings) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One HTTP request -> (status, headers, JSON-serializable body). Never raises."""
    try:
        payload = decode_http_body(method, headers, body, is_base64_encoded, settings.max_body_bytes)
        model = get_model()
        request = parse_payload(payload, model.schema, settings.max_batch)
        scores = model.engine.score(request.rows)
        if not all(math.isfinite(score) for score in scores):  # JSON has no NaN/Infinity: never send them
            raise ArithmeticError(f"model {model.model_version} produced a non-finite score")
        return HTTP_OK, dict(RESPONSE_HEADERS), predictions_body(scores, model.threshold, model.model_version)
    except RequestError as exc:
        return exc.status, {**RESPONSE_HEADERS, **exc.headers}, exc.body()
    except ModelUnavailable as exc:
        logger.error("model unavailable: %s", exc)
        return (HTTP_SERVICE_UNAVAILABLE, {**RESPONSE_HEADERS, "Retry-After": str(RETRY_AFTER_SECONDS)},
                error_body("model_unavailable", "no model is available to score with; try again later"))
    except Exception:  # a true server fault: log the trace, never send it
        logger.exception("unexpected error while scoring")
        return HTTP_INTERNAL_ERROR, dict(RESPONSE_HEADERS), error_body("internal_error", "internal error")
