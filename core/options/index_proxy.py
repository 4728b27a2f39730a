"""Index mode: plan on SPX/NDX structure, execute with SPY/QQQ options when index chains degrade.

beta is a rolling no-intercept OLS of proxy 1-minute log returns on index 1-minute log returns,
over the last ``window`` aligned bars (only minutes present in BOTH series, and only returns
between consecutive minutes, so gaps never create a multi-minute return):
    beta = sum(x y) / sum(x x).
A level L on the index maps to the proxy by moving the proxy by beta times the index's
percentage move from now:  P(L) = P0 x (1 + beta x (L / I0 - 1)).
(The seed scaled every level by ratio x beta_now / beta_mean, which shifts a level even when the
index does not move; this form keeps P(I0) = P0.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import DataError, InputError

PROXIES = {"SPX": "SPY", "NDX": "QQQ", "XSP": "SPY", "RUT": "IWM"}
_MINUTE_NS = 60 * 10**9


def american_banner(index: str, proxy: str) -> str:
    return (f"Index chain degraded — executing via {proxy} options. {proxy} options are "
            f"American-style (early exercise possible) and settle in shares; {index} options are "
            "European-style and cash-settled. Levels are translated with the rolling beta below.")


@dataclass(frozen=True, slots=True)
class ProxyFit:
    index: str
    proxy: str
    beta: float              # latest window
    beta_mean: float         # mean of the rolling betas over the sample
    r2: float                # of the latest window
    ratio: float             # proxy price / index price (latest aligned bar)
    index_price: float
    proxy_price: float
    bars: int                # aligned returns in the latest window
    banner: str

    def translate(self, level: float | np.ndarray) -> float | np.ndarray:
        """Index level -> proxy level (beta-scaled percentage move from the latest prices)."""
        lv = np.asarray(level, dtype=float)
        out = self.proxy_price * (1.0 + self.beta * (lv / self.index_price - 1.0))
        return float(out) if out.ndim == 0 else out

    def translate_plan(self, entry: float, stop: float, targets: tuple[float, ...]) -> dict[str, object]:
        return {
            "proxy": self.proxy, "ratio": self.ratio, "beta": self.beta, "beta_mean": self.beta_mean,
            "entry": self.translate(entry), "stop": self.translate(stop),
            "targets": tuple(float(self.translate(t)) for t in targets), "banner": self.banner,
        }


def aligned_returns(index_ts: np.ndarray, index_close: np.ndarray, proxy_ts: np.ndarray,
                    proxy_close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ts, index log return, proxy log return) for minutes where both have this and the previous bar."""
    its = np.asarray(index_ts, dtype=np.int64)
    pts = np.asarray(proxy_ts, dtype=np.int64)
    common, ii, pi = np.intersect1d(its, pts, assume_unique=False, return_indices=True)
    if common.size < 2:
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    ic = np.asarray(index_close, dtype=float)[ii]
    pc = np.asarray(proxy_close, dtype=float)[pi]
    consecutive = np.diff(common) == _MINUTE_NS
    x = np.diff(np.log(ic))[consecutive]
    y = np.diff(np.log(pc))[consecutive]
    return common[1:][consecutive], x, y


def fit_proxy(index: str, index_ts: np.ndarray, index_close: np.ndarray, proxy_ts: np.ndarray,
              proxy_close: np.ndarray, *, proxy: str | None = None, window: int = 60,
              min_bars: int = 60) -> ProxyFit:
    """Rolling no-intercept OLS of proxy on index 1-minute returns; ts are int64 UTC ns bar starts."""
    if window < min_bars:
        raise InputError("window", f"window {window} must be >= min_bars {min_bars}")
    proxy = proxy or PROXIES.get(index.upper())
    if proxy is None:
        raise InputError("index", f"no default proxy for {index!r}; pass proxy=")
    ts, x, y = aligned_returns(index_ts, index_close, proxy_ts, proxy_close)
    if x.size < min_bars:
        raise DataError(f"{index}/{proxy}: only {x.size} aligned 1-minute returns, need {min_bars}")
    sxy = np.convolve(x * y, np.ones(window), "valid")
    sxx = np.convolve(x * x, np.ones(window), "valid")
    with np.errstate(invalid="ignore", divide="ignore"):
        betas = sxy / sxx
    betas = betas[np.isfinite(betas)]
    if betas.size == 0:
        raise DataError(f"{index}: index returns are all zero in every window")
    xw, yw = x[-window:], y[-window:]
    beta = float(np.dot(xw, yw) / np.dot(xw, xw))
    resid = yw - beta * xw
    r2 = float(1.0 - np.dot(resid, resid) / np.dot(yw, yw)) if np.dot(yw, yw) > 0 else float("nan")
    # Latest prices at the last aligned minute.
    last = ts[-1]
    ip = float(np.asarray(index_close, dtype=float)[np.searchsorted(np.asarray(index_ts), last)])
    pp = float(np.asarray(proxy_close, dtype=float)[np.searchsorted(np.asarray(proxy_ts), last)])
    return ProxyFit(index=index, proxy=proxy, beta=beta, beta_mean=float(betas.mean()), r2=r2,
                    ratio=pp / ip, index_price=ip, proxy_price=pp, bars=int(xw.size),
                    banner=american_banner(index, proxy))
