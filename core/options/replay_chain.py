"""The option chain offered on the replay feed: a modelled chain (labelled so) priced off the
replayed underlying — its last price, its realized volatility and its share volume."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from core.errors import FeedError
from core.market.bars import Bars
from core.options.chain import OptionChain
from core.options.synth import synth_chain
from core.options.vol import historical_volatility

HV_WINDOW = 20


def replay_chain(symbol: str, last_price: float, daily: Bars, now_utc: datetime) -> OptionChain:
    """Modelled chain for `symbol` at `now_utc`; ATM vol = HV20 of the replayed daily closes."""
    if not len(daily):
        raise FeedError(f"no daily bars for {symbol}: cannot model an option chain")
    closes = daily.close[-(HV_WINDOW + 1) * 3:]
    hv = historical_volatility(closes, HV_WINDOW)
    if not len(hv) or not np.isfinite(hv[-1]):
        # Without its own realized vol a modelled chain would just be the reference smile's level.
        raise FeedError(f"{symbol}: {len(daily)} daily bars; {HV_WINDOW + 1} needed to model an option chain")
    atm_vol = min(max(float(hv[-1]), 0.05), 2.0)
    adv = float(np.mean(daily.volume[-HV_WINDOW:])) if daily.volume[-HV_WINDOW:].any() else None
    return synth_chain(symbol, last_price, now_utc, atm_vol=atm_vol, avg_daily_volume=adv)
