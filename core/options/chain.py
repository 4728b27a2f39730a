"""One normalised option-chain model and pure parsers for the vendor formats.

Units in the chain (whatever the vendor used): prices per share; ``iv`` decimal; ``delta`` per
share; ``gamma`` per $1; ``vega`` per 1 vol point; ``theta`` per calendar day. ``quote_time`` is
int64 UTC ns (0 = unknown). Expiry is the date; the contract is taken to expire at 16:00 New York
time on that date (PM settlement; AM-settled index options are 6.5 h shorter, noted in docs).

Parsers are pure functions on decoded JSON so the live feeds (another module) only fetch.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from core.errors import DataError, InputError
from core.options.pricing import greeks, implied_vol

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")
_NS_PER_DAY = 86_400 * 10**9
_YEAR_NS = 365.0 * _NS_PER_DAY

# Chain-level flags: a flagged chain is still returned, and the ranker carries the flags.
FLAG_STALE = "STALE_QUOTES"
FLAG_UNDERLYING_MISMATCH = "UNDERLYING_MISMATCH"
FLAG_PARITY_MISMATCH = "PUT_CALL_PARITY_MISMATCH"
FLAG_MODELLED = "MODELLED_DATA"


def _utc(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is None:
        raise InputError(name, "must be timezone-aware (UTC)")
    return dt.astimezone(UTC)


def _ns(dt: datetime) -> int:
    return int(dt.timestamp() * 1e9)


def expiry_close_ns(expiry: np.ndarray) -> np.ndarray:
    """datetime64[D] expiry dates -> int64 UTC ns of 16:00 New York on each date (DST-aware)."""
    out = np.empty(expiry.shape, dtype=np.int64)
    for d in np.unique(expiry):
        py = d.astype("datetime64[D]").astype(date)
        close = datetime.combine(py, time(16, 0), tzinfo=NY)
        out[expiry == d] = _ns(close)
    return out


@dataclass(frozen=True)
class OptionChain:
    """Columnar chain: every array has one row per contract."""

    underlying: str
    underlying_price: float
    as_of: datetime                    # UTC, when the snapshot was taken
    source: str                        # "tradier" | "polygon" | "yahoo" | "lean" | "modelled"
    contract: np.ndarray               # OCC-like symbol (str)
    expiry: np.ndarray                 # datetime64[D]
    is_call: np.ndarray                # bool
    strike: np.ndarray
    bid: np.ndarray                    # NaN when no bid
    ask: np.ndarray                    # NaN when no ask
    last: np.ndarray
    volume: np.ndarray
    open_interest: np.ndarray          # NaN when unknown
    iv: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray                  # per calendar day
    vega: np.ndarray                   # per vol point
    quote_time: np.ndarray             # int64 UTC ns, 0 = unknown
    modelled: np.ndarray               # bool: generated, not quoted
    flags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise InputError("as_of", "must be timezone-aware (UTC)")
        n = len(self.strike)
        for name in ("contract", "expiry", "is_call", "bid", "ask", "last", "volume", "open_interest",
                     "iv", "delta", "gamma", "theta", "vega", "quote_time", "modelled"):
            if len(getattr(self, name)) != n:
                raise DataError(f"chain column {name!r} has {len(getattr(self, name))} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.strike)

    # -- derived columns ------------------------------------------------------------------------
    @property
    def right(self) -> np.ndarray:
        return np.where(self.is_call, "C", "P")

    @property
    def has_market(self) -> np.ndarray:
        """Two-sided market: both sides quoted, bid > 0, not crossed."""
        return np.isfinite(self.bid) & np.isfinite(self.ask) & (self.bid > 0) & (self.ask >= self.bid)

    @property
    def mid(self) -> np.ndarray:
        return np.where(self.has_market, 0.5 * (self.bid + self.ask), np.nan)

    @property
    def spread_pct(self) -> np.ndarray:
        """(ask - bid) / mid x 100."""
        m = self.mid
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.ask - self.bid) / m * 100.0

    def years_to_expiry(self, at: datetime | None = None) -> np.ndarray:
        at_ns = _ns(_utc(at or self.as_of, "at"))
        return (expiry_close_ns(self.expiry) - at_ns) / _YEAR_NS

    def dte(self, at: datetime | None = None) -> np.ndarray:
        """Calendar days from the New York date of ``at`` to the expiry date (0 = expires today)."""
        d = np.datetime64(_utc(at or self.as_of, "at").astimezone(NY).date(), "D")
        return (self.expiry - d).astype(np.int64)

    def quote_age_s(self, now: datetime | None = None) -> np.ndarray:
        now_ns = _ns(_utc(now or self.as_of, "now"))
        age = (now_ns - self.quote_time) / 1e9
        return np.where(self.quote_time > 0, age, np.nan)

    def select(self, mask: np.ndarray) -> OptionChain:
        cols = {name: getattr(self, name)[mask] for name in _ROW_COLUMNS}
        return replace(self, **cols)

    def with_flags(self, *flags: str) -> OptionChain:
        merged = tuple(dict.fromkeys((*self.flags, *flags)))
        return replace(self, flags=merged)

    def with_model_greeks(self, r: float, q: float = 0.0, *, overwrite: bool = False) -> OptionChain:
        """Fill IV (from the mid) and greeks where the vendor gave none (or everywhere if overwrite)."""
        t = self.years_to_expiry()
        iv = self.iv.copy()
        need_iv = overwrite | ~np.isfinite(iv) | (iv <= 0)
        if np.any(need_iv):
            solved = implied_vol(self.mid, self.underlying_price, self.strike, t, r, q, self.is_call).iv
            iv = np.where(need_iv, solved, iv)
        g = greeks(self.underlying_price, self.strike, t, r, q, iv, self.is_call)
        def pick(cur: np.ndarray, new: np.ndarray) -> np.ndarray:
            return np.where(overwrite | ~np.isfinite(cur), new, cur)
        return replace(self, iv=iv, delta=pick(self.delta, g.delta), gamma=pick(self.gamma, g.gamma),
                       theta=pick(self.theta, g.theta_per_day), vega=pick(self.vega, g.vega_per_point))


_ROW_COLUMNS = ("contract", "expiry", "is_call", "strike", "bid", "ask", "last", "volume",
                "open_interest", "iv", "delta", "gamma", "theta", "vega", "quote_time", "modelled")


def build_chain(rows: Sequence[Mapping[str, Any]], *, underlying: str, underlying_price: float,
                as_of: datetime, source: str, modelled: bool = False) -> OptionChain:
    """Chain from row dicts (keys as the columns; missing -> NaN/0)."""
    if not np.isfinite(underlying_price) or underlying_price <= 0:
        raise InputError("underlying_price", f"must be a positive price, got {underlying_price!r}")
    as_of = _utc(as_of, "as_of")

    def col(key: str, default: float = np.nan) -> np.ndarray:
        return np.array([_num(r.get(key), default) for r in rows], dtype=np.float64)

    n = len(rows)
    return OptionChain(
        underlying=underlying, underlying_price=float(underlying_price), as_of=as_of, source=source,
        contract=np.array([str(r.get("contract", "")) for r in rows], dtype=object),
        expiry=np.array([r["expiry"] for r in rows], dtype="datetime64[D]") if n
        else np.empty(0, dtype="datetime64[D]"),
        is_call=np.array([bool(r["is_call"]) for r in rows], dtype=bool),
        strike=col("strike"), bid=col("bid"), ask=col("ask"), last=col("last"), volume=col("volume"),
        open_interest=col("open_interest"), iv=col("iv"), delta=col("delta"), gamma=col("gamma"),
        theta=col("theta"), vega=col("vega"),
        quote_time=np.array([int(r.get("quote_time") or 0) for r in rows], dtype=np.int64),
        modelled=np.full(n, modelled, dtype=bool),
        flags=(FLAG_MODELLED,) if modelled else (),
    )


def _num(v: Any, default: float = np.nan) -> float:
    if v is None or v == "":
        return default
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def _positive_or_nan(v: Any) -> float:
    """Vendors send 0 for 'no bid/ask'; the chain uses NaN so a zero is never mistaken for a price."""
    x = _num(v)
    return x if x > 0 else np.nan


# ---------------------------------------------------------------------------------------------
# Vendor parsers (pure: decoded JSON in, chain out)
# ---------------------------------------------------------------------------------------------
def _body(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept the response body or a recorded fixture wrapping it in {"body": ...}."""
    inner = payload.get("body") if isinstance(payload, Mapping) else None
    return inner if isinstance(inner, Mapping) else payload


