"""Parse and validate inference requests; shape responses and errors like a SageMaker endpoint.

Three request shapes are accepted (all JSON objects, POSTed with ``Content-Type: application/json``):

1. **Workshop / model units** — ``{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}``: one row, keys are
   the model's feature names (from ``metadata.json``), matched case-insensitively, values in the model's
   units (miles; tenths of °C; tenths of mm). Other keys (``healthpoints``, ``magicpoints``, ...) are ignored.
2. **Human units** — ``{"distance_miles": 30, "tmax_c": 33.3, "tmin_c": 30, "prcp_mm": 10}``: one row, key =
   ``<feature lower-case>_<unit suffix>``; the unit suffixes and their scale to model units come from
   ``HUMAN_UNITS`` keyed by the unit the metadata gives for the feature (``tenths of degC`` <- ``_c`` x10,
   ``tenths of mm`` <- ``_mm`` x10, ``miles`` <- ``_miles`` x1). Giving both forms of one feature is an error.
3. **SageMaker batch** — ``{"instances": [{"features": [30, 300, 333, 100]}, ...]}``: feature vectors in the
   metadata's feature order and model units, at most ``max_batch`` instances.

Validation (every failure is a ``RequestError`` -> a 4xx JSON body naming the field): a value must be a JSON
number (not a string, not true/false, not null), finite, and inside ``FEATURE_RANGES`` (model units, bounds
included) when the feature has a range. HTTP checks: POST only (405), JSON content type (415), body size
(413), empty body and bad JSON (400).

The response is ``{"predictions": [{"score": s, "predicted_label": 0|1}, ...], "model_version": "..."}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HTTP_OK = 200
HTTP_BAD_REQUEST = 400
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_PAYLOAD_TOO_LARGE = 413
HTTP_UNSUPPORTED_MEDIA_TYPE = 415
HTTP_SERVICE_UNAVAILABLE = 503
HTTP_INTERNAL_ERROR = 500

ALLOWED_METHOD = "POST"
JSON_MEDIA_TYPE = "application/json"
JSON_SUFFIX = "+json"  # e.g. application/vnd.api+json is JSON too
DEFAULT_MAX_BATCH = 100
DEFAULT_MAX_BODY_BYTES = 64 * 1024  # one row is < 200 bytes; 100 rows of 4 features fit in ~6 kB

BATCH_KEY = "instances"
FEATURES_KEY = "features"

# Plausible bounds per feature in MODEL units (inclusive). Outside them the request is a mistake (wrong
# units, typo), not a question the model can answer: distance 0..1000 miles; air temperature -90..+60 °C
# (beyond the recorded extremes) in tenths; daily precipitation 0..2000 mm (the 24 h record is ~1825 mm)
# in tenths. Features without an entry (e.g. a model with other features) are only checked for finiteness.
FEATURE_RANGES: dict[str, tuple[float, float]] = {
    "distance": (0.0, 1000.0),
    "tmax": (-900.0, 600.0),
    "tmin": (-900.0, 600.0),
    "prcp": (0.0, 20000.0),
}


@dataclass(frozen=True)
class HumanUnit:
    """How a human-friendly field maps onto a model unit: model value = human value * scale."""

    suffix: str
    scale: float
    description: str


# Keyed by the unit string that metadata.json gives for a feature (compared case-insensitively).
HUMAN_UNITS: dict[str, HumanUnit] = {
    "miles": HumanUnit("miles", 1.0, "miles"),
    "tenths of degc": HumanUnit("c", 10.0, "degrees Celsius"),
    "tenths of mm": HumanUnit("mm", 10.0, "millimetres"),
}


class RequestError(Exception):
    """A client error: HTTP status, machine-readable code, the offending field (or None) and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def _bad(code: str, message: str, field: str | None = None) -> RequestError:
    return RequestError(HTTP_BAD_REQUEST, code, message, field)


