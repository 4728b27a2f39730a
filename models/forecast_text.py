"""The forecast as a trader reads it — one wording for the CLI, the Predictor panel and the API."""

from __future__ import annotations

import html
from typing import Any
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")


def forecast_lines(f: Any, prediction_id: int | None = None) -> list[str]:
    """Plain lines: anchor and horizon, close/high/low with their 80% ranges, touch probability
    next to the volatility-only baseline, the model's measured skill, notes."""
    hi_name, lo_name = f.extremes_labels()
    lines = [
        f"{f.symbol} at {f.anchor_time.astimezone(NY):%Y-%m-%d %H:%M} ET · price {f.anchor_price:.2f} "
        f"({f.price_source}) · close {f.horizon_end.astimezone(NY):%H:%M} ET ({f.minutes_to_close:.0f} min)",
        f"Close estimate {f.close:.2f} (80%: {f.close_range[0]:.2f} – {f.close_range[1]:.2f})",
        f"{hi_name} {f.high:.2f} (80%: {f.high_range[0]:.2f} – {f.high_range[1]:.2f})",
        f"{lo_name} {f.low:.2f} (80%: {f.low_range[0]:.2f} – {f.low_range[1]:.2f})",
    ]
    if f.extremes_scope == "session" and f.high_so_far is not None and f.low_so_far is not None:
        lines.append(f"Traded so far today: high {f.high_so_far:.2f}, low {f.low_so_far:.2f}")
    if f.level is not None and f.p_touch is not None:
        base = (f" · volatility alone {f.p_touch_volatility_only:.0%}"
                if f.p_touch_volatility_only is not None else "")
        lines.append(f"P(touch {f.level:.2f} before the close) {f.p_touch:.0%}{base}")
    lines.append(f"Volatility {f.annual_volatility:.1%} a year ({f.volatility_source})")
    lines.append(f"Model {f.model_version}: {f.skill_text}")
    if f.note:
        lines.append(f"Note: {f.note}")
    if prediction_id is not None:
        lines.append(f"Saved as prediction #{prediction_id}.")
    return lines


def forecast_html(f: Any, prediction_id: int | None, symbol_in_view: str | None = None) -> str:
    """The same lines for a rich-text label; warns when the forecast is not for the chart's symbol."""
    rows = [html.escape(line) for line in forecast_lines(f, prediction_id)]
    rows[1] = f"<b>{rows[1]}</b>"
    for i in range(4, len(rows)):
        rows[i] = f"<small>{rows[i]}</small>" if not rows[i].startswith("P(touch") else f"<b>{rows[i]}</b>"
    if symbol_in_view is not None and f.symbol != symbol_in_view:
        warn = html.escape(f"Predicted for {f.symbol}, not the chart's {symbol_in_view}.")
        rows.insert(0, f"<span style='color:#ffb74d'>{warn}</span>")
    return "<br>".join(rows)
