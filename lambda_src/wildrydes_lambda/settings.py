"""Environment parsing shared by every function: settings are validated once, at cold start.

A missing or malformed variable raises :class:`ConfigError` when the handler module is imported, so a bad
deployment fails loudly on its first invocation instead of quarantining or dropping rides.
"""

from __future__ import annotations

from collections.abc import Mapping


class ConfigError(RuntimeError):
    """The function's environment is incomplete or invalid."""


def required(env: Mapping[str, str], name: str) -> str:
    """A non-blank variable; ConfigError naming it otherwise."""
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required")
    return value


def key_prefix(env: Mapping[str, str], name: str, default: str) -> str:
    """An S3 key prefix without a leading '/', normalised to end in '/'."""
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
