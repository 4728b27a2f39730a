"""Modelled option chain for the replay feed (no keys): a smile fitted to a real chain.

Fit (``fit_smile_from_lean``), run once on the bundled real GOOG chain of 2015-12-24 12:00 ET
(QuantConnect Lean, Apache-2.0) and stored in ``resources/data/options/``:
- smile per expiry: sigma(z) = a + b z + c z^2 with z = ln(K/F) / sqrt(T), on out-of-the-money
  two-sided quotes (IV from the mid);
- spread, in units of spot so it carries to other price levels:
  ln((ask - bid)/S) = s0 + s1 ln(mid/S) + s2 |z| + s3 ln(1 + DTE) (least squares);
- open interest: ln(OI) = o0 + o1 |z| + o2 z^2 + o3 ln(1 + DTE) + o4 [call] + o5 [monthly],
  scaled at generation by the replayed symbol's average daily share volume over GOOG's
  (``reference_volume``): option OI grows with how much the underlying trades.
Generation (``synth_chain``) interpolates (a, b, c) in T, optionally rescales the whole surface
so the 30-day ATM IV equals ``atm_vol`` (e.g. the replayed symbol's HV), prices mids with BSM,
and places bid/ask around them. Every row is ``modelled=True``, the chain ``source="modelled"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DataError, InputError
from core.options.chain import FLAG_MODELLED, NY, OptionChain, load_lean_quotes_csv
from core.options.pricing import greeks, implied_vol

RESOURCE = Path(__file__).resolve().parents[2] / "resources" / "data" / "options" / "smile_goog_20151224.json"
DAILY_EXPIRY_ROOTS = frozenset({"SPY", "QQQ", "IWM", "SPX", "XSP", "NDX"})


@dataclass(frozen=True)
class SmileModel:
    years: np.ndarray          # per fitted expiry
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    spread_coef: np.ndarray    # s0..s3
    oi_coef: np.ndarray        # o0..o4
    meta: dict[str, Any]

    def params(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, c) linear in T between fitted expiries, flat beyond the ends."""
        return (np.interp(t, self.years, self.a), np.interp(t, self.years, self.b),
                np.interp(t, self.years, self.c))

    def sigma(self, z: np.ndarray, t: np.ndarray, scale: float = 1.0) -> np.ndarray:
        a, b, c = self.params(t)
        return np.maximum(scale * (a + b * z + c * z * z), 0.05)

    def atm30(self) -> float:
        return float(np.interp(30.0 / 365.0, self.years, self.a))

    def to_json(self) -> dict[str, Any]:
        return {
            **self.meta,
            "expiries": [{"years": float(t), "a": float(a), "b": float(b), "c": float(c)}
                         for t, a, b, c in zip(self.years, self.a, self.b, self.c, strict=True)],
            "spread_coef": [float(x) for x in self.spread_coef],
            "oi_coef": [float(x) for x in self.oi_coef],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SmileModel:
        ex = d["expiries"]
        meta = {k: v for k, v in d.items() if k not in ("expiries", "spread_coef", "oi_coef")}
        return cls(years=np.array([e["years"] for e in ex]), a=np.array([e["a"] for e in ex]),
                   b=np.array([e["b"] for e in ex]), c=np.array([e["c"] for e in ex]),
                   spread_coef=np.array(d["spread_coef"]), oi_coef=np.array(d["oi_coef"]), meta=meta)


def load_smile(path: str | Path = RESOURCE) -> SmileModel:
    try:
        return SmileModel.from_json(json.loads(Path(path).read_text()))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"cannot load the bundled smile {path}: {exc}") from exc


def _is_monthly(d: date) -> bool:
    """Third-Friday expiry (or the Thursday before it when that Friday is a holiday)."""
    tf = _third_friday(d.year, d.month)
    return d == tf or d == tf - timedelta(days=1)