def parse_tradier_chain(payload: Mapping[str, Any], underlying_price: float, as_of: datetime
                        ) -> OptionChain:
    """Tradier ``/v1/markets/options/chains?greeks=true``. Greeks: vega per point, theta per day."""
    body = _body(payload)
    opts = (body.get("options") or {}) if isinstance(body, Mapping) else {}
    items = opts.get("option") if isinstance(opts, Mapping) else None
    if items is None:
        items = []
    if isinstance(items, Mapping):  # Tradier returns an object, not a list, for one contract
        items = [items]
    rows = []
    underlying = ""
    for o in items:
        g = o.get("greeks") or {}
        underlying = o.get("underlying") or o.get("root_symbol") or underlying
        qt_ms = max(int(o.get("bid_date") or 0), int(o.get("ask_date") or 0))
        iv = _num(g.get("mid_iv"))
        rows.append({
            "contract": o.get("symbol", ""), "expiry": o["expiration_date"],
            "is_call": _right(o.get("option_type"), "option_type"), "strike": o.get("strike"),
            "bid": _positive_or_nan(o.get("bid")), "ask": _positive_or_nan(o.get("ask")),
            "last": o.get("last"), "volume": o.get("volume"), "open_interest": o.get("open_interest"),
            "iv": iv if iv > 0 else np.nan, "delta": g.get("delta"), "gamma": g.get("gamma"),
            "theta": g.get("theta"), "vega": g.get("vega"), "quote_time": qt_ms * 1_000_000,
        })
    return build_chain(rows, underlying=underlying, underlying_price=underlying_price, as_of=as_of,
                       source="tradier")


