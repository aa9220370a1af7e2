"""Content types like a SageMaker endpoint: CSV and JSON Lines requests, JSON Lines responses by Accept,
the same limits and 4xx JSON errors for every format, and the percentage beside SageMaker's keys."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from test_inference_request import BAD_PAYLOADS, JSON_HEADERS, MODEL, SETTINGS, WORKSHOP, loaded_model, post

from wildrydes_lambda.serving import request as ir
from wildrydes_lambda.serving.service import InferenceSettings, answer

CSV = "text/csv"
JSONL = "application/jsonlines"
SCORE_TOLERANCE = 1e-9
SAME = "same as JSON"  # the error code the JSON form of the class gets
FEATURES = ("distance", "TMIN", "TMAX", "PRCP")  # metadata order of the test model
HEADER_ROW = ",".join(FEATURES)
WORKSHOP_CSV = "30,300,333,100"

# Per bad-payload class of test_inference_request.py (BAD_PAYLOADS): how it looks as CSV and as JSON Lines,
# the error code (SAME, or the one the format gives when the class cannot be said the same way) and the field.
# A str instead of a tuple says why the class has no form in that format.
CSV_FORMS: dict[str, tuple[str | bytes | None, str, str | None] | str] = {
    "missing-distance": ("300,333,100", "wrong_feature_count", "rows[0]"),
    "missing-prcp": ("30,300,333", "wrong_feature_count", "rows[0]"),
    "string-number": "every CSV cell is text: '333' is the number 333",
    "word": ("far,300,333,100", SAME, "rows[0].distance"),
    "bool": ("30,true,333,100", SAME, "rows[0].TMIN"),
    "null": ("30,300,333,", SAME, "rows[0].PRCP"),
    "list-value": ('"[30]",300,333,100', SAME, "rows[0].distance"),
    "object-value": ('"{""v"": 30}",300,333,100', SAME, "rows[0].distance"),
    "nan-literal": ("30,300,NaN,100", SAME, "rows[0].TMAX"),
    "infinity-literal": ("30,300,333,-Infinity", SAME, "rows[0].PRCP"),
    "overflow-float": ("1e999,300,333,100", SAME, "rows[0].distance"),
    "huge-int": ("9" * 400 + ",300,333,100", SAME, "rows[0].distance"),
    "negative-distance": ("-1,300,333,100", SAME, "rows[0].distance"),
    "huge-distance": ("1e6,300,333,100", SAME, "rows[0].distance"),
    "tmax-in-kelvin": ("30,300,3060,100", SAME, "rows[0].TMAX"),
    "negative-prcp": ("30,300,333,-5", SAME, "rows[0].PRCP"),
    "human-out-of-range": "CSV carries model units only",
    "both-unit-forms": "CSV carries model units only",
    "duplicate-key-case": "CSV has no keys",
    "invalid-json": ('"30,300,333,100', "invalid_csv", None),
    "empty-body": ("", SAME, None),
    "whitespace-body": ("  \n", SAME, None),
    "no-body": (None, SAME, None),
    "json-list": "CSV has no lists",
    "json-number": ("42", "wrong_feature_count", "rows[0]"),
    "not-utf8": (b"30,300,\xff,100", SAME, None),
    "instances-not-list": "CSV has no instances key",
    "instances-empty": (HEADER_ROW + "\n", SAME, "rows"),
    "batch-over-limit": ("1,0,0,0\n" * 4, SAME, "rows"),
    "instance-short": ("1,2,3", SAME, "rows[0]"),
    "instance-no-features": "CSV has no keys",
    "instance-bare-list": "a CSV row is always a bare list",
    "instance-bad-value": ("1,2,3,4\n1,x,3,4", SAME, "rows[1].TMIN"),
    "instance-out-of-range": ("1,2,3,-4", SAME, "rows[0].PRCP"),
    "body-over-limit": ((WORKSHOP_CSV + "\n") * 70, SAME, None),
    "get": (WORKSHOP_CSV, SAME, None),
    "put": (WORKSHOP_CSV, SAME, None),
    "form-encoded": (WORKSHOP_CSV, SAME, "Content-Type"),
    "text-plain": (WORKSHOP_CSV, SAME, "Content-Type"),
    "no-content-type": (WORKSHOP_CSV, SAME, "Content-Type"),
    "bad-base64": ("!!!not base64!!!", SAME, None),
}

JSONL_OVERRIDES: dict[str, tuple[str | bytes | None, str, str | None] | str] = {
    "json-list": (json.dumps([WORKSHOP]), "invalid_payload", "lines[0]"),
    "json-number": ("42", "invalid_payload", "lines[0]"),
    "instances-not-list": "JSON Lines has no instances key: every line is an instance",
    "instances-empty": "JSON Lines without a line is an empty body (the empty-body class)",
    "instance-no-features": ('{"values": [1, 2, 3, 4]}', "missing_field", "lines[0].distance"),
    "instance-bare-list": ("[1, 2, 3, 4]", "invalid_payload", "lines[0]"),
    "body-over-limit": ((json.dumps(WORKSHOP) + "\n") * 30, SAME, None),
}


def jsonl_form(case_id: str) -> tuple[str | bytes | None, str, str | None] | str:
    """The JSON Lines form of a bad-payload class: a single object is one line (fields gain ``lines[0].``),
    an instances batch is one ``{"features": [...]}`` line per instance (``instances`` -> ``lines``)."""
    if case_id in JSONL_OVERRIDES:
        return JSONL_OVERRIDES[case_id]
    _, body, _, _, _, field = next(p for p in BAD_PAYLOADS if p[0] == case_id)
    if isinstance(body, dict) and "instances" in body:
        lines = "\n".join(json.dumps(instance) for instance in body["instances"])
        return lines, SAME, field.replace("instances", "lines", 1) if field else None
    text = json.dumps(body) if isinstance(body, dict) else body
    is_line = isinstance(body, dict) or (isinstance(body, str) and body.lstrip().startswith("{"))
    return text, SAME, (f"lines[0].{field}" if is_line and field and field != "Content-Type" else field)


def cases(content_type: str):
    for case_id, *_ in BAD_PAYLOADS:
        form = CSV_FORMS[case_id] if content_type == CSV else jsonl_form(case_id)
        if isinstance(form, tuple):
            yield pytest.param(case_id, *form, id=f"{content_type}-{case_id}")


def test_every_bad_payload_class_is_rendered_in_each_format_or_says_why_not():
    ids = {p[0] for p in BAD_PAYLOADS}
    assert set(CSV_FORMS) == ids
    not_applicable = [i for i in ids if isinstance(CSV_FORMS[i], str)] + [
        i for i in ids if isinstance(jsonl_form(i), str)
    ]
    assert all(isinstance(CSV_FORMS[i], str | tuple) and isinstance(jsonl_form(i), str | tuple) for i in ids)
    # Most classes exist in every format; the exceptions are the ones listed with a reason.
    assert len(not_applicable) <= len(ids) // 4


@pytest.mark.parametrize("content_type", [CSV, JSONL])
def test_every_format_gets_the_same_4xx_json_as_json_for_every_bad_payload_class(content_type):
    checked = 0
    for param in cases(content_type):
        case_id, text, code, field = param.values
        _, json_body, headers, method, json_status, _ = next(p for p in BAD_PAYLOADS if p[0] == case_id)
        json_answer = post(
            json_body, JSON_HEADERS if headers is None else headers, method, json_body == "!!!not base64!!!"
        )
        send_headers = {"Content-Type": content_type} if headers is None else headers
        status, got_headers, body = post(text, send_headers, method, text == "!!!not base64!!!")
        label = f"{content_type} {case_id}: {body}"
        assert status == json_status and 400 <= status < 500, label
        assert got_headers["Content-Type"] == "application/json", label
        assert body["error"] == (json_answer.body["error"] if code == SAME else code), label
        assert body.get("field") == field, label
        if field is not None:
            assert field in body["message"], label
        assert set(body) <= {"error", "message", "field"} and "Traceback" not in body["message"]
        checked += 1
    assert checked >= 25  # most of the table, not a handful


# --------------------------------------------------------------------------- same scores in every format
def random_rows(seed: int, count: int = 3) -> list[list[float]]:
    rng = random.Random(seed)
    return [
        [
            round(rng.uniform(0, 200), 3),
            rng.randint(-300, 300),
            rng.randint(-300, 400),
            round(rng.uniform(0, 500), 1),
        ]
        for _ in range(count)
    ]


def scores_of(answer_) -> list[float]:
    status, headers, body = answer_
    assert status == 200, body
    if headers["Content-Type"] == JSONL:
        return [line["score"] for line in body]
    return [p["score"] for p in body["predictions"]]


@pytest.mark.parametrize("seed", range(5))
def test_csv_and_jsonlines_score_like_json(seed):
    rows = random_rows(seed)
    reference = scores_of(post({"instances": [{"features": r} for r in rows]}))
    assert reference == pytest.approx(MODEL.score(rows), abs=SCORE_TOLERANCE)
    named = [dict(zip(FEATURES, r, strict=True)) for r in rows]
    csv_body = "\n".join(",".join(repr(v) for v in r) for r in rows)
    variants = {
        "csv": (csv_body, CSV),
        "csv-header": (HEADER_ROW + "\n" + csv_body + "\n", CSV),
        "csv-header-other-case-crlf": (HEADER_ROW.upper() + "\r\n" + csv_body.replace("\n", "\r\n"), CSV),
        "jsonl-features": ("\n".join(json.dumps({"features": r}) for r in rows) + "\n", JSONL),
        "jsonl-workshop": ("\n".join(json.dumps(n) for n in named), JSONL),
        "jsonl-x-alias": ("\n\n".join(json.dumps(n) for n in named), "application/x-jsonlines"),
    }
    for name, (text, content_type) in variants.items():
        for accept in ("application/json", JSONL):
            got = scores_of(post(text, {"Content-Type": content_type, "Accept": accept}))
            assert got == pytest.approx(reference, abs=SCORE_TOLERANCE, rel=0), (name, accept)


def test_csv_header_must_be_the_feature_names_in_metadata_order():
    status, _, body = post("TMAX,TMIN,distance,PRCP\n30,300,333,100", {"Content-Type": CSV})
    assert status == 400 and body["field"] == "rows[0].distance"  # a reordered header is data, not a header


def test_jsonlines_human_units_and_mixed_shapes():
    human = '{"distance_miles": 30, "tmax_c": 33.3, "tmin_c": 30, "prcp_mm": 10}'
    text = human + '\n{"features": [30, 300, 333, 100]}'
    status, _, body = post(text, {"Content-Type": JSONL})
    assert status == 200
    first, second = (p["score"] for p in body["predictions"])
    assert first == pytest.approx(second, abs=SCORE_TOLERANCE)


def test_csv_quoted_and_spaced_numbers_are_numbers():
    status, _, body = post('" 30 ", 300 ,333,"100"', {"Content-Type": CSV})
    assert status == 200
    assert body["predictions"][0]["score"] == pytest.approx(MODEL.score([[30, 300, 333, 100]])[0], abs=1e-12)


@pytest.mark.parametrize("cell", ["1_000", "0x10", "1,5", "--1", "1e", ".", "3 0"])
def test_csv_cells_that_python_or_locales_might_read_are_not_numbers(cell):
    status, _, body = post(f'"{cell}",300,333,100', {"Content-Type": CSV})
    assert status == 400 and body["error"] == "not_a_number" and body["field"] == "rows[0].distance"


# --------------------------------------------------------------------------- Accept
@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("application/jsonlines", JSONL),
        ("Application/JSONLines; charset=UTF-8", JSONL),
        ("application/x-jsonlines", JSONL),
        ("application/jsonlines;q=0.5, application/json;q=0.9", "application/json"),
        ("application/json;q=0.1, application/jsonlines", JSONL),
        ("text/html, application/jsonlines;q=0.2, */*;q=0.1", JSONL),
        ("text/html, */*;q=0.1", "application/json"),
        ("application/json;q=0, application/jsonlines;q=0.3", JSONL),
        ("application/json;q=abc, application/jsonlines", JSONL),
        ("application/jsonlines, application/json", JSONL),  # a tie: the first listed
    ],
)
def test_accept_negotiation(accept, expected):
    headers = {"Content-Type": "application/json"} | ({} if accept is None else {"Accept": accept})
    status, got_headers, body = post(WORKSHOP, headers)
    assert status == 200 and got_headers["Content-Type"] == expected
    assert got_headers["X-Model-Version"] == "test-v1"
    if expected == JSONL:
        assert isinstance(body, list) and set(body[0]) == {
            "score",
            "predicted_label",
            "heavy_utilization_percent",
        }
    else:
        assert body["model_version"] == "test-v1" and len(body["predictions"]) == 1


@pytest.mark.parametrize(
    "accept",
    [
        "text/csv",
        "text/html",
        "application/xml, text/plain;q=0.5",
        "application/json;q=0",
        "*/*;q=0",
        "application/jsonlines;q=2",
    ],
)
def test_unsupported_accept_is_406_json(accept):
    status, headers, body = post(WORKSHOP, {"Content-Type": "application/json", "Accept": accept})
    assert status == 406 and headers["Content-Type"] == "application/json"
    assert body["error"] == "not_acceptable" and body["field"] == "Accept"
    assert "application/jsonlines" in body["message"]


def test_errors_are_json_even_when_json_lines_was_asked_for():
    answer_ = post("30,300", {"Content-Type": CSV, "Accept": JSONL})
    assert answer_.status == 400 and answer_.headers["Content-Type"] == "application/json"
    assert json.loads(answer_.text)["error"] == "wrong_feature_count"


def test_jsonlines_response_is_one_object_per_line_in_request_order():
    rows = random_rows(7)
    answer_ = post("\n".join(",".join(map(str, r)) for r in rows), {"Content-Type": CSV, "Accept": JSONL})
    lines = answer_.text.splitlines()
    assert answer_.text.endswith("\n") and len(lines) == len(rows)
    assert [json.loads(line)["score"] for line in lines] == pytest.approx(
        MODEL.score(rows), abs=SCORE_TOLERANCE
    )


# --------------------------------------------------------------------------- percentage
@pytest.mark.parametrize(
    "score, percent",
    [(0.0, 0.0), (1.0, 100.0), (0.8512, 85.1), (0.85149, 85.1), (0.0004, 0.0), (0.9996, 100.0), (0.5, 50.0)],
)
def test_percent_is_the_score_in_percent_with_one_decimal(score, percent):
    assert ir.prediction(score, 0.5)["heavy_utilization_percent"] == percent


def test_percent_is_in_every_format_and_matches_the_score():
    for content_type, text in (
        (CSV, WORKSHOP_CSV),
        (JSONL, json.dumps(WORKSHOP)),
        ("application/json", WORKSHOP),
    ):
        for accept in ("application/json", JSONL):
            _, _, body = post(text, {"Content-Type": content_type, "Accept": accept})
            entry = body[0] if isinstance(body, list) else body["predictions"][0]
            assert entry["heavy_utilization_percent"] == round(entry["score"] * 100, 1)
            assert 0 <= entry["heavy_utilization_percent"] <= 100


def test_regressor_has_neither_label_nor_percent():
    assert ir.predictions_lines([1.25], None) == [{"score": 1.25}]


def test_the_loaded_model_fixture_is_the_reference_model():
    assert loaded_model().engine.score([[30, 300, 333, 100]]) == pytest.approx(
        MODEL.score([[30, 300, 333, 100]])
    )


# --------------------------------------------------------------------------- CORS (opt in)
def test_cors_is_off_without_allowed_origins():
    status, headers, _ = post(WORKSHOP, {**JSON_HEADERS, "Origin": "https://app.example.com"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    "allowed, origin, expected",
    [
        (("https://app.example.com",), "https://app.example.com", "https://app.example.com"),
        (
            ("https://app.example.com", "http://localhost:3000"),
            "http://localhost:3000",
            "http://localhost:3000",
        ),
        (("https://app.example.com",), "https://evil.example.com", None),
        (("https://app.example.com",), None, None),
        (("*",), "https://anyone.example.com", "*"),
    ],
)
def test_allowed_origins_get_the_cors_header_on_every_answer(allowed, origin, expected):
    settings = dataclasses.replace(SETTINGS, cors_allowed_origins=allowed)
    for body in (WORKSHOP, {"distance": -1}):  # a success and an error alike
        headers = {**JSON_HEADERS, **({"origin": origin} if origin else {})}
        got = answer("POST", headers, json.dumps(body), False, loaded_model, settings)
        assert got.headers.get("Access-Control-Allow-Origin") == expected


def test_cors_origins_come_from_the_environment():
    env = {"MODEL_S3_BUCKET": "b", "CORS_ALLOWED_ORIGINS": " https://a.example.com, http://localhost:3000 ,"}
    assert InferenceSettings.from_env(env).cors_allowed_origins == (
        "https://a.example.com",
        "http://localhost:3000",
    )
    assert InferenceSettings.from_env({"MODEL_S3_BUCKET": "b"}).cors_allowed_origins == ()