def fit_smile_from_lean(quotes_csv: str | Path, r: float = 0.0, q: float = 0.0,
                        min_years: float = 5.0 / 365.0, reference_volume: float | None = None
                        ) -> SmileModel:
    """Fit the smile, spread and open-interest models to a real Lean quote snapshot.

    ``reference_volume``: the underlying's average daily share volume at the snapshot (stored so
    generation can scale OI to another symbol's liquidity).
    """
    chain = load_lean_quotes_csv(quotes_csv)
    t = chain.years_to_expiry()
    s = chain.underlying_price
    fwd = s * np.exp((r - q) * t)
    iv = implied_vol(chain.mid, s, chain.strike, t, r, q, chain.is_call).iv
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(chain.strike / fwd) / np.sqrt(t)
    otm = np.where(chain.is_call, chain.strike >= fwd, chain.strike < fwd)
    years, a_, b_, c_ = [], [], [], []
    for e in np.unique(chain.expiry):
        m = (chain.expiry == e) & otm & np.isfinite(iv) & (np.abs(z) <= 2.5) & (t >= min_years)
        if m.sum() < 6:
            continue
        x = np.column_stack([np.ones(m.sum()), z[m], z[m] ** 2])
        coef, *_ = np.linalg.lstsq(x, iv[m], rcond=None)
        years.append(float(t[m][0]))
        a_.append(coef[0])
        b_.append(coef[1])
        c_.append(coef[2])
    if len(years) < 2:
        raise DataError(f"{quotes_csv}: fewer than two expiries with enough quotes to fit a smile")
    dte = chain.dte().astype(float)
    two = chain.has_market & np.isfinite(z)
    xs = np.column_stack([np.ones(two.sum()), np.log(chain.mid[two] / s), np.abs(z[two]),
                          np.log1p(dte[two])])
    s_coef, *_ = np.linalg.lstsq(xs, np.log((chain.ask[two] - chain.bid[two]) / s), rcond=None)
    has_oi = (np.nan_to_num(chain.open_interest) > 0) & np.isfinite(z)
    monthly = np.array([_is_monthly(d) for d in chain.expiry.astype("datetime64[D]").astype(date)])
    xo = np.column_stack([np.ones(has_oi.sum()), np.abs(z[has_oi]), z[has_oi] ** 2,
                          np.log1p(dte[has_oi]), chain.is_call[has_oi].astype(float),
                          monthly[has_oi].astype(float)])
    o_coef, *_ = np.linalg.lstsq(xo, np.log(chain.open_interest[has_oi]), rcond=None)
    meta = {
        "source": "QuantConnect Lean, Data/option/usa/minute/goog/20151224 (quotes, open interest) "
                  "via shared/data/options/GOOG_option_chain_quotes_20151224T1200ET_lean.csv",
        "license": "Apache-2.0",
        "underlying": chain.underlying, "spot": s, "as_of_utc": chain.as_of.isoformat(), "r": r, "q": q,
        "model": "sigma = a + b z + c z^2, z = ln(K/F)/sqrt(T); ln spread and ln OI linear models",
        "fitted_quotes": int(two.sum()), "fitted_oi_rows": int(has_oi.sum()),
        "reference_volume": reference_volume,
    }
    return SmileModel(np.array(years), np.array(a_), np.array(b_), np.array(c_), s_coef, o_coef, meta)


# ---------------------------------------------------------------------------------------------
# Expiries and strikes
# ---------------------------------------------------------------------------------------------
def _third_friday(y: int, m: int) -> date:
    d = date(y, m, 1)
    first_fri = d + timedelta(days=(4 - d.weekday()) % 7)
    return first_fri + timedelta(days=14)


