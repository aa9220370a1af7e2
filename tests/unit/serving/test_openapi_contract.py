"""openapi.yaml is the inference API's contract: it is a valid OpenAPI 3 document, its features, units,
ranges, limits and error codes are the Python contract's, its examples are answered as documented, and every
answer the function gives (success or error) is inside the documented schemas and status codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from test_inference_request import BAD_PAYLOADS, JSON_HEADERS, post

from wildrydes_dev import openapi_models
from wildrydes_lambda.contracts.features import FEATURE_NAMES, FEATURE_UNITS, LABEL_NAME
from wildrydes_lambda.serving import request as ir
from wildrydes_lambda.serving.service import MODEL_VERSION_HEADER

REPO_ROOT = Path(__file__).resolve().parents[3]
REQUEST_SOURCE = REPO_ROOT / "lambda_src" / "wildrydes_lambda" / "serving" / "request.py"
SERVICE_SOURCE = REPO_ROOT / "lambda_src" / "wildrydes_lambda" / "serving" / "service.py"
SPEC = openapi_models.load_spec()
SCHEMAS = SPEC["components"]["schemas"]
OPERATION = SPEC["paths"]["/"]["post"]
JSONL = "application/jsonlines"


def resolve(node):
    """The node with every local $ref replaced by its target (the spec has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = SPEC
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target)
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item) for item in node]
    return node


def validator(schema_name: str) -> OAS30Validator:
    return OAS30Validator(resolve(SCHEMAS[schema_name]))


def response(status: int) -> dict:
    return resolve(OPERATION["responses"][str(status)])


def test_the_spec_is_valid_openapi_3():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.")


def test_feature_list_matches_the_python_feature_contract():
    assert SPEC["info"]["x-wildrydes-features"] == list(FEATURE_NAMES)
    workshop = SCHEMAS["WorkshopRequest"]
    assert list(workshop["properties"]) == list(FEATURE_NAMES) == workshop["required"]
    features = SCHEMAS["Features"]
    assert features["minItems"] == features["maxItems"] == len(FEATURE_NAMES)
    assert ", ".join(FEATURE_NAMES) in features["description"]
    csv_header = OPERATION["requestBody"]["content"]["text/csv"]["examples"]["with_header"][
        "value"
    ].splitlines()[0]
    assert csv_header == ",".join(FEATURE_NAMES)
    assert ",".join(FEATURE_NAMES) in SCHEMAS["CsvRequest"]["description"]


def test_units_ranges_and_human_fields_match_the_request_module():
    workshop = resolve(SCHEMAS["WorkshopRequest"])["properties"]
    schema = ir.FeatureSchema(FEATURE_NAMES, FEATURE_UNITS)
    human = SCHEMAS["HumanUnitsRequest"]["properties"]
    human_names = []
    for feature in FEATURE_NAMES:
        low, high = ir.FEATURE_RANGES[feature.lower()]
        assert (workshop[feature]["minimum"], workshop[feature]["maximum"]) == (low, high), feature
        unit_words = FEATURE_UNITS[feature].replace("degC", "degrees Celsius").replace("mm", "millimetres")
        assert unit_words.lower() in workshop[feature]["description"].lower(), feature
        name, scale = schema.human_field(feature)
        human_names.append(name)
        assert (human[name]["minimum"], human[name]["maximum"]) == (low / scale, high / scale), name
    assert sorted(human) == sorted(human_names) == sorted(SCHEMAS["HumanUnitsRequest"]["required"])


