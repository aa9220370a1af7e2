"""Parse and validate inference requests; shape responses and errors like a SageMaker endpoint.

The contract is written down in ``openapi.yaml`` (repository root); this module implements it.

Request media types (``Content-Type``), as a SageMaker Linear Learner endpoint accepts them:

- ``application/json`` (and ``*+json``): one JSON object in one of three shapes:

  1. **Workshop / model units** — ``{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}``: one row,
     keys are the model's feature names (from ``metadata.json``), matched case-insensitively, values in the
     model's units (miles; tenths of °C; tenths of mm). Other keys (``healthpoints``, ...) are ignored.
  2. **Human units** — ``{"distance_miles": 30, "tmax_c": 33.3, "tmin_c": 30, "prcp_mm": 10}``: one row,
     key = ``<feature lower-case>_<unit suffix>``; the unit suffixes and their scale to model units come
     from ``HUMAN_UNITS`` keyed by the unit the metadata gives for the feature (``tenths of degC`` <- ``_c``
     x10, ``tenths of mm`` <- ``_mm`` x10, ``miles`` <- ``_miles`` x1). Both forms of one feature: an error.
  3. **SageMaker batch** — ``{"instances": [{"features": [30, 300, 333, 100]}, ...]}``: feature vectors in
     the metadata's feature order and model units, at most ``max_batch`` instances.

- ``text/csv``: one row per instance, the features in the metadata's order and model units, no header (a first
  row equal to the feature names, case-insensitively, is accepted and skipped); blank lines are ignored.
- ``application/jsonlines`` (or ``application/x-jsonlines``): one JSON object per line, each either shape 1/2
  or ``{"features": [...]}``; blank lines are ignored.

Validation (every failure is a ``RequestError`` -> a 4xx JSON body naming the field): a value must be a number
(JSON: not a string, not true/false, not null; CSV: a decimal literal), finite, and inside ``FEATURE_RANGES``
(model units, bounds included) when the feature has a range. The same limits (body size, ``max_batch`` rows)
and error codes apply to every format; the field is named by where it sits: ``TMAX`` (a JSON object),
``instances[2].features[1]`` (JSON batch), ``rows[2].TMIN`` (CSV, 0-based data row), ``lines[2].TMAX`` or
``lines[2].features[1]`` (JSON Lines, 0-based record). HTTP checks: POST only (405), a supported content type
(415), an acceptable response type (406), body size (413), empty body, bad encoding and bad JSON (400).

The response media type is chosen by ``Accept``: ``application/json`` (absent, ``*/*`` and ``application/*``
too) gives ``{"predictions": [{"score": s, "predicted_label": 0|1, "heavy_utilization_percent": p}, ...],
"model_version": "..."}``; ``application/jsonlines`` gives one prediction object per line. Parameters
(``;charset=``) are ignored; among supported types the highest q-value wins (ties: the first listed); nothing
acceptable is a 406. Errors are always ``application/json``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wildrydes_lambda.contracts.features import LABEL_NAME

HTTP_OK = 200
HTTP_BAD_REQUEST = 400
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_NOT_ACCEPTABLE = 406
HTTP_PAYLOAD_TOO_LARGE = 413
HTTP_UNSUPPORTED_MEDIA_TYPE = 415
HTTP_SERVICE_UNAVAILABLE = 503
HTTP_INTERNAL_ERROR = 500

ALLOWED_METHOD = "POST"
JSON_MEDIA_TYPE = "application/json"
JSON_SUFFIX = "+json"  # e.g. application/vnd.api+json is JSON too
CSV_MEDIA_TYPE = "text/csv"
JSONLINES_MEDIA_TYPE = "application/jsonlines"
JSONLINES_ALIASES = frozenset({JSONLINES_MEDIA_TYPE, "application/x-jsonlines"})
REQUEST_MEDIA_TYPES = (JSON_MEDIA_TYPE, CSV_MEDIA_TYPE, JSONLINES_MEDIA_TYPE)
RESPONSE_MEDIA_TYPES = (JSON_MEDIA_TYPE, JSONLINES_MEDIA_TYPE)
JSON_WILDCARDS = frozenset({"*/*", "application/*"})  # "anything" -> the default, JSON
QUALITY_PARAMETER = "q"
DEFAULT_MAX_BATCH = 100
DEFAULT_MAX_BODY_BYTES = 64 * 1024  # one row is < 200 bytes; 100 rows of 4 features fit in ~6 kB

BATCH_KEY = "instances"
FEATURES_KEY = "features"
CSV_ROWS_FIELD = "rows"  # CSV errors name rows[i].<feature>
JSONLINES_FIELD = "lines"  # JSON Lines errors name lines[i].<key>

PREDICTIONS_KEY = "predictions"
SCORE_KEY = "score"
LABEL_KEY = "predicted_label"
PERCENT_KEY = f"{LABEL_NAME}_percent"  # the workshop's "percentage likelihood", beside SageMaker's keys
PERCENT_DECIMALS = 1
PERCENT_SCALE = 100.0

# A CSV cell that is a number: a decimal literal (no underscores, no hex), or a non-finite word that is then
# rejected as not finite, as JSON's NaN/Infinity literals are.
CSV_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
CSV_INTEGER_RE = re.compile(r"[+-]?\d+")
CSV_NON_FINITE_WORDS = frozenset({"nan", "inf", "infinity"})

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


def _media_type(value: str) -> str:
    """The bare media type of a Content-Type/Accept entry: parameters dropped, lower-case."""
    return value.split(";", 1)[0].strip().lower()


def request_media_type(content_type: str | None) -> str:
    """The supported request media type a Content-Type names (canonical spelling), else a 415."""
    media_type = _media_type(content_type or "")
    if media_type == JSON_MEDIA_TYPE or media_type.endswith(JSON_SUFFIX):
        return JSON_MEDIA_TYPE
    if media_type == CSV_MEDIA_TYPE:
        return CSV_MEDIA_TYPE
    if media_type in JSONLINES_ALIASES:
        return JSONLINES_MEDIA_TYPE
    raise RequestError(
        HTTP_UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        f"send Content-Type: {', '.join(REQUEST_MEDIA_TYPES)} (got {content_type or 'none'})",
        field="Content-Type",
    )


def _quality(parameters: Sequence[str]) -> float | None:
    """The q-value of one Accept entry (1 when absent); None when it is malformed (the entry is ignored)."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == QUALITY_PARAMETER:
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0.0 <= quality <= 1.0 else None
    return 1.0


