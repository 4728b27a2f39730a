"""The forecast a prediction returns, and how it is stored — torch-free, so the app's process can
receive forecasts from the inference worker and store them without importing torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

NO_SKILL = "no better than volatility alone"
# "session": high/low are the whole session's (what already traded today counts);
# "rest_of_session": no session bars were known, so they cover only from now to the close.
ExtremesScope = Literal["session", "rest_of_session"]


@dataclass(frozen=True)
class Forecast:
    symbol: str
    anchor_price: float
    price_source: str            # "given", "feed", "bars"
    anchor_time: datetime        # UTC
    horizon_end: datetime        # UTC: the session close the forecast is for
    minutes_to_close: float
    close: float                 # median estimate of the session close
    close_range: tuple[float, float]   # 80% interval of the close
    high: float                  # median session high (see extremes_scope)
    high_range: tuple[float, float]    # 80% interval of the session high
    low: float
    low_range: tuple[float, float]
    level: float | None
    p_touch: float | None        # P(price touches `level` before the close)
    p_touch_volatility_only: float | None  # the reflection-principle baseline for the same level
    annual_volatility: float
    volatility_source: str       # "recent bars", "symbol history", "default 20%"
    used_bars: bool
    model_version: str
    skill: dict[str, Any]
    skill_text: str
    note: str
    latency_ms: float
    extremes_scope: ExtremesScope = "rest_of_session"
    high_so_far: float | None = None   # the session's high/low up to the decision time, when known
    low_so_far: float | None = None
    path: str = "feed"                 # screenshot, feed, both, price only: where the inputs came from

    def extremes_labels(self) -> tuple[str, str]:
        """How to name high/low for the trader: the session's, or only from now to the close."""
        if self.extremes_scope == "session":
            return "Session high", "Session low"
        return "High from now to the close", "Low from now to the close"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["anchor_time"] = self.anchor_time.isoformat()
        d["horizon_end"] = self.horizon_end.isoformat()
        return d


def skill_text(skill: dict[str, Any] | None) -> str:
    """One honest sentence about how good the model measured, for the UI and the CLI."""
    if not skill:
        return "not evaluated: " + NO_SKILL + " until measured"
    v = skill.get("verdict", {})
    lo, hi = skill.get("brier_skill_ci95", [float("nan")] * 2)
    touch = v.get("touch", NO_SKILL)
    touch = NO_SKILL if touch != "better than volatility alone" else touch
    return (f"touch probability: {touch} (Brier skill {skill.get('brier_skill', float('nan')):+.3f}, "
            f"95% CI {lo:+.3f}…{hi:+.3f}, {skill.get('data', '')}); close: {v.get('close', 'unknown')}; "
            f"direction: {v.get('direction', 'unknown')}")



def record(forecast: Forecast, repo: Any, image_path: str | None = None, interval_minutes: int | None = None) -> Any:
    """Store the forecast in `predictions` with what is needed to resolve it after the close.
    predicted_high/low hold the median session high/low; the learning score is the model's
    measured Brier skill (None when never evaluated). No confidence is invented."""
    return repo.add(symbol=forecast.symbol, model_predicted_price=forecast.close, anchor_price=forecast.anchor_price,
                    anchor_time=forecast.anchor_time, horizon_end=forecast.horizon_end,
                    model_version=forecast.model_version[:64], user_expected_price=forecast.level,
                    probability_hit=forecast.p_touch, learning_score=forecast.skill.get("brier_skill"),
                    predicted_high=forecast.high, predicted_low=forecast.low, interval_minutes=interval_minutes,
                    image_path=image_path)
