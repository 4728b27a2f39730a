"""Index mode on REAL aligned minute data.

The shared SPX 1-minute samples (2021/2023 days) overlap neither the SPY Lean minutes (2013-10,
2023-08-03) nor the ES minutes (2013-10, 2020-01). The only overlapping real pair is ES Dec-2013
futures (the S&P 500 "index" leg) with SPY (the ETF proxy) on 2013-10-07..11, so that is the
pair used here: structure on ES, execution on SPY.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import DataError, InputError
from core.options.index_proxy import aligned_returns, fit_proxy

DAYS = ["2013-10-07", "2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11"]


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _ns(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s, utc=True).dt.as_unit("ns").astype("int64").to_numpy()


@pytest.fixture(scope="module")
def bars() -> tuple[pd.DataFrame, pd.DataFrame]:
    es = pd.read_csv(_data() / "intraday" / "ES_futures_1min_samples_lean.csv")
    es = es[es["contract_month"] == 201312].copy()
    es["ts"] = _ns(es["bar_start_utc"])
    spy = pd.read_csv(_data() / "intraday" / "lean_equity_1min_samples.csv")
    spy = spy[spy["symbol"] == "SPY"].copy()
    spy["ts"] = _ns(spy["bar_start_et"])
    return es.sort_values("ts"), spy.sort_values("ts")


def _session(df: pd.DataFrame, day: str, start: str, end: str) -> pd.DataFrame:
    hhmm = df["bar_start_et"].str[11:16]
    return df[df["bar_start_et"].str.startswith(day) & (hhmm >= start) & (hhmm < end)]


@pytest.mark.parametrize("day", DAYS)
def test_beta_from_real_aligned_minutes_and_translation_out_of_sample(bars, day: str) -> None:
    es, spy = bars
    es_m, spy_m = _session(es, day, "09:30", "12:00"), _session(spy, day, "09:30", "12:00")
    fit = fit_proxy("SPX", es_m["ts"].to_numpy(), es_m["close"].to_numpy(), spy_m["ts"].to_numpy(),
                    spy_m["close"].to_numpy(), proxy="SPY", window=60)
    assert fit.bars == 60 and fit.proxy == "SPY"
    # An independent OLS through the origin on the same last 60 aligned returns.
    _, x, y = aligned_returns(es_m["ts"].to_numpy(), es_m["close"].to_numpy(), spy_m["ts"].to_numpy(),
                              spy_m["close"].to_numpy())
    beta_ref = np.linalg.lstsq(x[-60:, None], y[-60:], rcond=None)[0][0]
    assert fit.beta == pytest.approx(beta_ref, rel=1e-10)
    assert 0.6 < fit.beta < 1.2 and fit.r2 > 0.6        # SPY tracks the S&P future minute by minute
    assert fit.ratio == pytest.approx(0.1003, abs=0.0005)
    assert "American" in fit.banner and "SPY" in fit.banner
    # Out of sample: translate the real ES closes of the next 2 hours into SPY levels.
    es_l, spy_l = _session(es, day, "12:00", "14:00"), _session(spy, day, "12:00", "14:00")
    common = np.intersect1d(es_l["ts"], spy_l["ts"])
    e = es_l.set_index("ts").loc[common, "close"].to_numpy()
    s = spy_l.set_index("ts").loc[common, "close"].to_numpy()
    err = np.abs(np.asarray(fit.translate(e)) - s) / s
    assert np.median(err) < 0.001                       # < 0.1 %: 17 cents on SPY at 168
    assert fit.translate(fit.index_price) == pytest.approx(fit.proxy_price)


def test_translate_plan_keeps_order_and_carries_fields(bars) -> None:
    es, spy = bars
    es_m, spy_m = _session(es, "2013-10-09", "09:30", "16:00"), _session(spy, "2013-10-09", "09:30", "16:00")
    fit = fit_proxy("SPX", es_m["ts"].to_numpy(), es_m["close"].to_numpy(), spy_m["ts"].to_numpy(),
                    spy_m["close"].to_numpy(), proxy="SPY")
    i0 = fit.index_price
    plan = fit.translate_plan(i0, i0 - 8, (i0 + 6, i0 + 12))
    assert plan["stop"] < plan["entry"] < plan["targets"][0] < plan["targets"][1]
    assert set(plan) >= {"proxy", "ratio", "beta", "banner"}
    assert fit.beta_mean > 0


def test_too_few_aligned_bars_and_unknown_index(bars) -> None:
    es, spy = bars
    es_m, spy_m = _session(es, "2013-10-07", "09:30", "10:00"), _session(spy, "2013-10-07", "09:30", "10:00")
    with pytest.raises(DataError, match="aligned"):
        fit_proxy("SPX", es_m["ts"].to_numpy(), es_m["close"].to_numpy(), spy_m["ts"].to_numpy(),
                  spy_m["close"].to_numpy())
    with pytest.raises(InputError) as ei:
        fit_proxy("DAX", es_m["ts"].to_numpy(), es_m["close"].to_numpy(), spy_m["ts"].to_numpy(),
                  spy_m["close"].to_numpy())
    assert ei.value.field == "index"
