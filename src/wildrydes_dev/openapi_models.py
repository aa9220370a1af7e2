"""API Gateway request models generated from the API contract, ``openapi.yaml`` (repository root).

API Gateway validates an ``application/json`` body against a JSON Schema (draft 4) model before the function
runs. The model is the envelope of the contract's ``JsonRequest`` schema: the body must be a JSON object
(malformed JSON, arrays, numbers, strings and empty bodies are refused by the gateway with
``invalid_body``). Field-level rules (names, types, ranges, batch size) stay with the function so its 400s
keep naming the field, in every request format alike; they are in the contract too, for clients.

    python -m wildrydes_dev.openapi_models            # rewrite modules/inference_api/models/*.json
    python -m wildrydes_dev.openapi_models --check    # exit 1 when a committed model drifted from the spec
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "openapi.yaml"
MODELS_DIR = REPO_ROOT / "modules" / "inference_api" / "models"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
# Contract schema -> committed model file. The model keeps these keywords of the schema (the envelope).
MODELS = {"JsonRequest": "json_request.schema.json"}
ENVELOPE_KEYWORDS = ("title", "description", "type")


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return spec


def gateway_model(spec: dict[str, Any], schema_name: str) -> dict[str, Any]:
    """The draft-4 model API Gateway validates with, derived from ``components.schemas[schema_name]``."""
    schema = spec["components"]["schemas"][schema_name]
    model: dict[str, Any] = {"$schema": DRAFT4}
    model.update({keyword: schema[keyword] for keyword in ENVELOPE_KEYWORDS if keyword in schema})
    return model


def render(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def generated(spec: dict[str, Any]) -> dict[Path, str]:
    return {MODELS_DIR / file_name: render(gateway_model(spec, name)) for name, file_name in MODELS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report models that differ from the spec")
    args = parser.parse_args(argv)
    drifted = []
    for path, text in generated(load_spec()).items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        drifted.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in drifted:
        verb = "differs from openapi.yaml (run `make docs`)" if args.check else "rewritten"
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        print(f"{shown}: {verb}", file=sys.stderr)
    return 1 if drifted and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
