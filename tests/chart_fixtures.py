"""Fixtures and pixel helpers shared by the chart widget tests: real market data from
../shared/data and a shown ChartWidget (loaded as a pytest plugin from tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6 import QtCore, QtGui

from core.market.bars import Bars
from widgets.chart import Y_MARGIN, ChartWidget
from widgets.theme import DARK

W, H = 1000, 600


# -- real data -------------------------------------------------------------------------------------
def shared_data_root() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        raise FileNotFoundError(f"shared data not found at {root}; set TRADECOACH_SHARED_DATA")
    return root


@pytest.fixture(scope="module")
def spy5() -> tuple[Bars, pd.DataFrame]:
    """SPY 5-min RTH bars (IB). Bar start = raw UTC stamp - 4 min (see SOURCES.md)."""
    df = pd.read_csv(shared_data_root() / "intraday" / "SPY_5min_2018-2020_ib.csv")
    ts = pd.to_datetime(df["ts_utc_raw"], utc=True) - pd.Timedelta(minutes=4)
    bars = Bars.from_arrays(ts.dt.tz_localize(None).to_numpy(), df["open"], df["high"], df["low"], df["close"],
                            df["volume_lots100"] * 100.0)
    return bars, df


@pytest.fixture(scope="module")
def es1m() -> Bars:
    """ES continuous 1-min, 105,825 bars (naive UTC index)."""
    df = pd.read_parquet(shared_data_root() / "intraday" /
                         "ES_continuous_1min_2025-07_to_2025-12_tradingview.parquet")
    df.index = df.index.tz_localize("UTC")
    return Bars.from_pandas(df)


@pytest.fixture(scope="module")
def spy1m() -> Bars:
    """SPY 1-min trade bars from Lean, 2013-10-07 only."""
    df = pd.read_csv(shared_data_root() / "intraday" / "lean_equity_1min_samples.csv")
    df = df[(df["symbol"] == "SPY") & df["bar_start_et"].str.startswith("2013-10-07")]
    df.index = pd.DatetimeIndex(pd.to_datetime(df["bar_start_et"], utc=True))
    return Bars.from_pandas(df[["open", "high", "low", "close", "volume"]])


@pytest.fixture
def chart(qtbot) -> ChartWidget:  # type: ignore[no-untyped-def]
    w = ChartWidget(theme=DARK)
    qtbot.addWidget(w)
    w.resize(W, H)
    w.show()
    qtbot.waitExposed(w)
    return w


def grab(w: ChartWidget) -> QtGui.QImage:
    w.flush()
    QtCore.QCoreApplication.processEvents()
    return w.grab().toImage()


def pixel(img: QtGui.QImage, p: QtCore.QPoint) -> str:
    r = img.devicePixelRatio()
    return img.pixelColor(round(p.x() * r), round(p.y() * r)).name()


def rgb_of(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def mask(rgb: np.ndarray, color: str) -> np.ndarray:
    c = QtGui.QColor(color)
    return (rgb[..., 0] == c.red()) & (rgb[..., 1] == c.green()) & (rgb[..., 2] == c.blue())


def expected_y(bars: Bars, i0: int, i1: int) -> tuple[float, float]:
    lo, hi = bars.low[i0:i1].min(), bars.high[i0:i1].max()
    return lo - Y_MARGIN * (hi - lo), hi + Y_MARGIN * (hi - lo)
