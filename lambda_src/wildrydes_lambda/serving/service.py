"""The inference API's request -> response logic, free of Lambda and API Gateway specifics.

``InferenceSettings.from_env`` reads the function's configuration once (see lambda_src/README.md);
``answer`` turns one HTTP request (method, headers, body) into an ``HttpAnswer`` (status, headers, body; it
unpacks as ``status, headers, body``) using a model provider (normally ``ModelCache.get``). Predictions are
JSON or JSON Lines as ``Accept`` asks (see wildrydes_lambda.serving.request and openapi.yaml); every error is
a JSON body: client mistakes are 4xx naming the field, a model that cannot be loaded is 503, and anything
unexpected is a 500 without internals.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from wildrydes_lambda.contracts.layout import METADATA_FILE_NAME, MODEL_POINTER_KEY, MODEL_VERSIONS_PREFIX
from wildrydes_lambda.serving import engine as inference_engine
from wildrydes_lambda.serving.model_cache import LoadedModel, ModelUnavailable
from wildrydes_lambda.serving.request import (
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    HTTP_INTERNAL_ERROR,
    HTTP_OK,
    HTTP_SERVICE_UNAVAILABLE,
    JSON_MEDIA_TYPE,
    JSONLINES_MEDIA_TYPE,
    RequestError,
    decode_body,
    parse_body,
    predictions_body,
    predictions_lines,
    read_http_request,
    render_jsonlines,
)
from wildrydes_lambda.settings import ConfigError, int_setting, key_prefix

logger = logging.getLogger(__name__)

DEFAULT_POINTER_KEY = MODEL_POINTER_KEY
DEFAULT_VERSIONS_PREFIX = MODEL_VERSIONS_PREFIX
DEFAULT_ENGINE = inference_engine.ENGINE_MXNET
DEFAULT_RECHECK_SECONDS = 60.0
# Hard ceilings so a typo in configuration cannot make the function accept absurd requests.
MAX_BATCH_CEILING = 10_000
MAX_BODY_BYTES_CEILING = 6 * 1024 * 1024  # Lambda's synchronous payload limit

RESPONSE_HEADERS = {"Content-Type": JSON_MEDIA_TYPE}
MODEL_VERSION_HEADER = "X-Model-Version"  # on every prediction, whatever the response format
ANY_ORIGIN = "*"
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
    cors_allowed_origins: tuple[str, ...] = ()  # CORS_ALLOWED_ORIGINS: comma-separated; empty = CORS off

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
            raise ConfigError(
                f"INFERENCE_ENGINE={engine!r}; choose one of {', '.join(inference_engine.ENGINES)}"
            )
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
            max_body_bytes=int_setting(
                env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 64, MAX_BODY_BYTES_CEILING
            ),
            cors_allowed_origins=tuple(
                origin.strip() for origin in env.get("CORS_ALLOWED_ORIGINS", "").split(",") if origin.strip()
            ),
        )


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}


@dataclass(frozen=True)
class HttpAnswer:
    """One response: status, headers and the body as data (a JSON object, or the JSON Lines records when
    ``Content-Type`` is JSON Lines). Unpacks as ``status, headers, body``; ``text`` goes on the wire."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any] | list[dict[str, Any]]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.headers, self.body))

    @property
    def text(self) -> str:
        if isinstance(self.body, list):
            return render_jsonlines(self.body)
        return json.dumps(self.body)

    @property
    def error(self) -> str | None:
        """The error code of an error answer, else None."""
        return self.body.get("error") if isinstance(self.body, dict) else None


def _json_answer(
    status: int, body: dict[str, Any], extra_headers: Mapping[str, str] | None = None
) -> HttpAnswer:
    return HttpAnswer(status, {**RESPONSE_HEADERS, **(extra_headers or {})}, body)


def cors_headers(
    request_headers: Mapping[str, str] | None, allowed_origins: tuple[str, ...]
) -> dict[str, str]:
    """Access-Control-Allow-Origin for an allowed ``Origin`` (``*`` allows any); nothing otherwise."""
    if not allowed_origins:
        return {}
    if ANY_ORIGIN in allowed_origins:
        return {"Access-Control-Allow-Origin": ANY_ORIGIN}
    origin = next((v for k, v in (request_headers or {}).items() if k.lower() == "origin"), None)
    if origin is not None and origin in allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


def answer(
    method: str | None,
    headers: Mapping[str, str] | None,
    body: str | bytes | None,
    is_base64_encoded: bool,
    get_model: Callable[[], LoadedModel],
    settings: InferenceSettings,
) -> HttpAnswer:
    """One HTTP request -> its answer (with CORS headers for an allowed Origin). Never raises."""
    result = _answer(method, headers, body, is_base64_encoded, get_model, settings)
    result.headers.update(cors_headers(headers, settings.cors_allowed_origins))
    return result


def _answer(
    method: str | None,
    headers: Mapping[str, str] | None,
    body: str | bytes | None,
    is_base64_encoded: bool,
    get_model: Callable[[], LoadedModel],
    settings: InferenceSettings,
) -> HttpAnswer:
    try:
        http = read_http_request(method, headers, body, is_base64_encoded, settings.max_body_bytes)
        decoded = decode_body(http)  # syntax errors are 400 even while no model is available
        model = get_model()
        request = parse_body(decoded, model.schema, settings.max_batch)
        scores = model.engine.score(request.rows)
        if not all(math.isfinite(score) for score in scores):  # JSON has no NaN/Infinity: never send them
            raise ArithmeticError(f"model {model.model_version} produced a non-finite score")
        version_header = {MODEL_VERSION_HEADER: model.model_version}
        if http.response_type == JSONLINES_MEDIA_TYPE:
            return HttpAnswer(
                HTTP_OK,
                {"Content-Type": JSONLINES_MEDIA_TYPE, **version_header},
                predictions_lines(scores, model.threshold),
            )
        return _json_answer(
            HTTP_OK, predictions_body(scores, model.threshold, model.model_version), version_header
        )
    except RequestError as exc:
        return _json_answer(exc.status, exc.body(), exc.headers)
    except ModelUnavailable as exc:
        logger.error("model unavailable: %s", exc)
        return _json_answer(
            HTTP_SERVICE_UNAVAILABLE,
            error_body("model_unavailable", "no model is available to score with; try again later"),
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except Exception:  # a true server fault: log the trace, never send it
        logger.exception("unexpected error while scoring")
        return _json_answer(HTTP_INTERNAL_ERROR, error_body("internal_error", "internal error"))