def _response_type_for(media_range: str) -> str | None:
    if media_range in JSON_WILDCARDS or media_range == JSON_MEDIA_TYPE or media_range.endswith(JSON_SUFFIX):
        return JSON_MEDIA_TYPE
    if media_range in JSONLINES_ALIASES:
        return JSONLINES_MEDIA_TYPE
    return None


def negotiate_response_type(accept: str | None) -> str:
    """The response media type for an ``Accept`` header: JSON when absent or any; the supported type with the
    highest q-value (ties: first listed); 406 when nothing listed is supported (or all have q=0)."""
    if accept is None or not accept.strip():
        return JSON_MEDIA_TYPE
    best: tuple[float, str] | None = None
    for entry in accept.split(","):
        media_range, *parameters = entry.split(";")
        quality = _quality(parameters)
        response_type = _response_type_for(media_range.strip().lower())
        if response_type is None or quality is None or quality <= 0.0:
            continue
        if best is None or quality > best[0]:
            best = (quality, response_type)
    if best is None:
        raise RequestError(
            HTTP_NOT_ACCEPTABLE,
            "not_acceptable",
            f"send Accept: {' or '.join(RESPONSE_MEDIA_TYPES)} (got {accept})",
            field="Accept",
        )
    return best[1]


@dataclass(frozen=True)
class HttpBody:
    """A request that passed the HTTP checks: its media type, its text, and the response type to answer in."""

    media_type: str
    text: str
    response_type: str = JSON_MEDIA_TYPE


