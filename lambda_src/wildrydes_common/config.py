"""Function configuration from environment variables, validated once at cold start.

A missing or malformed variable raises ConfigError when the handler module is imported, so a bad
deployment fails loudly on its first invocation instead of quarantining or dropping rides.
Variables and defaults are documented in lambda_src/README.md.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .messages import DEFAULT_RIDES_PER_MESSAGE, MAX_RIDES_PER_MESSAGE

WRITER_MODES = ("batched", "per_ride")


class ConfigError(RuntimeError):
    """The function's environment is incomplete or invalid."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required")
    return value


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default).strip()
    if not value or value.startswith("/"):
        raise ConfigError(f"{name}={value!r}: must be a non-empty key prefix without a leading '/'")
    return value if value.endswith("/") else value + "/"


def int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer variable within low..high; unset or blank means the default."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: must be in {low}..{high}")
    return value


@dataclass(frozen=True)
class IngestConfig:
    data_bucket: str
    ingest_queue_url: str
    rides_per_message: int
    raw_prefix: str
    quarantine_prefix: str
    manifest_prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IngestConfig:
        return cls(
            data_bucket=_required(env, "DATA_BUCKET"),
            ingest_queue_url=_required(env, "INGEST_QUEUE_URL"),
            rides_per_message=int_setting(
                env, "RIDES_PER_MESSAGE", DEFAULT_RIDES_PER_MESSAGE, 1, MAX_RIDES_PER_MESSAGE
            ),
            raw_prefix=_prefix(env, "RAW_PREFIX", "raw/"),
            quarantine_prefix=_prefix(env, "QUARANTINE_PREFIX", "quarantine/"),
            manifest_prefix=_prefix(env, "MANIFEST_PREFIX", "manifests/"),
        )


@dataclass(frozen=True)
class EnrichConfig:
    data_bucket: str
    output_queue_url: str
    quarantine_prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> EnrichConfig:
        return cls(
            data_bucket=_required(env, "DATA_BUCKET"),
            output_queue_url=_required(env, "OUTPUT_QUEUE_URL"),
            quarantine_prefix=_prefix(env, "QUARANTINE_PREFIX", "quarantine/"),
        )


@dataclass(frozen=True)
class WriterConfig:
    data_bucket: str
    processed_prefix: str
    writer_mode: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WriterConfig:
        mode = env.get("WRITER_MODE", "batched").strip()
        if mode not in WRITER_MODES:
            raise ConfigError(f"WRITER_MODE={mode!r}: must be one of {', '.join(WRITER_MODES)}")
        return cls(
            data_bucket=_required(env, "DATA_BUCKET"),
            processed_prefix=_prefix(env, "PROCESSED_PREFIX", "processed/"),
            writer_mode=mode,
        )
