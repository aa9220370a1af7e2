"""The serving pointer (``layout.MODEL_POINTER_KEY``): a small JSON object naming the version that serves.

``{"model_version": "<16 hex>", "previous": ["<older>", ...], "switched_at": ..., "switched_by": ...,
"action": "promote" | "rollback", "forced": bool, ...}``. Only ``model_version`` matters to the inference
function; ``previous`` (most recent first) is what ``wildrydes models rollback`` returns to. Written by
``wildrydes train --publish`` / ``wildrydes models promote|rollback``; read by the inference function.
"""

from __future__ import annotations

import json
import re
from typing import Any

VERSION_FIELD = "model_version"
PREVIOUS_FIELD = "previous"
# A version is one path segment: no '/', no '..' (it is spliced into an S3 key).
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_POINTER_BYTES = 64 * 1024


def check_version(version: object) -> str:
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise ValueError(f"{version!r} is not a model version (1-64 of A-Z a-z 0-9 . _ -, no '/')")
    return version


def decode(raw: bytes) -> dict[str, Any]:
    """The pointer as a dict with a valid ``model_version`` and ``previous`` (a list); ValueError."""
    if len(raw) > MAX_POINTER_BYTES:
        raise ValueError(f"pointer is larger than {MAX_POINTER_BYTES} bytes")
    try:
        pointer = json.loads(raw)
    except ValueError as exc:  # also UnicodeDecodeError
        raise ValueError(f"pointer is not JSON: {exc}") from None
    if not isinstance(pointer, dict):
        raise ValueError("pointer is not a JSON object")
    check_version(pointer.get(VERSION_FIELD))
    previous = pointer.setdefault(PREVIOUS_FIELD, [])
    if not isinstance(previous, list):
        raise ValueError("pointer 'previous' is not a list")
    for version in previous:
        check_version(version)
    return pointer


def encode(pointer: dict[str, Any]) -> bytes:
    check_version(pointer.get(VERSION_FIELD))
    return (json.dumps(pointer, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
