"""Error types that name the offending field, so the UI and API can show a precise message."""

from __future__ import annotations


class TradeCoachError(Exception):
    """Base class for every error the kernel raises on purpose."""


class InputError(TradeCoachError, ValueError):
    """Bad user input: carries the field name and the reason (mapped to HTTP 4xx by the API)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Rebuilt from (field, reason): an error raised in the predictor's worker process must
        # reach the caller as itself, not break the process pool when it is unpickled.
        return (type(self), (self.field, self.reason))


class DataError(TradeCoachError):
    """Data that cannot be used (malformed file, unsorted or duplicate timestamps, NaNs)."""


class FeedError(TradeCoachError):
    """A feed could not deliver (network, vendor error, no data)."""


class ConflictError(TradeCoachError):
    """The request clashes with work in progress (a second training run): HTTP 409."""