def parse_polygon_snapshot(payload: Mapping[str, Any], as_of: datetime,
                           underlying_price: float | None = None) -> OptionChain:
    """Polygon ``/v3/snapshot/options/{underlying}`` (``results`` list, or one contract object).

    The underlying price comes from ``underlying_asset.price`` unless given.
    """
    body = _body(payload)
    results = body.get("results") or []
    if isinstance(results, Mapping):
        results = [results]
    rows = []
    spots: list[float] = []
    underlying = ""
    for o in results:
        d = o.get("details") or {}
        g = o.get("greeks") or {}
        lq = o.get("last_quote") or {}
        ua = o.get("underlying_asset") or {}
        underlying = ua.get("ticker") or underlying
        if _num(ua.get("price")) > 0:
            spots.append(float(ua["price"]))
        rows.append({
            "contract": d.get("ticker", ""), "expiry": d["expiration_date"],
            "is_call": _right(d.get("contract_type"), "details.contract_type"),
            "strike": d.get("strike_price"),
            "bid": _positive_or_nan(lq.get("bid")), "ask": _positive_or_nan(lq.get("ask")),
            "last": (o.get("last_trade") or {}).get("price"), "volume": (o.get("day") or {}).get("volume"),
            "open_interest": o.get("open_interest"), "iv": o.get("implied_volatility"),
            "delta": g.get("delta"), "gamma": g.get("gamma"), "theta": g.get("theta"),
            "vega": g.get("vega"), "quote_time": int(lq.get("last_updated") or 0),
        })
    if underlying_price is None:
        if not spots:
            raise DataError("polygon snapshot has no underlying_asset.price; pass underlying_price")
        underlying_price = float(np.median(spots))
    return build_chain(rows, underlying=underlying, underlying_price=underlying_price, as_of=as_of,
                       source="polygon")


def parse_yahoo_options(payload: Mapping[str, Any], as_of: datetime) -> OptionChain:
    """Yahoo v7 ``/finance/options/{symbol}``: no greeks and no quote time per contract."""
    body = _body(payload)
    res = ((body.get("optionChain") or {}).get("result") or [])
    if not res:
        raise DataError("yahoo options payload has no optionChain.result")
    r0 = res[0]
    quote = r0.get("quote") or {}
    spot = _num(quote.get("regularMarketPrice"))
    qt = int(_num(quote.get("regularMarketTime"), 0)) * 10**9
    rows = []
    for block in r0.get("options") or []:
        for key, is_call in (("calls", True), ("puts", False)):
            for o in block.get(key) or []:
                exp = datetime.fromtimestamp(int(o["expiration"]), tz=UTC).date()
                iv = _num(o.get("impliedVolatility"))
                rows.append({
                    "contract": o.get("contractSymbol", ""), "expiry": exp.isoformat(), "is_call": is_call,
                    "strike": o.get("strike"), "bid": _positive_or_nan(o.get("bid")),
                    "ask": _positive_or_nan(o.get("ask")), "last": o.get("lastPrice"),
                    "volume": o.get("volume"), "open_interest": o.get("openInterest"),
                    # Yahoo puts 1e-5 (or 0.5 placeholders) where it has no IV; keep only plausible ones.
                    "iv": iv if iv > 1e-3 else np.nan, "quote_time": qt,
                })
    return build_chain(rows, underlying=r0.get("underlyingSymbol", ""), underlying_price=spot,
                       as_of=as_of, source="yahoo")


