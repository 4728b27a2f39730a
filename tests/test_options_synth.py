"""The modelled replay chain: fitted to the real GOOG chain, labelled modelled everywhere."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.options.chain import check_chain, load_lean_quotes_csv
from core.options.pricing import IVReason, implied_vol
from core.options.synth import (
    RESOURCE,
    fit_smile_from_lean,
    goog_reference_volume,
    listed_expiries,
    load_smile,
    synth_chain,
)


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


GOOG_CSV = "options/GOOG_option_chain_quotes_20151224T1200ET_lean.csv"
AS_OF = datetime(2023, 8, 3, 19, 0, tzinfo=UTC)   # 15:00 ET, a Thursday


def test_bundled_smile_is_reproducible_from_the_real_chain() -> None:
    refv = goog_reference_volume(_data() / "daily" / "lean_us_equities_daily_raw.csv")
    fresh = fit_smile_from_lean(_data() / GOOG_CSV, r=0.002, reference_volume=refv).to_json()
    stored = json.loads(RESOURCE.read_text())
    assert stored["license"] == "Apache-2.0" and "Lean" in stored["source"]
    for key in ("spread_coef", "oi_coef"):
        assert np.allclose(fresh[key], stored[key], rtol=1e-9, atol=1e-12)
    for a, b in zip(fresh["expiries"], stored["expiries"], strict=True):
        assert a == pytest.approx(b, rel=1e-9)
    assert (RESOURCE.parent / "README.md").exists()


def test_smile_fits_the_real_quotes() -> None:
    m = load_smile()
    ch = load_lean_quotes_csv(_data() / GOOG_CSV)
    t = ch.years_to_expiry()
    iv = implied_vol(ch.mid, ch.underlying_price, ch.strike, t, 0.002, 0.0, ch.is_call).iv
    z = np.log(ch.strike / (ch.underlying_price * np.exp(0.002 * t))) / np.sqrt(np.maximum(t, 1e-9))
    sel = np.isfinite(iv) & (np.abs(z) < 1.0) & (t > 10 / 365)
    model_iv = m.sigma(z[sel], t[sel])
    # Within 2.5 vol points on the near-money quotes (median); equity skew: slope b < 0.
    assert np.median(np.abs(model_iv - iv[sel])) < 0.025
    assert np.all(m.b < 0)


def test_synth_chain_is_labelled_and_consistent() -> None:
    ch = synth_chain("SPY", 448.0, AS_OF, atm_vol=0.15, avg_daily_volume=7.5e7)
    assert ch.source == "modelled" and ch.modelled.all() and "MODELLED_DATA" in ch.flags
    assert len(ch) > 500
    chk = check_chain(ch, r=0.04)
    assert abs(chk.parity_gap_pct) < 0.2 and not chk.stale.any()
    # IV recovered from the model mid (rounded bid/ask) is close to the model IV near the money.
    t = ch.years_to_expiry()
    res = implied_vol(ch.mid, 448.0, ch.strike, t, 0.04, 0.0, ch.is_call)
    near = (np.abs(ch.strike / 448.0 - 1) < 0.05) & (t > 7 / 365) & (res.reason == IVReason.OK)
    assert near.sum() > 50
    # Bid/ask are rounded to cents, so the mid is within 1 cent of the model value and the IV
    # within 1 cent / vega (vega per 1.00 = 100 x the chain's per-point vega).
    bound = 0.0101 / (ch.vega[near] * 100.0)
    assert np.all(np.abs(res.iv[near] - ch.iv[near]) <= bound + 1e-9)
    assert np.median(np.abs(res.iv[near] - ch.iv[near])) < 0.002
    # 30-day ATM vol is what was asked for.
    from core.options.vol import atm_iv_30d
    assert atm_iv_30d(ch, 0.04).value == pytest.approx(0.15, abs=0.01)


def test_spreads_widen_out_of_the_money_and_oi_peaks_near_the_money() -> None:
    ch = synth_chain("SPY", 448.0, AS_OF, atm_vol=0.15, avg_daily_volume=7.5e7)
    exp = np.datetime64("2023-09-15")          # a monthly
    m = (ch.expiry == exp) & ch.is_call & ch.has_market
    k = ch.strike[m]
    sp = ch.spread_pct[m]
    oi = ch.open_interest[m]
    atm = np.argmin(np.abs(k - 448.0))
    far = np.argmax(k)
    assert sp[far] > sp[atm]
    assert oi[atm] > oi[far]
    weekly = (ch.expiry == np.datetime64("2023-09-08")) & ch.is_call & (ch.strike == k[atm])
    assert ch.open_interest[weekly][0] < oi[atm]      # monthlies carry more OI, as on the real chain


def test_expiries_follow_the_exchange_calendar() -> None:
    # 2024-03-29 is Good Friday (NYSE closed): that weekly and monthly-adjacent expiry moves to Thursday.
    exps = listed_expiries("AAPL", datetime(2024, 3, 20, 15, 0, tzinfo=UTC))
    assert date(2024, 3, 28) in exps and date(2024, 3, 29) not in exps
    assert date(2024, 4, 19) in exps                  # third Friday of April
    assert any(d.month == 1 and d.year == 2026 for d in exps)     # January LEAPS
    spy = listed_expiries("SPY", AS_OF)
    assert spy[0] == date(2023, 8, 3) and date(2023, 8, 4) in spy  # daily expiries for SPY
    after_close = listed_expiries("SPY", datetime(2023, 8, 3, 21, 0, tzinfo=UTC))
    assert date(2023, 8, 3) not in after_close


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(InputError) as ei:
        synth_chain("SPY", -1.0, AS_OF)
    assert ei.value.field == "spot"
    with pytest.raises(InputError) as ei:
        synth_chain("SPY", 448.0, datetime(2023, 8, 3, 15, 0))
    assert ei.value.field == "as_of_utc"
    with pytest.raises(InputError) as ei:
        synth_chain("SPY", 448.0, AS_OF, atm_vol=15.0)
    assert ei.value.field == "atm_vol"
