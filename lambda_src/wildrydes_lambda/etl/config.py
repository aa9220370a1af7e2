"""ETL function settings (ingest, enrich, writer) from environment variables, validated once at cold start.

Variables and defaults are documented in lambda_src/README.md; the parsing helpers are ``settings``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from wildrydes_lambda.contracts.layout import Prefix
from wildrydes_lambda.etl.grouping import DEFAULT_RIDES_PER_MESSAGE, MAX_RIDES_PER_MESSAGE
from wildrydes_lambda.settings import ConfigError, int_setting, key_prefix, required

WRITER_MODES = ("batched", "per_ride")


@dataclass(frozen=True)
class IngestConfig:
    data_bucket: str
    ingest_queue_url: str
    rides_per_message: int
    raw_prefix: str
    quarantine_prefix: str
    manifest_prefix: str
    processed_prefix: str  # where the supersession cleanup deletes older versions' objects

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IngestConfig:
        return cls(
            data_bucket=required(env, "DATA_BUCKET"),
            ingest_queue_url=required(env, "INGEST_QUEUE_URL"),
            rides_per_message=int_setting(
                env, "RIDES_PER_MESSAGE", DEFAULT_RIDES_PER_MESSAGE, 1, MAX_RIDES_PER_MESSAGE
            ),
            raw_prefix=key_prefix(env, "RAW_PREFIX", Prefix.RAW),
            quarantine_prefix=key_prefix(env, "QUARANTINE_PREFIX", Prefix.QUARANTINE),
            manifest_prefix=key_prefix(env, "MANIFEST_PREFIX", Prefix.MANIFESTS),
            processed_prefix=key_prefix(env, "PROCESSED_PREFIX", Prefix.PROCESSED),
        )


@dataclass(frozen=True)
class EnrichConfig:
    data_bucket: str
    output_queue_url: str
    quarantine_prefix: str
    max_station_distance_miles: float | None = None  # None: every ride gets its nearest station

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> EnrichConfig:
        return cls(
            data_bucket=required(env, "DATA_BUCKET"),
            output_queue_url=required(env, "OUTPUT_QUEUE_URL"),
            quarantine_prefix=key_prefix(env, "QUARANTINE_PREFIX", Prefix.QUARANTINE),
            max_station_distance_miles=_optional_miles(env, "MAX_STATION_DISTANCE_MILES"),
        )


def _optional_miles(env: Mapping[str, str], name: str) -> float | None:
    """A positive finite number of miles, or None when unset or empty (no limit)."""
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={text!r}: must be a positive number of miles (or empty for no limit)")
    return value


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
            data_bucket=required(env, "DATA_BUCKET"),
            processed_prefix=key_prefix(env, "PROCESSED_PREFIX", Prefix.PROCESSED),
            writer_mode=mode,
        )


__all__ = ["ConfigError", "EnrichConfig", "IngestConfig", "WRITER_MODES", "WriterConfig"]