def _right(v: Any, field_name: str) -> bool:
    s = str(v or "").strip().lower()
    if s in ("call", "c"):
        return True
    if s in ("put", "p"):
        return False
    raise DataError(f"{field_name}: unknown option right {v!r}")


# ---------------------------------------------------------------------------------------------
# Lean CSVs (the bundled real chains)
# ---------------------------------------------------------------------------------------------
def load_lean_quotes_csv(path: str | Path) -> OptionChain:
    """The derived GOOG quote snapshot (underlying,underlying_last,quote_time_et,expiry,right,...)."""
    with open(path, newline="") as fh:
        data = list(csv.DictReader(fh))
    if not data:
        raise DataError(f"{path}: no rows")
    stamps = [datetime.fromisoformat(r["quote_time_et"]) for r in data]
    rows = [{
        "contract": f"{r['underlying']}{r['expiry']}{r['right']}{r['strike']}", "expiry": r["expiry"],
        "is_call": _right(r["right"], "right"), "strike": r["strike"],
        "bid": _positive_or_nan(r["bid"]), "ask": _positive_or_nan(r["ask"]),
        "open_interest": r["open_interest"], "quote_time": _ns(ts),
    } for r, ts in zip(data, stamps, strict=True)]
    return build_chain(rows, underlying=data[0]["underlying"],
                       underlying_price=float(data[0]["underlying_last"]),
                       as_of=max(stamps).astimezone(UTC), source="lean")


@dataclass(frozen=True)
class LeanUniverse:
    """A Lean option universe file: vendor close, IV and greeks per contract."""

    expiry: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    open_interest: np.ndarray
    iv: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    theta: np.ndarray
    rho: np.ndarray
    underlying_close: float | None


def load_lean_universe_csv(path: str | Path) -> LeanUniverse:
    """``#expiry,strike,right,open,high,low,close,volume,open_interest,implied_volatility,...``.

    The first data row is the underlying when its expiry is empty (absent in index files).
    """
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = [h.lstrip("#") for h in next(reader)]
        data = [dict(zip(header, row, strict=True)) for row in reader if row]
    under = None
    if data and not data[0]["expiry"]:
        under = float(data[0]["close"])
        data = data[1:]
    def f(key: str) -> np.ndarray:
        return np.array([_num(r[key]) for r in data], dtype=np.float64)
    return LeanUniverse(
        expiry=np.array([f"{r['expiry'][:4]}-{r['expiry'][4:6]}-{r['expiry'][6:]}" for r in data],
                        dtype="datetime64[D]"),
        strike=f("strike"), is_call=np.array([_right(r["right"], "right") for r in data]),
        close=f("close"), volume=f("volume"), open_interest=f("open_interest"),
        iv=f("implied_volatility"), delta=f("delta"), gamma=f("gamma"), vega=f("vega"),
        theta=f("theta"), rho=f("rho"), underlying_close=under)


# ---------------------------------------------------------------------------------------------
# Consistency checks
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainCheck:
    stale: np.ndarray                 # per row: quote older than the limit (or no quote time)
    parity_spot: float                # spot implied by put-call parity near the money (NaN if none)
    parity_gap_pct: float             # (parity_spot / chain spot - 1) x 100
    external_gap_pct: float           # (chain spot / external spot - 1) x 100, NaN if no external
    flags: tuple[str, ...]