def read_http_request(
    method: str | None,
    headers: Mapping[str, str] | None,
    body: str | bytes | None,
    is_base64_encoded: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> HttpBody:
    """Check method, content type, Accept and size, and decode the body to text (UTF-8, a BOM tolerated)."""
    if (method or "").upper() != ALLOWED_METHOD:
        raise RequestError(
            HTTP_METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"use POST (got {method or 'no method'})",
            headers={"Allow": ALLOWED_METHOD},
        )
    media_type = request_media_type(_header(headers, "content-type"))
    response_type = negotiate_response_type(_header(headers, "accept"))
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
        raise _bad("empty_body", f"the request body is empty; send {media_type}")
    try:
        text = raw.decode("utf-8-sig")  # tolerate a UTF-8 BOM
    except UnicodeDecodeError as exc:
        raise _bad("invalid_encoding", "the request body is not UTF-8") from exc
    return HttpBody(media_type, text, response_type)


def _loads(text: str, where: str = "the body") -> Any:
    """JSON text -> value (NaN/Infinity parse to floats and are rejected later with the field's name)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _bad("invalid_json", f"{where} is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise _bad("invalid_json", f"{where} nests too deeply") from exc


@dataclass(frozen=True)
class DecodedBody:
    """A body parsed to its format's structure, not yet checked against the model's features: the JSON value,
    the list of JSON Lines values, or the list of CSV rows (lists of cells)."""

    media_type: str
    value: Any


def decode_body(http: HttpBody) -> DecodedBody:
    """Syntax only (no model needed): JSON -> value; JSON Lines -> a value per non-blank line; CSV -> rows."""
    if http.media_type == CSV_MEDIA_TYPE:
        try:
            reader = csv.reader(http.text.splitlines(), strict=True)
            rows = [row for row in reader if any(cell.strip() for cell in row)]
        except csv.Error as exc:
            raise _bad("invalid_csv", f"the body is not valid CSV ({exc})") from exc
        return DecodedBody(CSV_MEDIA_TYPE, rows)
    if http.media_type == JSONLINES_MEDIA_TYPE:
        lines = [line for line in http.text.splitlines() if line.strip()]
        return DecodedBody(
            JSONLINES_MEDIA_TYPE,
            [_loads(line, f"{JSONLINES_FIELD}[{index}]") for index, line in enumerate(lines)],
        )
    return DecodedBody(JSON_MEDIA_TYPE, _loads(http.text))


def decode_http_body(
    method: str | None,
    headers: Mapping[str, str] | None,
    body: str | bytes | None,
    is_base64_encoded: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> DecodedBody:
    """The HTTP checks and the syntax of the body in one call (see ``read_http_request``/``decode_body``)."""
    return decode_body(read_http_request(method, headers, body, is_base64_encoded, max_body_bytes))


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
def _check_batch_size(count: int, where: str, max_batch: int) -> None:
    if not count:
        raise _bad("empty_batch", f"{where} is empty", where)
    if count > max_batch:
        raise _bad("batch_too_large", f"{where} has {count} entries; at most {max_batch} allowed", where)


def _parse_vector(vector: Any, where: str, schema: FeatureSchema) -> tuple[float, ...]:
    """One ``features`` list (metadata order, model units); ``where`` names it in errors."""
    width = len(schema.features)
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
    return tuple(
        validate_number(value, f"{where}[{pos}]", feature)
        for pos, (value, feature) in enumerate(zip(vector, schema.features, strict=True))
    )


def _parse_instances(instances: Any, schema: FeatureSchema, max_batch: int) -> ScoringRequest:
    if not isinstance(instances, list):
        raise _bad("invalid_instances", f'{BATCH_KEY} must be a list of {{"features": [...]}}', BATCH_KEY)
    _check_batch_size(len(instances), BATCH_KEY, max_batch)
    rows = []
    for index, instance in enumerate(instances):
        vector = instance.get(FEATURES_KEY) if isinstance(instance, dict) else None
        rows.append(_parse_vector(vector, f"{BATCH_KEY}[{index}].{FEATURES_KEY}", schema))
    return ScoringRequest(tuple(rows), "instances")


def _parse_single(payload: dict[str, Any], schema: FeatureSchema, prefix: str = "") -> ScoringRequest:
    """One named-feature object; ``prefix`` (e.g. ``lines[3].``) goes before every field it names."""
    by_lower: dict[str, tuple[str, Any]] = {}
    for key, value in payload.items():
        lowered = str(key).lower()
        if lowered in by_lower:
            raise _bad(
                "duplicate_field",
                f"{prefix}{key} is given twice (keys are case-insensitive)",
                f"{prefix}{key}",
            )
        by_lower[lowered] = (key, value)

    row, used_human = [], False
    for feature in schema.features:
        human = schema.human_field(feature)
        model_hit = by_lower.get(feature.lower())
        human_hit = by_lower.get(human[0]) if human else None
        if model_hit and human and human_hit:
            raise _bad(
                "ambiguous_field",
                f"give either {prefix}{feature} or {prefix}{human[0]}, not both",
                f"{prefix}{feature}",
            )
        if model_hit:
            row.append(validate_number(model_hit[1], f"{prefix}{feature}", feature))
        elif human and human_hit:
            used_human = True
            row.append(validate_number(human_hit[1], f"{prefix}{human[0]}", feature, scale=human[1]))
        else:
            alternative = f" (or {prefix}{human[0]})" if human else ""
            raise _bad(
                "missing_field",
                f"{prefix}{feature}{alternative} is required; the model needs {schema.describe()}",
                f"{prefix}{feature}",
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


def parse_jsonlines(
    records: Sequence[Any], schema: FeatureSchema, max_batch: int = DEFAULT_MAX_BATCH
) -> ScoringRequest:
    """Decoded JSON Lines records -> rows: each a named-feature object or ``{"features": [...]}``."""
    _check_batch_size(len(records), JSONLINES_FIELD, max_batch)
    rows = []
    for index, record in enumerate(records):
        where = f"{JSONLINES_FIELD}[{index}]"
        if not isinstance(record, dict):
            kind = "list" if isinstance(record, list) else type(record).__name__
            raise _bad("invalid_payload", f"{where} must be a JSON object, got {kind}", where)
        features_key = next((k for k in record if str(k).lower() == FEATURES_KEY), None)
        if features_key is not None:
            rows.append(_parse_vector(record[features_key], f"{where}.{FEATURES_KEY}", schema))
        else:
            rows.extend(_parse_single(record, schema, prefix=f"{where}.").rows)
    return ScoringRequest(tuple(rows), "jsonlines")


def _csv_number(cell: str, where: str) -> int | float:
    """A CSV cell as the number JSON would have parsed (int for integer literals), else not_a_number."""
    text = cell.strip()
    if text.lstrip("+-").lower() in CSV_NON_FINITE_WORDS:
        return float(text)
    if CSV_INTEGER_RE.fullmatch(text):
        try:
            return int(text)
        except ValueError as exc:  # more digits than int() converts: too large for any feature
            raise _bad("out_of_range", f"{where} is too large", where) from exc
    if CSV_NUMBER_RE.fullmatch(text):
        return float(text)
    got = "an empty cell" if not text else f"{text[:40]!r}"
    raise _bad("not_a_number", f"{where} must be a number, got {got}", where)


def _is_header(row: Sequence[str], schema: FeatureSchema) -> bool:
    return [cell.strip().lower() for cell in row] == [feature.lower() for feature in schema.features]


def parse_csv_rows(
    rows: Sequence[Sequence[str]], schema: FeatureSchema, max_batch: int = DEFAULT_MAX_BATCH
) -> ScoringRequest:
    """CSV rows (metadata order, model units; a first row of the feature names is skipped) -> rows."""
    data = list(rows[1:]) if rows and _is_header(rows[0], schema) else list(rows)
    _check_batch_size(len(data), CSV_ROWS_FIELD, max_batch)
    width = len(schema.features)
    parsed = []
    for index, row in enumerate(data):
        where = f"{CSV_ROWS_FIELD}[{index}]"
        if len(row) != width:
            raise _bad(
                "wrong_feature_count",
                f"{where} has {len(row)} values; the model expects {width} ({schema.describe()})",
                where,
            )
        values = []
        for cell, feature in zip(row, schema.features, strict=True):
            field_name = f"{where}.{feature}"
            values.append(validate_number(_csv_number(cell, field_name), field_name, feature))
        parsed.append(tuple(values))
    return ScoringRequest(tuple(parsed), "csv")


def parse_body(
    decoded: DecodedBody, schema: FeatureSchema, max_batch: int = DEFAULT_MAX_BATCH
) -> ScoringRequest:
    """A decoded body of any supported media type -> validated rows in model units and metadata order."""
    if decoded.media_type == CSV_MEDIA_TYPE:
        return parse_csv_rows(decoded.value, schema, max_batch)
    if decoded.media_type == JSONLINES_MEDIA_TYPE:
        return parse_jsonlines(decoded.value, schema, max_batch)
    return parse_payload(decoded.value, schema, max_batch)


# --------------------------------------------------------------------------- responses
def prediction(score: float, threshold: float | None) -> dict[str, Any]:
    """One prediction: SageMaker's ``score``/``predicted_label`` plus the score as a percentage (0-100, one
    decimal) for a classifier; a regressor (no threshold) has only the score."""
    entry: dict[str, Any] = {SCORE_KEY: float(score)}
    if threshold is not None:
        entry[LABEL_KEY] = int(score >= threshold)
        entry[PERCENT_KEY] = round(min(max(float(score), 0.0), 1.0) * PERCENT_SCALE, PERCENT_DECIMALS)
    return entry


def predictions_body(scores: Sequence[float], threshold: float | None, model_version: str) -> dict[str, Any]:
    """The ``application/json`` response: SageMaker's shape plus the model version."""
    return {
        PREDICTIONS_KEY: [prediction(score, threshold) for score in scores],
        "model_version": model_version,
    }


def predictions_lines(scores: Sequence[float], threshold: float | None) -> list[dict[str, Any]]:
    """The ``application/jsonlines`` response's records: one prediction per line, in request order."""
    return [prediction(score, threshold) for score in scores]


def render_jsonlines(records: Sequence[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)
