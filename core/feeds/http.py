"""Shared HTTP plumbing for the vendor providers: one httpx client per vendor with timeouts,
bounded retries with exponential backoff and jitter, Retry-After, client-side rate limiting and
strict response checks (status, content type, JSON). Every failure becomes a ProviderError with a
short machine reason and a sentence a trader can read in the degraded banner."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core.errors import FeedError
from core.feeds.ratelimit import RateLimited, RateLimiter

log = logging.getLogger(__name__)

# Reasons (ProviderError.reason): stable strings the manager, the API and the tests key on.
AUTH = "auth"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CONNECT = "connect"
TRUNCATED = "truncated"
MALFORMED = "malformed"
CONTENT_TYPE = "content_type"
EMPTY = "empty"
BAD_REQUEST = "bad_request"
NOT_CONFIGURED = "not_configured"
UNSUPPORTED = "unsupported"

DEFAULT_429_BLOCK_S = 30.0  # a 429 without Retry-After: leave the vendor alone this long

_REASON_TEXT = {
    AUTH: "key rejected", RATE_LIMITED: "rate limited", SERVER_ERROR: "server error",
    TIMEOUT: "timed out", CONNECT: "cannot connect", TRUNCATED: "truncated response",
    MALFORMED: "malformed response", CONTENT_TYPE: "unexpected content type", EMPTY: "no data",
    BAD_REQUEST: "request refused", NOT_CONFIGURED: "not configured", UNSUPPORTED: "not supported",
}


class ProviderError(FeedError):
    """A vendor could not answer; `reason` is one of the constants above."""

    def __init__(self, provider: str, reason: str, detail: str, *, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"{provider}: {_REASON_TEXT.get(reason, reason)} — {detail}")
        self.provider = provider
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def summary(self) -> str:
        """Short text for the banner: 'polygon: rate limited — HTTP 429, retry after 30 s'."""
        return str(self)


@dataclass(frozen=True, slots=True)
class HttpConfig:
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    retries: int = 2                  # extra attempts after the first, for transient failures
    backoff_s: float = 0.5            # first retry delay; doubles, with +-50 % jitter
    backoff_max_s: float = 4.0
    max_retry_after_s: float = 2.0    # a Retry-After up to this is waited out inline; longer: fail over
    max_queue_wait_s: float | None = 2.0  # interactive calls fall back rather than queue longer
    seed: int | None = None           # jitter seed (tests)


@dataclass
class ProviderHealth:
    """What one provider did last: the raw material of the per-capability health state."""

    provider: str
    ok_at: float | None = None        # wall time (s) of the last good answer
    error: ProviderError | None = None
    error_at: float | None = None
    calls: int = 0
    failures: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def record_ok(self) -> None:
        self.ok_at = time.time()
        self.error = None

    def record_error(self, err: ProviderError) -> None:
        self.error, self.error_at = err, time.time()
        self.failures += 1

    @property
    def age_s(self) -> float | None:
        return None if self.ok_at is None else max(0.0, time.time() - self.ok_at)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        log.warning("unreadable Retry-After header %r", value)
        return None


class VendorHttp:
    """GET JSON from one vendor. Never raises anything but ProviderError (or cancellation)."""

    def __init__(self, provider: str, base_url: str, *, config: HttpConfig | None = None,
                 limiter: RateLimiter | None = None,
                 headers: dict[str, str] | None = None,
                 params: dict[str, str] | None = None) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.config = config or HttpConfig()
        # Always a limiter: it is also where a Retry-After deadline is remembered.
        self.limiter = limiter or RateLimiter(provider, 1000, 1.0)
        self.health = ProviderHealth(provider)
        self._params = dict(params or {})
        self._rng = random.Random(self.config.seed)
        c = self.config
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": "tradecoach/0.1", **(headers or {})},
            timeout=httpx.Timeout(c.read_timeout_s, connect=c.connect_timeout_s),
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max_s, self.config.backoff_s * (2 ** attempt))
        return base * (0.5 + self._rng.random())

    async def get_json(self, path: str, params: dict[str, Any] | None = None, *,
                       max_wait_s: float | str | None = "default") -> Any:
        """Decoded JSON of GET base_url + path (path may be an absolute next_url on the vendor).

        max_wait_s: how long to queue behind the rate limiter; None = as long as needed
        (background jobs), "default" = the config's interactive limit.
        """
        wait_limit = self.config.max_queue_wait_s if max_wait_s == "default" else max_wait_s
        assert not isinstance(wait_limit, str)
        query = {**self._params, **(params or {})}
        attempts = self.config.retries + 1
        last: ProviderError | None = None
        for attempt in range(attempts):
            try:
                await self.limiter.acquire(wait_limit)
                self.health.calls += 1
                data = await self._once(path, query)
            except RateLimited as exc:
                err = ProviderError(self.provider, RATE_LIMITED, f"{exc.why}; next call in {exc.wait_s:.0f} s",
                                    retry_after_s=exc.wait_s)
                self.health.record_error(err)
                raise err from exc
            except ProviderError as err:
                last = err
                transient = err.reason in (SERVER_ERROR, TIMEOUT, CONNECT, TRUNCATED)
                short_429 = (err.reason == RATE_LIMITED and err.retry_after_s is not None
                             and err.retry_after_s <= self.config.max_retry_after_s)
                if attempt + 1 < attempts and (transient or short_429):
                    delay = err.retry_after_s if short_429 and err.retry_after_s is not None else self._backoff(attempt)
                    log.info("%s: %s; retry %d/%d in %.2f s", self.provider, err.detail, attempt + 1,
                             attempts - 1, delay)
                    if not short_429:
                        await asyncio.sleep(delay)  # 429: the limiter itself waits out Retry-After
                    continue
                self.health.record_error(err)
                log.warning("%s", err)
                raise
            else:
                self.health.record_ok()
                return data
        assert last is not None
        raise last

    async def _once(self, path: str, query: dict[str, Any]) -> Any:
        p = self.provider
        try:
            resp = await self._client.get(path, params=query or None)
            body = resp.content  # read fully: a short body raises here
        except httpx.ConnectTimeout as exc:
            raise ProviderError(p, TIMEOUT, f"connect timeout after {self.config.connect_timeout_s:g} s") from exc
        except httpx.ConnectError as exc:
            raise ProviderError(p, CONNECT, f"cannot connect to {self.base_url} ({exc})") from exc
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
            raise ProviderError(p, TIMEOUT, f"no answer within {self.config.read_timeout_s:g} s") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ProviderError(p, TRUNCATED, f"connection closed mid-response ({exc})") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(p, CONNECT, f"{type(exc).__name__}: {exc}") from exc
        status = resp.status_code
        if status in (401, 403):
            text = body[:200].decode("utf-8", "replace").strip()
            raise ProviderError(p, AUTH, f"HTTP {status} {text or resp.reason_phrase}", status=status)
        if status == 429:
            ra = parse_retry_after(resp.headers.get("Retry-After"))
            self.limiter.block_for(ra if ra is not None else DEFAULT_429_BLOCK_S, "HTTP 429")
            after = f", retry after {ra:g} s" if ra is not None else ""
            raise ProviderError(p, RATE_LIMITED, f"HTTP 429{after}", status=status, retry_after_s=ra)
        if status >= 500:
            raise ProviderError(p, SERVER_ERROR, f"HTTP {status} {resp.reason_phrase}", status=status)
        if status >= 400:
            text = body[:200].decode("utf-8", "replace").strip()
            raise ProviderError(p, BAD_REQUEST, f"HTTP {status} {text}", status=status)
        ctype = resp.headers.get("Content-Type", "")
        if "json" not in ctype.lower():
            raise ProviderError(p, CONTENT_TYPE, f"expected JSON, got {ctype or 'no content type'!r}",
                                status=status)
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderError(p, MALFORMED, f"invalid JSON ({exc})", status=status) from exc


def require(cond: bool, provider: str, reason: str, detail: str) -> None:
    """Raise ProviderError(reason) unless cond: for payload shape checks in the providers."""
    if not cond:
        raise ProviderError(provider, reason, detail)


# -- records shared by the providers ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Quote:
    """Last price of one symbol from one vendor. ts: int64 UTC ns of the price (0 = unknown)."""

    symbol: str
    price: float
    ts: int
    source: str
    bid: float | None = None
    ask: float | None = None
    prev_close: float | None = None
    volume: float | None = None


@dataclass(frozen=True, slots=True)
class MarketStatus:
    market: str                      # "open" | "closed" | "extended-hours"
    early_hours: bool
    after_hours: bool
    server_time: str
    exchanges: dict[str, str]
    source: str