def listed_expiries(underlying: str, as_of_utc: datetime, weeks: int = 8, months: int = 12,
                    leap_years: int = 3) -> list[date]:
    """Weeklies, monthlies (3rd Friday), January LEAPS; dailies for index ETFs/indices.

    A Friday that is an XNYS holiday moves to the previous session (Good Friday -> Thursday).
    """
    import warnings

    import exchange_calendars as xcals  # heavy import; only the replay path needs it

    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3.1 deprecation (Series.values on tz-aware data)
        # inside its own code; nothing here can act on it.
        warnings.filterwarnings("ignore", message=".*Series.values returning an ndarray.*")
        cal = xcals.get_calendar("XNYS")
        today = as_of_utc.astimezone(NY).date()
        horizon_end = date(today.year + leap_years, 12, 31)
        last_valid = min(horizon_end, cal.last_session.date())
        sessions = {d.date() for d in cal.sessions_in_range(today - timedelta(days=7), last_valid)}

    def on_session(d: date) -> date | None:
        for back in range(4):
            c = d - timedelta(days=back)
            if c in sessions:
                return c
        return None

    out: set[date] = set()
    if underlying.upper() in DAILY_EXPIRY_ROOTS:
        out.update(sorted(d for d in sessions if d >= today)[:5])
    fri = today + timedelta(days=(4 - today.weekday()) % 7)
    for w in range(weeks):
        d = on_session(fri + timedelta(weeks=w))
        if d:
            out.add(d)
    for k in range(months):
        y, m = today.year + (today.month - 1 + k) // 12, (today.month - 1 + k) % 12 + 1
        d = on_session(_third_friday(y, m))
        if d:
            out.add(d)
    for y in range(today.year + 1, today.year + 1 + leap_years):
        d = on_session(_third_friday(y, 1))
        if d:
            out.add(d)
    close_today = datetime.combine(today, time(16, 0), tzinfo=NY)
    return sorted(d for d in out if d > today or (d == today and as_of_utc < close_today))


