"""Input checks shared by the repositories; each failure names the offending field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import InputError

# Tickers, futures roots and TradingView names: SPY, BRK.B, MNQ1!, ES=F, ^SPX, BTC/USD, CME:ES1!
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.!^=/_:\-]{0,31}$|^\^[A-Z0-9.]{1,31}$")


class RecordNotFound(InputError):
    """The id the caller named does not exist (the API maps it to 404)."""


def clean_symbol(value: object, field: str = "symbol") -> str:
    if not isinstance(value, str):
        raise InputError(field, "must be a string")
    sym = value.strip().upper()
    if not sym:
        raise InputError(field, "must not be empty")
    if not _SYMBOL_RE.match(sym):
        raise InputError(field, f"{value!r} is not a valid symbol")
    return sym


def optional_symbol(value: object, field: str = "symbol") -> str | None:
    return None if value is None else clean_symbol(value, field)


def clean_text(value: object, field: str, *, max_len: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InputError(field, "must be a string")
    text = value.strip()
    if not text and not allow_empty:
        raise InputError(field, "must not be empty")
    if len(text) > max_len:
        raise InputError(field, f"is {len(text)} characters; at most {max_len} allowed")
    return text


def optional_text(value: object, field: str, *, max_len: int) -> str | None:
    if value is None:
        return None
    text = clean_text(value, field, max_len=max_len, allow_empty=True)
    return text or None


def finite(value: object, field: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(field, "must be a number")
    x = float(value)
    if not math.isfinite(x):
        raise InputError(field, "must be a finite number")
    if positive and x <= 0:
        raise InputError(field, "must be greater than zero")
    return x


def optional_finite(value: object, field: str, *, positive: bool = False) -> float | None:
    return None if value is None else finite(value, field, positive=positive)


def probability(value: object, field: str) -> float | None:
    if value is None:
        return None
    x = finite(value, field)
    if not 0.0 <= x <= 1.0:
        raise InputError(field, "must be between 0 and 1")
    return x


def utc(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InputError(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(field, "must be time-zone aware (UTC)")
    return value.astimezone(UTC)


def optional_utc(value: object, field: str) -> datetime | None:
    return None if value is None else utc(value, field)


def now_utc() -> datetime:
    return datetime.now(UTC)


def positive_int(value: object, field: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, "must be an integer")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(field, "must be greater than zero" if not allow_zero else "must not be negative")
    return value


def json_payload(value: object, field: str) -> dict[str, Any]:
    """A JSON object that both SQLite and PostgreSQL JSONB can store (no NaN, string keys)."""
    if not isinstance(value, Mapping):
        raise InputError(field, "must be a JSON object")
    try:
        # Round trip so what is stored is exactly what a later read returns.
        loaded: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(field, f"not JSON-serialisable: {exc}") from exc
    return loaded
