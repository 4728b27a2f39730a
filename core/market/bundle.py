"""The bundled replay data: real, redistributable bars (QuantConnect Lean sample data,
Apache-2.0) converted once from ../shared/data into compact Parquet files under resources/data.

`build_bundle` is the conversion (a test re-runs it and checks the shipped files equal it, so
what ships is provably the real data); `BarLibrary` is what the replay feed reads at run time.
Prices are split-adjusted with Lean's factor files so a replayed chart never shows a split as a
crash; dividends are not adjusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.importer import read_bars_file

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
        minute_parts.append(_frame(sym, split_adjust(raw, sym, factors)))
    minute_parts.append(_frame("SPX", read_bars_file(intraday / "SPX_index_1min_samples_lean.csv", "SPX").bars))
    minute_parts.append(_frame("ES", read_bars_file(intraday / "ES_futures_1min_samples_lean.csv", "ES").bars))
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
