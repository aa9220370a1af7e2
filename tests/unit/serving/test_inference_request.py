"""Inference request parsing/validation and the HTTP answers built from it (no AWS, no MXNet)."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

from wildrydes_lambda.model_format.linear_learner import LinearModel
from wildrydes_lambda.serving import request as ir
from wildrydes_lambda.serving.engine import NumpyEngine
from wildrydes_lambda.serving.model_cache import LoadedModel
from wildrydes_lambda.serving.service import InferenceSettings, answer

METADATA = {
    "model_version": "test-v1",
    "features": ["distance", "TMIN", "TMAX", "PRCP"],
    "units": {
        "distance": "miles",
        "TMIN": "tenths of degC",
        "TMAX": "tenths of degC",
        "PRCP": "tenths of mm",
    },
    "threshold": 0.5,
}
SCHEMA = ir.FeatureSchema.from_metadata(METADATA)
MODEL = LinearModel(weights=(0.05, -0.002, 0.004, 0.001), bias=-1.5, threshold=0.5)
SETTINGS = InferenceSettings(bucket="b", engine="numpy", max_batch=3, max_body_bytes=1024)
JSON_HEADERS = {"Content-Type": "application/json"}
WORKSHOP = {"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}


def loaded_model() -> LoadedModel:
    return LoadedModel(NumpyEngine(MODEL), SCHEMA, 0.5, "test-v1", '"etag"', None, Path("."))


def post(body, headers=JSON_HEADERS, method="POST", b64=False):
    raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    return answer(method, headers, raw, b64, loaded_model, SETTINGS)


# --------------------------------------------------------------------------- good requests
def test_workshop_payload_scores_in_metadata_order_and_ignores_extra_fields():
    status, headers, body = post({**WORKSHOP, "healthpoints": 150, "MagicPoints": 3000, "name": "x"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    expected = MODEL.score([[30, 300, 333, 100]])[0]  # distance, TMIN, TMAX, PRCP
    assert body["predictions"] == [
        {
            "score": pytest.approx(expected, abs=1e-12),
            "predicted_label": int(expected >= 0.5),
            "heavy_utilization_percent": round(expected * 100, 1),
        }
    ]
    assert body["model_version"] == "test-v1"


def test_keys_are_case_insensitive():
    request = ir.parse_payload({"DISTANCE": 30, "tmax": 333, "Tmin": 300, "prcp": 100}, SCHEMA)
    assert request.rows == ((30.0, 300.0, 333.0, 100.0),) and request.shape == "model_units"


def test_human_units_are_converted_to_model_units():
    request = ir.parse_payload({"distance_miles": 30, "tmax_c": 33.3, "TMIN_C": 30, "prcp_mm": 10}, SCHEMA)
    assert request.shape == "human_units"
    assert request.rows[0] == pytest.approx((30.0, 300.0, 333.0, 100.0))


def test_human_and_model_units_can_mix_across_features():
    request = ir.parse_payload({"distance": 30, "tmax_c": 33.3, "TMIN": 300, "prcp_mm": 10}, SCHEMA)
    assert request.rows[0] == pytest.approx((30.0, 300.0, 333.0, 100.0))


def test_sagemaker_instances_batch():
    rows = [[30, 300, 333, 100], [1.5, -50, 20, 0], [999, 600, -900, 20000]]
    status, _, body = post({"instances": [{"features": r} for r in rows]})
    assert status == 200
    expected = MODEL.score(rows)
    assert [p["score"] for p in body["predictions"]] == pytest.approx(expected, abs=1e-12)
    assert [p["predicted_label"] for p in body["predictions"]] == [int(s >= 0.5) for s in expected]


def test_charset_parameter_bom_and_base64_body_are_accepted():
    encoded = base64.b64encode(("\ufeff" + json.dumps(WORKSHOP)).encode()).decode()
    status, _, body = post(encoded, {"content-type": "application/json; charset=utf-8"}, b64=True)
    assert status == 200 and len(body["predictions"]) == 1


def test_range_bounds_are_inclusive():
    request = ir.parse_payload({"distance": 0, "TMAX": 600, "TMIN": -900, "PRCP": 20000}, SCHEMA)
    assert request.rows == ((0.0, -900.0, 600.0, 20000.0),)


def test_features_without_a_known_range_only_need_to_be_finite():
    schema = ir.FeatureSchema.from_metadata({"features": ["f0", "f1"]})
    assert ir.parse_payload({"instances": [{"features": [1e30, -1e30]}]}, schema).rows == ((1e30, -1e30),)


def test_regressor_predictions_have_no_label():
    assert ir.predictions_body([1.25], None, "v") == {"predictions": [{"score": 1.25}], "model_version": "v"}


# --------------------------------------------------------------------------- bad requests
BAD_PAYLOADS = [
    # (id, body, headers, method, expected status, expected field or None)
    ("missing-distance", {"TMAX": 333, "TMIN": 300, "PRCP": 100}, None, "POST", 400, "distance"),
    ("missing-prcp", {"distance": 30, "TMAX": 333, "TMIN": 300}, None, "POST", 400, "PRCP"),
    ("string-number", {**WORKSHOP, "TMAX": "333"}, None, "POST", 400, "TMAX"),
    ("word", {**WORKSHOP, "distance": "far"}, None, "POST", 400, "distance"),
    ("bool", {**WORKSHOP, "TMIN": True}, None, "POST", 400, "TMIN"),
    ("null", {**WORKSHOP, "PRCP": None}, None, "POST", 400, "PRCP"),
    ("list-value", {**WORKSHOP, "distance": [30]}, None, "POST", 400, "distance"),
    ("object-value", {**WORKSHOP, "distance": {"v": 30}}, None, "POST", 400, "distance"),
    ("nan-literal", json.dumps(WORKSHOP).replace("333", "NaN"), None, "POST", 400, "TMAX"),
    ("infinity-literal", json.dumps(WORKSHOP).replace("100", "-Infinity"), None, "POST", 400, "PRCP"),
    ("overflow-float", json.dumps(WORKSHOP).replace("30,", "1e999,"), None, "POST", 400, "distance"),
    ("huge-int", json.dumps(WORKSHOP).replace("30,", "9" * 400 + ","), None, "POST", 400, "distance"),
    ("negative-distance", {**WORKSHOP, "distance": -1}, None, "POST", 400, "distance"),
    ("huge-distance", {**WORKSHOP, "distance": 1e6}, None, "POST", 400, "distance"),
    ("tmax-in-kelvin", {**WORKSHOP, "TMAX": 3060}, None, "POST", 400, "TMAX"),
    ("negative-prcp", {**WORKSHOP, "PRCP": -5}, None, "POST", 400, "PRCP"),
    (
        "human-out-of-range",
        {"distance_miles": 3, "tmax_c": 70, "tmin_c": 1, "prcp_mm": 0},
        None,
        "POST",
        400,
        "tmax_c",
    ),
    ("both-unit-forms", {**WORKSHOP, "tmax_c": 33.3}, None, "POST", 400, "TMAX"),
    (
        "duplicate-key-case",
        '{"distance": 30, "DISTANCE": 31, "TMAX": 333, "TMIN": 300, "PRCP": 100}',
        None,
        "POST",
        400,
        "DISTANCE",
    ),
    ("invalid-json", '{"distance": 30,', None, "POST", 400, None),
    ("empty-body", "", None, "POST", 400, None),
    ("whitespace-body", "  \n", None, "POST", 400, None),
    ("no-body", None, None, "POST", 400, None),
    ("json-list", [WORKSHOP], None, "POST", 400, None),
    ("json-number", "42", None, "POST", 400, None),
    ("not-utf8", b'{"distance": "\xff"}', None, "POST", 400, None),
    ("instances-not-list", {"instances": {"features": [1, 2, 3, 4]}}, None, "POST", 400, "instances"),
    ("instances-empty", {"instances": []}, None, "POST", 400, "instances"),
    ("batch-over-limit", {"instances": [{"features": [1, 0, 0, 0]}] * 4}, None, "POST", 400, "instances"),
    ("instance-short", {"instances": [{"features": [1, 2, 3]}]}, None, "POST", 400, "instances[0].features"),
    (
        "instance-no-features",
        {"instances": [{"values": [1, 2, 3, 4]}]},
        None,
        "POST",
        400,
        "instances[0].features",
    ),
    ("instance-bare-list", {"instances": [[1, 2, 3, 4]]}, None, "POST", 400, "instances[0].features"),
    (
        "instance-bad-value",
        {"instances": [{"features": [1, 2, 3, 4]}, {"features": [1, "x", 3, 4]}]},
        None,
        "POST",
        400,
        "instances[1].features[1]",
    ),
    (
        "instance-out-of-range",
        {"instances": [{"features": [1, 2, 3, -4]}]},
        None,
        "POST",
        400,
        "instances[0].features[3]",
    ),
    ("body-over-limit", {**WORKSHOP, "padding": "x" * 2000}, None, "POST", 413, None),
    ("get", WORKSHOP, None, "GET", 405, None),
    ("put", WORKSHOP, None, "PUT", 405, None),
    (
        "form-encoded",
        "distance=30&TMAX=333",
        {"Content-Type": "application/x-www-form-urlencoded"},
        "POST",
        415,
        "Content-Type",
    ),
    ("text-plain", json.dumps(WORKSHOP), {"Content-Type": "text/plain"}, "POST", 415, "Content-Type"),
    ("no-content-type", json.dumps(WORKSHOP), {}, "POST", 415, "Content-Type"),
    ("bad-base64", "!!!not base64!!!", None, "POST", 400, None),
]


@pytest.mark.parametrize(
    "body, headers, method, status, field", [p[1:] for p in BAD_PAYLOADS], ids=[p[0] for p in BAD_PAYLOADS]
)
def test_bad_payloads_get_a_4xx_json_error_naming_the_field(body, headers, method, status, field):
    b64 = body == "!!!not base64!!!"
    got_status, got_headers, got_body = post(body, JSON_HEADERS if headers is None else headers, method, b64)
    assert got_status == status, got_body
    assert got_headers["Content-Type"] == "application/json"
    json.dumps(got_body)  # serializable as the response body
    assert set(got_body) >= {"error", "message"} and "Traceback" not in got_body["message"]
    assert got_body.get("field") == field
    if field is not None:
        assert field in got_body["message"]


def test_enough_distinct_bad_payloads():
    assert len(BAD_PAYLOADS) >= 20


def test_wrong_method_advertises_post():
    status, headers, _ = post(WORKSHOP, method="DELETE")
    assert status == 405 and headers["Allow"] == "POST"


def test_out_of_range_message_states_the_bounds_in_the_units_sent():
    with pytest.raises(ir.RequestError) as err:
        ir.parse_payload({"distance_miles": 3, "tmax_c": 70, "tmin_c": 1, "prcp_mm": 0}, SCHEMA)
    assert "-90" in err.value.message and "60" in err.value.message


def test_validate_number_rejects_nan_even_from_python():
    with pytest.raises(ir.RequestError) as err:
        ir.validate_number(math.nan, "TMAX", "TMAX")
    assert err.value.code == "not_finite"


# --------------------------------------------------------------------------- metadata
@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"features": []},
        {"features": ["a", "A"]},
        {"features": ["a", 3]},
        {"features": ["a"], "units": ["x"]},
    ],
)
def test_bad_metadata_is_rejected(metadata):
    with pytest.raises(ValueError):
        ir.FeatureSchema.from_metadata(metadata)


def test_feature_order_comes_from_metadata():
    schema = ir.FeatureSchema.from_metadata({**METADATA, "features": ["PRCP", "TMAX", "TMIN", "distance"]})
    assert ir.parse_payload(WORKSHOP, schema).rows == ((100.0, 333.0, 300.0, 30.0),)
