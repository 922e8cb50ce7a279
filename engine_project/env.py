"""Typed readers for environment variables that fail loudly on bad values.

A misspelt knob must stop the process at start-up, not surface later as an order that
behaves strangely.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    _check_bounds(name, value, minimum, maximum)
    return value


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = _parse_float(name, raw)
    _check_bounds(name, value, minimum, maximum)
    return value


def env_range_ms(name: str, default: tuple[float, float]) -> tuple[float, float]:
    """Read a latency given as one number (``250``) or an inclusive range (``2000-3000``)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    parts = raw.strip().split("-")
    if len(parts) == 1:
        low = high = _parse_float(name, parts[0])
    elif len(parts) == 2:
        low, high = _parse_float(name, parts[0]), _parse_float(name, parts[1])
    else:
        raise ImproperlyConfigured(f"{name}={raw!r} must be a number or a range like 2000-3000")
    if low < 0 or high < low:
        raise ImproperlyConfigured(f"{name}={raw!r} must be non-negative with low <= high")
    return (low, high)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={raw!r} must be finite")
    return value


def _check_bounds(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
