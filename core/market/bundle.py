"""The bundled replay data: real, redistributable bars (QuantConnect Lean sample data,
Apache-2.0) converted once from ../shared/data into compact Parquet files under resources/data.

`build_bundle` is the conversion (a test re-runs it and checks the shipped files equal it, so
what ships is provably the real data); `BarLibrary` is what the replay feed reads at run time.
Prices are split-adjusted with Lean's factor files so a replayed chart never shows a split as a
crash; dividends are not adjusted. Obvious bad prints in the minute bars (a lone wick far beyond
every neighbouring bar, e.g. SPY 2013-10-08 15:03 high 167.51 with the market at 166) are clipped,
counted and logged by `clip_bad_prints`; opens, closes and volumes are never changed.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.importer import read_bars_file

log = logging.getLogger(__name__)

MINUTE_FILE = "minute.parquet"
DAILY_FILE = "daily.parquet"
HOURLY_FILE = "spy_hourly.parquet"

LEAN_MINUTE_EQUITIES = ("SPY", "AAPL", "IBM", "BAC", "AIG", "GOOG")
LEAN_DAILY = ("SPY", "QQQ", "IWM", "AAPL", "GOOG", "GOOGL", "FB", "IBM", "BAC", "AIG", "EEM", "USO")


def _split_factors(factor_csv: Path, symbol: str) -> tuple[np.ndarray, np.ndarray]:
    f = pd.read_csv(factor_csv, dtype={"date": str})
    f = f[f["symbol"] == symbol].sort_values("date")
    dates = pd.to_datetime(f["date"], format="%Y%m%d").to_numpy().astype("datetime64[D]")
    return dates, f["split_factor"].to_numpy(dtype=np.float64)


def split_adjust(bars: Bars, symbol: str, factor_csv: Path) -> Bars:
    """Lean convention: a bar dated d uses the factor row with the smallest date >= d."""
    dates, factors = _split_factors(factor_csv, symbol)
    if not len(dates):
        return bars
    days = np.asarray(bars.index.tz_convert("America/New_York").date, dtype="datetime64[D]")
    pos = np.minimum(np.searchsorted(dates, days, side="left"), len(dates) - 1)
    k = factors[pos]
    if np.all(k == 1.0):
        return bars
    return Bars(bars.ts, bars.open * k, bars.high * k, bars.low * k, bars.close * k, bars.volume / k)


# Bad-print rule (minute bars): within one New York calendar day, compare each bar with its
# BAD_PRINT_NEIGHBOURS bars on either side. scale = max(median neighbour range (high - low),
# BAD_PRINT_MIN_SCALE x close). A high above both the bar's body and every neighbour's high by more
# than BAD_PRINT_K x scale is a bad print (lows mirrored); it is clipped to
# max(body, min(neighbours' highest high, body + scale)). The median range is the robust
# "typical bar" of the neighbourhood; the price floor keeps one-tick moves in illiquid overnight
# minutes (median range ~0) from counting. Measured on the bundle: 25 wicks clipped of 38,665
# bars (the SPY 167.51 prints of 2013-10-08, ES 16:30 re-open spikes, a few AAPL lows).
BAD_PRINT_NEIGHBOURS = 5
BAD_PRINT_K = 8.0
BAD_PRINT_MIN_SCALE = 0.0005


def clip_bad_prints(bars: Bars) -> tuple[Bars, np.ndarray]:
    """`bars` with bad-print wicks clipped (rule above), and the mask of the bars changed."""
    n = len(bars)
    high, low = bars.high.copy(), bars.low.copy()
    changed = np.zeros(n, dtype=bool)
    if n < 3:
        return bars, changed
    days = np.asarray(bars.index.tz_convert("America/New_York").date, dtype="datetime64[D]")
    bounds = np.flatnonzero(np.r_[True, days[1:] != days[:-1], True])
    w = BAD_PRINT_NEIGHBOURS
    others = np.ones(2 * w + 1, dtype=bool)
    others[w] = False
    for a, b in itertools.pairwise(bounds):
        if b - a < 3:
            continue

        def around(x: np.ndarray, a: int = a, b: int = b) -> np.ndarray:
            padded = np.concatenate([np.full(w, np.nan), x[a:b], np.full(w, np.nan)])
            return sliding_window_view(padded, 2 * w + 1)[:, others]

        hi_ref = np.nanmax(around(bars.high), axis=1)
        lo_ref = np.nanmin(around(bars.low), axis=1)
        scale = np.maximum(np.nanmedian(around(bars.high - bars.low), axis=1), BAD_PRINT_MIN_SCALE * bars.close[a:b])
        body_hi = np.maximum(bars.open[a:b], bars.close[a:b])
        body_lo = np.minimum(bars.open[a:b], bars.close[a:b])
        up = bars.high[a:b] > np.maximum(hi_ref, body_hi) + BAD_PRINT_K * scale
        dn = bars.low[a:b] < np.minimum(lo_ref, body_lo) - BAD_PRINT_K * scale
        high[a:b] = np.where(up, np.maximum(body_hi, np.minimum(hi_ref, body_hi + scale)), high[a:b])
        low[a:b] = np.where(dn, np.minimum(body_lo, np.maximum(lo_ref, body_lo - scale)), low[a:b])
        changed[a:b] = up | dn
    if not changed.any():
        return bars, changed
    return Bars(bars.ts, bars.open, high, low, bars.close, bars.volume), changed


def _clean(symbol: str, bars: Bars) -> Bars:
    out, changed = clip_bad_prints(bars)
    if changed.any():
        when = pd.DatetimeIndex(bars.ts[changed], tz="UTC").tz_convert("America/New_York")
        log.info("bundle: %s: clipped %d bad print(s) of %d bars: %s", symbol, int(changed.sum()), len(bars),
                 ", ".join(when.strftime("%Y-%m-%d %H:%M")))
    return out


def _frame(symbol: str, bars: Bars) -> pd.DataFrame:
    return pd.DataFrame({"symbol": symbol, "ts": bars.ts, "open": bars.open, "high": bars.high,
                         "low": bars.low, "close": bars.close, "volume": bars.volume})


def build_bundle(shared_data: Path, out_dir: Path) -> list[Path]:
    """Convert the Apache-2.0 Lean files of shared/data into the replay bundle."""
    intraday, daily = shared_data / "intraday", shared_data / "daily"
    factors = daily / "lean_factor_files.csv"
    minute_parts = []
    for sym in LEAN_MINUTE_EQUITIES:
        raw = read_bars_file(intraday / "lean_equity_1min_samples.csv", sym).bars
        minute_parts.append(_frame(sym, _clean(sym, split_adjust(raw, sym, factors))))
    spx = read_bars_file(intraday / "SPX_index_1min_samples_lean.csv", "SPX").bars
    minute_parts.append(_frame("SPX", _clean("SPX", spx)))
    es = read_bars_file(intraday / "ES_futures_1min_samples_lean.csv", "ES").bars
    minute_parts.append(_frame("ES", _clean("ES", es)))
    daily_parts = [
        _frame(sym, split_adjust(read_bars_file(daily / "lean_us_equities_daily_raw.csv", sym).bars, sym, factors))
        for sym in LEAN_DAILY
    ]
    hourly = _frame("SPY", read_bars_file(intraday / "SPY_1hour_1998-2021_lean.csv", "SPY").bars)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in ((MINUTE_FILE, pd.concat(minute_parts)), (DAILY_FILE, pd.concat(daily_parts)),
                        (HOURLY_FILE, hourly)):
        path = out_dir / name
        frame.reset_index(drop=True).to_parquet(path, compression="zstd", index=False)
        written.append(path)
    return written


@dataclass(frozen=True, slots=True)
class _Table:
    symbols: np.ndarray
    frame: pd.DataFrame

    def bars(self, symbol: str) -> Bars:
        rows = self.frame[self.symbols == symbol]
        return Bars.from_arrays(rows["ts"].to_numpy(), rows["open"].to_numpy(), rows["high"].to_numpy(),
                                rows["low"].to_numpy(), rows["close"].to_numpy(), rows["volume"].to_numpy())


class BarLibrary:
    """Read-only access to the bundled bars (loaded once; a few MB)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._tables: dict[str, _Table] = {}

    def _table(self, name: str) -> _Table:
        if name not in self._tables:
            path = self.data_dir / name
            if not path.exists():
                raise DataError(f"bundle: {path} is missing; the installation is incomplete")
            frame = pd.read_parquet(path)
            self._tables[name] = _Table(frame["symbol"].to_numpy(), frame)
        return self._tables[name]

    def minute_symbols(self) -> list[str]:
        return sorted(set(self._table(MINUTE_FILE).symbols.tolist()))

    def daily_symbols(self) -> list[str]:
        return sorted(set(self._table(DAILY_FILE).symbols.tolist()))

    def minute(self, symbol: str) -> Bars:
        if symbol not in self.minute_symbols():
            raise InputError("symbol", f"no bundled minute data for {symbol}; have {', '.join(self.minute_symbols())}")
        return self._table(MINUTE_FILE).bars(symbol)

    def daily(self, symbol: str) -> Bars:
        if symbol not in self.daily_symbols():
            return Bars.empty()
        return self._table(DAILY_FILE).bars(symbol)

    def hourly(self, symbol: str) -> Bars:
        t = self._table(HOURLY_FILE)
        return t.bars(symbol) if symbol in set(t.symbols.tolist()) else Bars.empty()