@dataclass(frozen=True)
class FeatureSchema:
    """What the model expects, from metadata.json: feature names in order and their units."""

    features: tuple[str, ...]
    units: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> FeatureSchema:
        features = metadata.get("features")
        if (
            not isinstance(features, list)
            or not features
            or not all(isinstance(f, str) and f for f in features)
        ):
            raise ValueError("metadata.json: 'features' must be a non-empty list of names")
        if len({f.lower() for f in features}) != len(features):
            raise ValueError("metadata.json: feature names must differ case-insensitively")
        units = metadata.get("units") or {}
        if not isinstance(units, dict):
            raise ValueError("metadata.json: 'units' must be an object")  # noqa: TRY004 - callers catch ValueError
        return cls(tuple(features), {str(k): str(v) for k, v in units.items()})

    def human_field(self, feature: str) -> tuple[str, float] | None:
        """The human-units key for ``feature`` and its scale to model units, if its unit has one."""
        unit = HUMAN_UNITS.get(self.units.get(feature, "").strip().lower())
        if unit is None:
            return None
        return f"{feature.lower()}_{unit.suffix}", unit.scale

    def describe(self) -> str:
        return ", ".join(self.features)


@dataclass(frozen=True)
class ScoringRequest:
    """Validated rows in model units and metadata order, plus which request shape they came from."""

    rows: tuple[tuple[float, ...], ...]
    shape: str  # "model_units" | "human_units" | "instances"


# --------------------------------------------------------------------------- HTTP level
def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _is_json_content_type(value: str) -> bool:
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == JSON_MEDIA_TYPE or media_type.endswith(JSON_SUFFIX)