def strike_step(spot: float, underlying: str = "") -> float:
    if underlying.upper() in DAILY_EXPIRY_ROOTS and spot < 1000:
        return 1.0
    for limit, step in ((25, 0.5), (100, 1.0), (250, 2.5), (1000, 5.0)):
        if spot < limit:
            return step
    return 10.0


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
def synth_chain(underlying: str, spot: float, as_of_utc: datetime, *, atm_vol: float | None = None,
                r: float = 0.04, q: float = 0.0, avg_daily_volume: float | None = None,
                model: SmileModel | None = None, max_strikes_per_side: int = 40) -> OptionChain:
    """A labelled, modelled chain: BSM mids from the fitted smile, fitted spreads and OI.

    ``atm_vol``: 30-day ATM IV to scale the smile to (default: the fitted GOOG level).
    ``avg_daily_volume``: the symbol's average daily share volume; OI scales by it relative to
    the fit's reference volume (default: unscaled, GOOG-2015 levels).
    """
    if not (spot > 0 and np.isfinite(spot)):
        raise InputError("spot", f"must be a positive price, got {spot!r}")
    if as_of_utc.tzinfo is None:
        raise InputError("as_of_utc", "must be timezone-aware")
    if atm_vol is not None and not (0.01 <= atm_vol <= 5.0):
        raise InputError("atm_vol", f"must be a decimal vol in [0.01, 5], got {atm_vol!r}")
    if avg_daily_volume is not None and not avg_daily_volume > 0:
        raise InputError("avg_daily_volume", f"must be > 0, got {avg_daily_volume!r}")
    m = model or load_smile()
    scale = 1.0 if atm_vol is None else atm_vol / m.atm30()
    ref_vol = m.meta.get("reference_volume")
    oi_scale = avg_daily_volume / ref_vol if (avg_daily_volume and ref_vol) else 1.0
    step = strike_step(spot, underlying)
    as_of = as_of_utc.astimezone(UTC)
    today = as_of.astimezone(NY).date()
    parts: list[dict[str, np.ndarray]] = []
    for exp in listed_expiries(underlying, as_of):
        t = (datetime.combine(exp, time(16, 0), tzinfo=NY) - as_of).total_seconds() / (365.0 * 86400.0)
        if t <= 0:
            continue
        width = min(max(3.5 * float(m.sigma(np.array(0.0), np.array(t), scale)) * np.sqrt(t), 0.05), 0.6)
        lo = max(step, np.floor(spot * (1 - width) / step) * step)
        hi = np.ceil(spot * (1 + width) / step) * step
        ks = np.arange(lo, hi + step / 2, step)
        atm_i = int(np.argmin(np.abs(ks - spot)))
        ks = ks[max(0, atm_i - max_strikes_per_side): atm_i + max_strikes_per_side + 1]
        n = ks.size
        kk = np.concatenate([ks, ks])
        calls = np.repeat([True, False], n)
        fwd = spot * np.exp((r - q) * t)
        z = np.log(kk / fwd) / np.sqrt(t)
        sig = m.sigma(z, np.full_like(z, t), scale)
        dte = (exp - today).days
        g = greeks(spot, kk, t, r, q, sig, calls)
        mid = g.price
        sc = m.spread_coef
        sprd = spot * np.exp(sc[0] + sc[1] * np.log(np.maximum(mid, 0.01) / spot) + sc[2] * np.abs(z)
                             + sc[3] * np.log1p(dte))
        sprd = np.maximum(np.round(sprd, 2), 0.01)
        bid = np.round(mid - sprd / 2, 2)
        ask = np.maximum(np.round(mid + sprd / 2, 2), 0.01)
        bid = np.where(bid >= 0.01, bid, np.nan)            # far OTM: no bid, as on the real chain
        oc = m.oi_coef
        oi = np.round(oi_scale * np.exp(oc[0] + oc[1] * np.abs(z) + oc[2] * z * z + oc[3] * np.log1p(dte)
                                        + oc[4] * calls + oc[5] * float(_is_monthly(exp))))
        root = underlying.upper()
        parts.append({
            "contract": np.array([f"{root}{exp:%y%m%d}{'C' if c else 'P'}{round(k * 1000):08d}"
                                  for k, c in zip(kk, calls, strict=True)], dtype=object),
            "expiry": np.full(2 * n, np.datetime64(exp, "D")), "is_call": calls, "strike": kk,
            "bid": bid, "ask": ask, "open_interest": oi, "iv": sig, "delta": g.delta, "gamma": g.gamma,
            "theta": g.theta_per_day, "vega": g.vega_per_point,
        })
    if not parts:
        raise DataError(f"no listed expiry after {as_of.isoformat()} for {underlying}")
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    rows = len(cols["strike"])
    nan = np.full(rows, np.nan)
    return OptionChain(
        underlying=underlying.upper(), underlying_price=float(spot), as_of=as_of, source="modelled",
        last=nan, volume=nan.copy(), quote_time=np.full(rows, int(as_of.timestamp() * 1e9), dtype=np.int64),
        modelled=np.ones(rows, dtype=bool), flags=(FLAG_MODELLED,), **cols)


def goog_reference_volume(daily_csv: str | Path, day: str = "2015-12-24", sessions: int = 20) -> float:
    """Mean GOOG daily share volume over the ``sessions`` up to ``day`` (Lean daily, long format)."""
    import csv

    with open(daily_csv, newline="") as fh:
        vols = [float(r["volume"]) for r in csv.DictReader(fh) if r["symbol"] == "GOOG" and r["date"] <= day]
    if len(vols) < sessions:
        raise DataError(f"{daily_csv}: only {len(vols)} GOOG sessions up to {day}")
    return float(np.mean(vols[-sessions:]))


def write_bundled_smile(shared_data: str | Path | None = None, out: str | Path = RESOURCE) -> SmileModel:
    """Refit from the shared real data and rewrite the bundled JSON (maintenance helper)."""
    import os

    base = Path(shared_data or os.environ.get("TRADECOACH_SHARED_DATA")
                or Path(__file__).resolve().parents[3] / "shared" / "data")
    model = fit_smile_from_lean(base / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv",
                                r=0.002, reference_volume=goog_reference_volume(
                                    base / "daily" / "lean_us_equities_daily_raw.csv"))
    Path(out).write_text(json.dumps(model.to_json(), indent=1) + "\n")
    return model