def check_chain(chain: OptionChain, *, now: datetime | None = None, max_quote_age_s: float = 900.0,
                r: float = 0.0, q: float = 0.0, external_spot: float | None = None,
                max_gap_pct: float = 1.0) -> ChainCheck:
    """Quote age and underlying consistency; returns the flags to attach (nothing is dropped here).

    Parity: for each near-the-money strike with two-sided call and put markets in the nearest
    expiries, S_implied = (C - P + K e^-rT) e^qT. Early exercise makes this approximate for
    American puts, hence the median over strikes and a 1 % default tolerance.
    """
    flags: list[str] = []
    age = chain.quote_age_s(now)
    known = np.isfinite(age)
    stale = ~known | (age > max_quote_age_s)
    if chain.modelled.all():
        stale = np.zeros(len(chain), dtype=bool)  # generated at as_of: age is not meaningful
    elif not known.any() or stale[known].mean() > 0.5:
        flags.append(FLAG_STALE)  # unknown quote times count as stale: never used silently
    parity_spot = _parity_spot(chain, r, q)
    gap = (parity_spot / chain.underlying_price - 1.0) * 100.0 if np.isfinite(parity_spot) else np.nan
    if np.isfinite(gap) and abs(gap) > max_gap_pct:
        flags.append(FLAG_PARITY_MISMATCH)
    ext_gap = np.nan
    if external_spot is not None:
        ext_gap = (chain.underlying_price / external_spot - 1.0) * 100.0
        if abs(ext_gap) > max_gap_pct:
            flags.append(FLAG_UNDERLYING_MISMATCH)
    for fl in flags:
        log.warning("chain %s %s: %s (parity gap %.3f%%, external gap %.3f%%)", chain.underlying,
                    chain.source, fl, gap, ext_gap)
    return ChainCheck(stale=stale, parity_spot=parity_spot, parity_gap_pct=float(gap),
                      external_gap_pct=float(ext_gap), flags=tuple(flags))


def _parity_spot(chain: OptionChain, r: float, q: float, max_pairs: int = 12,
                 max_years: float = 0.5) -> float:
    """Median parity spot over the nearest-the-money pairs; long expiries are skipped because an
    unknown rate/dividend makes their parity spot drift (PLTR 2026 LEAPS: ~7 % at r = 0)."""
    mids = chain.mid
    t = np.where(chain.years_to_expiry() <= max_years, chain.years_to_expiry(), np.nan)
    calls: dict[tuple[Any, float], int] = {}
    for i in np.flatnonzero(chain.is_call & np.isfinite(mids) & (t > 0)):
        calls[(chain.expiry[i], float(chain.strike[i]))] = int(i)
    pairs: list[tuple[float, float]] = []  # (|K/S - 1| + T, implied spot)
    for j in np.flatnonzero(~chain.is_call & np.isfinite(mids) & (t > 0)):
        i = calls.get((chain.expiry[j], float(chain.strike[j])))
        if i is None:
            continue
        k = chain.strike[j]
        s_impl = (mids[i] - mids[j] + k * np.exp(-r * t[j])) * np.exp(q * t[j])
        pairs.append((abs(k / chain.underlying_price - 1.0) + t[j], float(s_impl)))
    if not pairs:
        return float("nan")
    pairs.sort()
    return float(np.median([p[1] for p in pairs[:max_pairs]]))


def apply_checks(chain: OptionChain, check: ChainCheck) -> OptionChain:
    return chain.with_flags(*check.flags)


def concat_chains(chains: Iterable[OptionChain]) -> OptionChain:
    """Join chains of the same underlying snapshot (e.g. one Tradier call per expiry)."""
    cs = list(chains)
    if not cs:
        raise InputError("chains", "need at least one chain")
    first = cs[0]
    cols = {name: np.concatenate([getattr(c, name) for c in cs]) for name in _ROW_COLUMNS}
    flags = tuple(dict.fromkeys(f for c in cs for f in c.flags))
    return replace(first, flags=flags, **cols)


def as_of_from_http_date(value: str) -> datetime:
    """Recorded ``Date`` header (RFC 1123) -> aware UTC datetime."""
    from email.utils import parsedate_to_datetime
    dt = parsedate_to_datetime(value)
    return dt.astimezone(UTC)


__all__ = [
    "FLAG_MODELLED", "FLAG_PARITY_MISMATCH", "FLAG_STALE", "FLAG_UNDERLYING_MISMATCH", "ChainCheck",
    "LeanUniverse", "OptionChain", "apply_checks", "as_of_from_http_date", "build_chain",
    "check_chain", "concat_chains", "expiry_close_ns", "load_lean_quotes_csv",
    "load_lean_universe_csv", "parse_polygon_snapshot", "parse_tradier_chain",
    "parse_yahoo_options",
]