def decode_http_body(
    method: str | None,
    headers: Mapping[str, str] | None,
    body: str | bytes | None,
    is_base64_encoded: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Any:
    """Check method, content type and size, then parse the JSON body (NaN/Infinity parse to floats and
    are rejected later with the field's name)."""
    if (method or "").upper() != ALLOWED_METHOD:
        raise RequestError(
            HTTP_METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"use POST (got {method or 'no method'})",
            headers={"Allow": ALLOWED_METHOD},
        )
    content_type = _header(headers, "content-type")
    if content_type is None or not _is_json_content_type(content_type):
        raise RequestError(
            HTTP_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"send Content-Type: {JSON_MEDIA_TYPE} (got {content_type or 'none'})",
            field="Content-Type",
        )
    raw: bytes
    if body is None:
        raw = b""
    elif is_base64_encoded:
        # Base64 inflates by 4/3: a body that large encoded is already too large decoded.
        if len(body) > (max_body_bytes * 4) // 3 + 4:
            raise _too_large(max_body_bytes)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad("invalid_body", "body is marked base64 but does not decode") from exc
    else:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > max_body_bytes:
        raise _too_large(max_body_bytes)
    if not raw.strip():
        raise _bad("empty_body", "the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8-sig")  # tolerate a UTF-8 BOM
    except UnicodeDecodeError as exc:
        raise _bad("invalid_encoding", "the request body is not UTF-8") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _bad("invalid_json", f"the body is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise _bad("invalid_json", "the body nests too deeply") from exc


def _too_large(max_body_bytes: int) -> RequestError:
    return RequestError(
        HTTP_PAYLOAD_TOO_LARGE, "body_too_large", f"the request body exceeds {max_body_bytes} bytes"
    )


# --------------------------------------------------------------------------- values
def validate_number(value: Any, field_name: str, feature: str | None = None, scale: float = 1.0) -> float:
    """A finite JSON number converted to model units (x scale) and range-checked for ``feature``."""
    # bool is a subclass of int in Python: reject it explicitly, `true` is not a temperature.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = (
            "null"
            if value is None
            else type(value).__name__.replace("str", "string").replace("dict", "object")
        )
        raise _bad("not_a_number", f"{field_name} must be a JSON number, got {kind}", field_name)
    try:
        number = float(value) * scale
    except OverflowError as exc:  # an integer literal with hundreds of digits
        raise _bad("out_of_range", f"{field_name} is too large", field_name) from exc
    if not math.isfinite(number):
        raise _bad(
            "not_finite", f"{field_name} must be finite (NaN and Infinity are not allowed)", field_name
        )
    bounds = FEATURE_RANGES.get((feature or "").lower())
    if bounds is not None and not bounds[0] <= number <= bounds[1]:
        low, high = (b / scale for b in bounds)
        raise _bad(
            "out_of_range", f"{field_name} must be between {low:g} and {high:g}, got {value!r}", field_name
        )
    return number


# --------------------------------------------------------------------------- payload level
def _parse_instances(instances: Any, schema: FeatureSchema, max_batch: int) -> ScoringRequest:
    if not isinstance(instances, list):
        raise _bad("invalid_instances", f'{BATCH_KEY} must be a list of {{"features": [...]}}', BATCH_KEY)
    if not instances:
        raise _bad("empty_batch", f"{BATCH_KEY} is empty", BATCH_KEY)
    if len(instances) > max_batch:
        raise _bad(
            "batch_too_large",
            f"{BATCH_KEY} has {len(instances)} entries; at most {max_batch} allowed",
            BATCH_KEY,
        )
    rows = []
    width = len(schema.features)
    for index, instance in enumerate(instances):
        where = f"{BATCH_KEY}[{index}].{FEATURES_KEY}"
        vector = instance.get(FEATURES_KEY) if isinstance(instance, dict) else None
        if not isinstance(vector, list):
            raise _bad(
                "invalid_instance", f"{where} must be a list of {width} numbers ({schema.describe()})", where
            )
        if len(vector) != width:
            raise _bad(
                "wrong_feature_count",
                f"{where} has {len(vector)} values; the model expects {width} ({schema.describe()})",
                where,
            )
        rows.append(
            tuple(
                validate_number(value, f"{where}[{pos}]", feature)
                for pos, (value, feature) in enumerate(zip(vector, schema.features, strict=False))
            )
        )
    return ScoringRequest(tuple(rows), "instances")


def _parse_single(payload: dict[str, Any], schema: FeatureSchema) -> ScoringRequest:
    by_lower: dict[str, tuple[str, Any]] = {}
    for key, value in payload.items():
        lowered = str(key).lower()
        if lowered in by_lower:
            raise _bad("duplicate_field", f"{key} is given twice (keys are case-insensitive)", key)
        by_lower[lowered] = (key, value)

    row, used_human = [], False
    for feature in schema.features:
        human = schema.human_field(feature)
        model_hit = by_lower.get(feature.lower())
        human_hit = by_lower.get(human[0]) if human else None
        if model_hit and human_hit and human:
            raise _bad("ambiguous_field", f"give either {feature} or {human[0]}, not both", feature)
        if model_hit:
            row.append(validate_number(model_hit[1], feature, feature))
        elif human_hit and human:
            used_human = True
            row.append(validate_number(human_hit[1], human[0], feature, scale=human[1]))
        else:
            alternative = f" (or {human[0]})" if human else ""
            raise _bad(
                "missing_field",
                f"{feature}{alternative} is required; the model needs {schema.describe()}",
                feature,
            )
    return ScoringRequest((tuple(row),), "human_units" if used_human else "model_units")


def parse_payload(payload: Any, schema: FeatureSchema, max_batch: int = DEFAULT_MAX_BATCH) -> ScoringRequest:
    """Turn a decoded JSON body into validated rows (see the module docstring for the shapes)."""
    if not isinstance(payload, dict):
        kind = "list" if isinstance(payload, list) else type(payload).__name__
        raise _bad("invalid_payload", f"the body must be a JSON object, got {kind}")
    batch_key = next((k for k in payload if str(k).lower() == BATCH_KEY), None)
    if batch_key is not None:
        return _parse_instances(payload[batch_key], schema, max_batch)
    return _parse_single(payload, schema)


# --------------------------------------------------------------------------- responses
def predictions_body(scores: Sequence[float], threshold: float | None, model_version: str) -> dict[str, Any]:
    """SageMaker's response shape plus the model version; no label when there is no threshold
    (a regressor)."""
    predictions = []
    for score in scores:
        entry: dict[str, Any] = {"score": float(score)}
        if threshold is not None:
            entry["predicted_label"] = int(score >= threshold)
        predictions.append(entry)
    return {"predictions": predictions, "model_version": model_version}