def test_limits_and_media_types_match_the_request_module():
    assert SCHEMAS["InstancesRequest"]["properties"]["instances"]["maxItems"] == ir.DEFAULT_MAX_BATCH
    assert str(ir.DEFAULT_MAX_BODY_BYTES) in SPEC["info"]["description"]
    assert f"{ir.DEFAULT_MAX_BATCH} rows" in SPEC["info"]["description"]
    assert list(OPERATION["requestBody"]["content"]) == list(ir.REQUEST_MEDIA_TYPES)
    assert list(OPERATION["responses"]["200"]["content"]) == list(ir.RESPONSE_MEDIA_TYPES)
    assert MODEL_VERSION_HEADER in OPERATION["responses"]["200"]["headers"]
    prediction = SCHEMAS["Prediction"]["properties"]
    assert list(prediction) == [ir.SCORE_KEY, ir.LABEL_KEY, ir.PERCENT_KEY] and ir.PERCENT_KEY.startswith(
        LABEL_NAME
    )
    assert SPEC["components"]["securitySchemes"]["apiKey"] == {
        **SPEC["components"]["securitySchemes"]["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


def test_every_error_code_the_function_can_send_is_documented_under_its_status():
    source = REQUEST_SOURCE.read_text() + SERVICE_SOURCE.read_text()
    bad_request_codes = set(re.findall(r'_bad\(\s*"([a-z_]+)"', source))
    assert len(bad_request_codes) >= 15  # the scan found the codes, not nothing
    described = OPERATION["responses"]["400"]["description"]
    assert {code for code in bad_request_codes if f"`{code}`" not in described} == set()
    other = {
        "method_not_allowed": 405,
        "not_acceptable": 406,
        "body_too_large": 413,
        "unsupported_media_type": 415,
        "internal_error": 500,
        "model_unavailable": 503,
    }
    for code, status in other.items():
        assert f'"{code}"' in source, code
        assert f"`{code}`" in response(status)["description"], code


def test_every_documented_example_validates_against_its_schema():
    checked = 0
    for content in OPERATION["requestBody"]["content"].values():
        check = OAS30Validator(resolve(content["schema"]))
        for example in content["examples"].values():
            check.validate(example["value"])
            checked += 1
    for answer_ in OPERATION["responses"].values():
        for content in resolve(answer_)["content"].values():
            OAS30Validator(content["schema"]).validate(content["example"])
            checked += 1
    assert checked >= 20


def test_documented_request_examples_are_answered_200_within_the_response_schemas():
    prediction = validator("Prediction")
    for media_type, content in OPERATION["requestBody"]["content"].items():
        for name, example in content["examples"].items():
            value = example["value"]
            body = value if isinstance(value, str) else json.dumps(value)
            for accept, schema in (("application/json", "PredictionResponse"), (JSONL, None)):
                status, headers, answer_ = post(body, {"Content-Type": media_type, "Accept": accept})
                assert status == 200, (media_type, name, answer_)
                assert headers["Content-Type"] == accept
                if schema:
                    validator(schema).validate(answer_)
                else:
                    for line in answer_:
                        prediction.validate(line)


@pytest.mark.parametrize("case", BAD_PAYLOADS, ids=[p[0] for p in BAD_PAYLOADS])
def test_every_error_answer_is_a_documented_status_with_the_error_shape(case):
    _, body, headers, method, _, _ = case
    status, got_headers, answer_ = post(
        body, JSON_HEADERS if headers is None else headers, method, body == "!!!not base64!!!"
    )
    documented = response(status)
    assert got_headers["Content-Type"] in documented["content"]
    validator("Error").validate(answer_)
    for header in documented.get("headers", {}):
        assert header in got_headers, (status, header)


def test_the_committed_gateway_model_is_generated_from_the_spec():
    for path, text in openapi_models.generated(SPEC).items():
        assert path.read_text() == text, f"{path} drifted: run `make docs`"
    model = json.loads((openapi_models.MODELS_DIR / "json_request.schema.json").read_text())
    assert (
        model["$schema"] == openapi_models.DRAFT4
        and model["type"] == SCHEMAS["JsonRequest"]["type"] == "object"
    )


def test_the_gateway_model_refuses_what_is_not_an_object_and_passes_every_json_example():
    from jsonschema import Draft4Validator

    model = Draft4Validator(json.loads((openapi_models.MODELS_DIR / "json_request.schema.json").read_text()))
    for example in OPERATION["requestBody"]["content"]["application/json"]["examples"].values():
        assert model.is_valid(example["value"])
    for not_an_object in ([], 42, "text", None, True):
        assert not model.is_valid(not_an_object)


def test_the_drift_check_fails_on_a_changed_model(tmp_path, monkeypatch):
    monkeypatch.setattr(openapi_models, "MODELS_DIR", tmp_path)
    (tmp_path / "json_request.schema.json").write_text("{}\n")
    assert openapi_models.main(["--check"]) == 1
    assert openapi_models.main([]) == 0 and openapi_models.main(["--check"]) == 0


def test_every_gateway_response_is_documented_with_its_status_and_code():
    import hcl2

    source = (REPO_ROOT / "modules" / "inference_api" / "gateway_responses.tf").read_text()
    block = next(block for block in hcl2.loads(source)["locals"] if "gateway_responses" in block)
    responses = block["gateway_responses"][0]  # bc-python-hcl2 wraps object values in a list
    assert {"INVALID_API_KEY", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_5XX"} <= set(responses)
    for response_type, response in responses.items():
        code = response["error"]
        assert f"`{code}`" in SPEC["info"]["description"], response_type
        if response["status"] is not None:
            documented = resolve(OPERATION["responses"][response["status"]])
            assert f"`{code}`" in documented["description"], (response_type, code)
            for header in response["headers"]:
                assert header in documented.get("headers", {}), (response_type, header)
