"""Screenshot (+ recent bars) → session close estimate, 80% ranges for the session high and low,
P(touch the typed level before the close), with the model version and its measured skill.

    predictor = LocalPredictor.load()            # the shipped checkpoint; ~0.1 s, once
    f = predictor.predict("chart.png", "SPY", price=512.3, level=515.0, bars=recent_5m_bars)
    f.close, f.high_range, f.p_touch, f.skill_text

Prices come back in the instrument's units: the model works in volatility units around the
anchor price (feed price at the screenshot time, or the price the trader typed) and the realized
volatility of the recent bars; without bars the volatility is the symbol's typical level and the
output says so.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import InputError
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.sessions import phases
from models import checkpoints
from models.baselines import touch_probability_z
from models.dataset import (
    MINUTES_PER_YEAR,
    SEQ_FEATURES,
    SEQ_LEN,
    SESSION_MINUTES,
    SessionBars,
    _realized_sigma,
    _windows,
    context_features,
    regular_session_bars,
    sequence_features,
)
from models.evaluate import load_model
from models.forecast import ExtremesScope, Forecast, skill_text
from models.network import Predictor, image_tensor
from models.render import HEIGHT, THEMES, WIDTH, load_screenshot_checked

MIN_NS = 60_000_000_000
DEFAULT_ANNUAL_VOL = 0.20
# P(touch) is trusted out to this many volatility units (sigma*sqrt(tau)) from the price; farther
# levels get the volatility-only answer and a warning (the model never saw such levels).
MAX_TOUCH_UNITS = 4.0
TOUCH_GRID_STEP = 0.05
# A level this many times the price (or its inverse) is taken for another instrument's units.
WRONG_UNITS_RATIO = 1.5
PATHS = ("screenshot", "feed", "both", "price only")


class LocalPredictor:
    def __init__(self, model: Predictor, meta: dict[str, Any]) -> None:
        self.model = model
        self.meta = meta
        self.version = str(meta.get("model_version", "unknown"))
        self.skill: dict[str, Any] = dict(meta.get("skill") or {})

    @classmethod
    def load(cls, path: str | Path | None = None) -> LocalPredictor:
        model, meta = load_model(path)
        return cls(model, meta)

    @torch.no_grad()
    def predict(self, image: str | Path | bytes | np.ndarray | None, symbol: str, *, price: float | None = None,
                level: float | None = None, bars: Bars | None = None, at: datetime | None = None,
                price_source: str | None = None, sigma: float | None = None, sigma_source: str | None = None,
                path: str = "feed") -> Forecast:
        """`sigma` (per sqrt(minute)) is the volatility to use when no session bars are given — read
        off the screenshot's candles or the feed's; without it 20% a year is assumed and said.
        `path` names where the inputs came from; the forecast quotes that path's measured skill."""
        t0 = time.perf_counter()
        if path not in PATHS:
            raise InputError("path", f"must be one of {', '.join(PATHS)}")
        symbol = (symbol or "").strip().upper()
        if not symbol:
            raise InputError("symbol", "is required")
        if price is not None and (not math.isfinite(price) or price <= 0):
            raise InputError("price", "must be a positive number")
        if level is not None and (not math.isfinite(level) or level <= 0):
            raise InputError("expected_price", "must be a positive number")
        at = at or datetime.now(UTC)
        if at.tzinfo is None:
            raise InputError("time", "needs a time zone")
        at_ns = int(at.timestamp() * 1e9)
        cal = calendar_for(symbol)
        idx, _ = cal.session_index(np.array([at_ns]))
        i = int(idx[0])
        o_ns, c_ns = cal.rth_bounds_ns(i)
        notes: list[str] = []
        decision_ns = at_ns
        if not (o_ns <= at_ns < c_ns):
            if at_ns >= c_ns:
                i += 1
                o_ns, c_ns = cal.rth_bounds_ns(i)
            if cal.is_futures and o_ns - at_ns <= 12 * 60 * MIN_NS:
                # Futures trade overnight: the price now is live, so the horizon runs from now to the
                # 16:00 ET cash close (DT's "screenshot before the open" use).
                decision_ns = at_ns
                notes.append("before the cash open: estimate of the price at the 16:00 ET cash close, "
                             "from the futures price now")
            else:
                notes.append(f"market closed: forecast for the {cal.session(i).session} session, from its open "
                             "(the overnight gap is not modelled)")
                decision_ns = o_ns
            at_ns = o_ns
        tau = (c_ns - decision_ns) / MIN_NS
        sb = regular_session_bars(bars, symbol) if bars is not None and len(bars) else None
        inputs = self._bar_inputs(sb, symbol, at_ns, o_ns, price, tau) if sb is not None else None
        so_far = session_extremes_so_far(sb, at_ns, o_ns) if sb is not None else None
        if inputs is None:
            if price is None:
                raise InputError("price", "needed when no recent bars are given (type the current price)")
            if sigma is not None and math.isfinite(sigma) and sigma > 0:
                vol_source = sigma_source or "given"
            else:
                sigma, vol_source = DEFAULT_ANNUAL_VOL / math.sqrt(MINUTES_PER_YEAR), "unknown: 20% a year assumed"
                notes.append("volatility unknown (no bars from the screenshot or the feed): "
                             "the ranges assume 20% a year")
            minutes_open = max(0.0, (at_ns - o_ns) / MIN_NS)
            ph = phases(np.array([max(at_ns - 1, o_ns)]), cal)
            ctx = context_features(np.array([tau]), np.array([minutes_open]), 5.0, ph, np.array([sigma]),
                                   *(np.zeros(1),) * 3, np.zeros(1))
            seq = np.zeros((1, SEQ_LEN, SEQ_FEATURES), np.float32)
            anchor, src, used = float(price), price_source or "given", False
        else:
            anchor, sigma, ctx, seq = inputs[:4]
            vol_source, used = "recent bars", True
            src = price_source or ("given" if price is not None else "bars")
        if image is None:
            if inputs is None:
                raise InputError("image", "a chart screenshot (or recent bars) is required")
        else:
            _, blank = load_screenshot_checked(image)
            if blank:
                notes.append("no chart seen in the image (blank or one colour): this forecast does not rest on a chart")
        # The image branch is dropped: replacing every image with a blank one changed held-out
        # P(touch) by 0.00025 on average and the Brier score by -0.000007 [-0.00001, -0.000004]
        # (eval-predictor --ablate blank). The picture counts through what the reader reads off it.
        e = self.model.embed(blank_image(), torch.from_numpy(seq), torch.from_numpy(ctx))
        q = self.model.quantiles_from(e)[0].numpy()
        # The network's close drift is "always long" (up in 94% of held-out decisions, direction
        # accuracy = the up share, MAE = no change's): it is a learned bias, not skill. The close is
        # re-centred on the price; its 80% range keeps the network's spread.
        q[0] = q[0] - q[0, 1]
        scale = sigma * math.sqrt(tau)

        def px(z: float) -> float:
            return float(anchor * math.exp(z * scale))

        # The model forecasts the extremes of the rest of the session; the session's own high is at
        # least what already traded (quantiles commute with max/min, so ranges combine the same way).
        scope: ExtremesScope = "session" if so_far is not None or at_ns <= o_ns else "rest_of_session"
        hi_floor, lo_cap = (max(so_far[0], anchor), min(so_far[1], anchor)) if so_far else (anchor, anchor)

        p_touch = p_base = None
        if level is not None:
            d = math.log(level / anchor) / scale
            p_base = float(touch_probability_z(d, tau))
            p_touch, warn = self._monotone_touch(e, d, tau, level / anchor, p_base)
            if warn:
                notes.append(warn)
        note = "; ".join(notes)
        skill = self.skill_for(path)
        return Forecast(
            symbol=symbol, anchor_price=anchor, price_source=src,
            anchor_time=datetime.fromtimestamp(decision_ns / 1e9, UTC),
            horizon_end=datetime.fromtimestamp(c_ns / 1e9, UTC),
            minutes_to_close=tau, close=px(q[0, 1]), close_range=(px(q[0, 0]), px(q[0, 2])),
            high=max(hi_floor, px(q[1, 1])), high_range=(max(hi_floor, px(q[1, 0])), max(hi_floor, px(q[1, 2]))),
            low=min(lo_cap, px(q[2, 1])), low_range=(min(lo_cap, px(q[2, 0])), min(lo_cap, px(q[2, 2]))),
            level=level, p_touch=p_touch, p_touch_volatility_only=p_base,
            annual_volatility=float(sigma * math.sqrt(MINUTES_PER_YEAR)), volatility_source=vol_source,
            used_bars=used, model_version=self.version, skill=skill,
            skill_text=f"{path} path: " + (skill_text(skill) if skill else "skill not measured"),
            note=note, path=path, latency_ms=(time.perf_counter() - t0) * 1e3, extremes_scope=scope,
            high_so_far=so_far[0] if so_far else None, low_so_far=so_far[1] if so_far else None)

    def skill_for(self, path: str) -> dict[str, Any]:
        """The measured skill of this path: the checkpoint's `skill` was measured with bar inputs
        (the feed path); other paths only when `skill_by_path` holds them — else empty (not measured)."""
        by_path = dict(self.meta.get("skill_by_path") or {})
        if path in by_path:
            return dict(by_path[path])
        return dict(self.skill) if path == "feed" else {}

    def touch_curve(self, e: Any, d: float, tau: float) -> float:
        """The model's P(touch) made non-increasing in distance on each side of the price: the running
        minimum of the head's answer over a fixed grid from 0 out to |d|, linearly interpolated."""
        side = 1.0 if d >= 0 else -1.0
        reach = min(abs(d), MAX_TOUCH_UNITS)
        grid = np.arange(0.0, MAX_TOUCH_UNITS + TOUCH_GRID_STEP / 2, TOUCH_GRID_STEP)
        grid = grid[: int(np.searchsorted(grid, reach, side="right")) + 1]
        dd = torch.tensor((side * grid)[None, :], dtype=torch.float32)
        p = torch.sigmoid(self.model.touch_logit(e, dd, torch.tensor([tau], dtype=torch.float32)))[0].numpy()
        return float(np.interp(reach, grid, np.minimum.accumulate(p.astype(np.float64))))

    def _monotone_touch(self, e: Any, d: float, tau: float, ratio: float, p_base: float) -> tuple[float, str]:
        """P(touch) and a warning. Levels in another instrument's units or beyond MAX_TOUCH_UNITS get
        the volatility-only answer (capped by the model's value at the edge, so the curve stays
        non-increasing), never the network's extrapolation."""
        if ratio > WRONG_UNITS_RATIO or ratio < 1 / WRONG_UNITS_RATIO:
            return min(p_base, self.touch_curve(e, d, tau)), (
                f"the level is {ratio:.2f}× the price: another instrument's units? volatility-only answer")
        if abs(d) > MAX_TOUCH_UNITS:
            return min(p_base, self.touch_curve(e, d, tau)), (
                f"the level is {abs(d):.1f} volatility units away (more than {MAX_TOUCH_UNITS:.0f}): "
                "volatility-only answer")
        return self.touch_curve(e, d, tau), ""

    def _bar_inputs(self, sb: SessionBars, symbol: str, at_ns: int, open_ns: int, price: float | None,
                    tau: float) -> tuple[Any, ...] | None:
        """Model inputs from the bars that ended by the decision time (past only, as in training)."""
        done = np.flatnonzero(sb.end_ns <= at_ns)
        if len(done) < 2:
            return None
        sig = _realized_sigma(sb)
        i = int(done[-1])
        if not math.isfinite(sig[i]):
            return None
        anchor = float(price) if price is not None else float(sb.bars.close[i])
        sigma = float(sig[i])
        today = sb.open_ns == open_ns
        day_scale = sigma * math.sqrt(SESSION_MINUTES)
        if today[i]:
            first = int(np.flatnonzero(today)[0])
            z_open = math.log(anchor / sb.bars.open[first]) / day_scale
            z_high = math.log(max(sb.bars.high[first:i + 1].max(), anchor) / anchor) / day_scale
            z_low = math.log(min(sb.bars.low[first:i + 1].min(), anchor) / anchor) / day_scale
        else:
            z_open = z_high = z_low = 0.0
        cal = calendar_for(symbol)
        ph = phases(np.array([at_ns - 1]), cal)
        ctx = context_features(np.array([tau]), np.array([max(0.0, (at_ns - open_ns) / MIN_NS)]), sb.interval_minutes,
                               ph, np.array([sigma]), np.array([z_open]), np.array([z_high]), np.array([z_low]),
                               np.ones(1))
        window, n_bars, new_sess = _windows(sb.bars, sb.session, np.array([i]), np.array([anchor]))
        seq = sequence_features(window, n_bars, new_sess, np.array([sigma]), float(sb.interval_minutes))
        return anchor, sigma, ctx, seq, window, n_bars


def blank_image() -> torch.Tensor:
    """The network's image input, now constant: the canonical theme's background, one colour."""
    pic = np.empty((1, HEIGHT, WIDTH, 3), dtype=np.uint8)
    pic[:] = np.asarray(THEMES[0].background, dtype=np.uint8)
    return image_tensor(pic)


def session_extremes_so_far(sb: SessionBars, at_ns: int, open_ns: int) -> tuple[float, float] | None:
    """(high, low) of the session opening at `open_ns`, over its bars that ended by `at_ns`;
    None when none has (a bar still forming may hold prices from after the decision time)."""
    today = (sb.open_ns == open_ns) & (sb.end_ns <= at_ns)
    if not today.any():
        return None
    return float(sb.bars.high[today].max()), float(sb.bars.low[today].min())


def default_checkpoint_exists() -> bool:
    return checkpoints.default_checkpoint().is_file()
