"""Schemathesis hooks for the inference API's contract run (loaded with SCHEMATHESIS_HOOKS by
test_inference_api.py): how to send the text media types the spec declares as strings (text/csv,
application/jsonlines) and how to read a JSON Lines answer, each line held to the spec's Prediction schema."""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
import yaml
from jsonschema import Draft4Validator

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
PREDICTION = Draft4Validator(SPEC["components"]["schemas"]["Prediction"])


def _text(value: object) -> bytes:
    """A generated body as the bytes a client would send: strings as UTF-8, anything else as JSON."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


@schemathesis.serializer("text/csv", "application/jsonlines")
def text_body(ctx, value):
    return _text(value)


@schemathesis.deserializer("application/jsonlines")
def json_lines(ctx, response):
    """Every non-blank line must be a Prediction; the body itself is what the spec types (a string)."""
    text = response.content.decode("utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            record = json.loads(line)
            errors = sorted(PREDICTION.iter_errors(record), key=str)
            if errors:
                raise ValueError(f"line {number} is not a Prediction: {errors[0].message}")
    return text
