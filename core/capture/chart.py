"""The kernel's own chart as an image, Qt-free: the predictor's canonical renderer
(models/render.py) over the bars the feed had at that moment. Theme-stable by construction (one
fixed look), so the same bars always give the same pixels, which is what a training input needs."""

from __future__ import annotations

import io
import time
from typing import Protocol

import numpy as np

from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import Interval

CHART_BARS = 64  # bars drawn, as models.dataset.WINDOW


def chart_png(bars: Bars, *, bars_shown: int = CHART_BARS, scale: int = 1) -> tuple[bytes, float]:
    """PNG of the last `bars_shown` bars in the canonical look and the milliseconds it took.
    `scale` > 1 enlarges by pixel repetition (same pixels, easier to look at)."""
    from PIL import Image

    from models.render import Look, render

    if not len(bars):
        raise InputError("bars", "no bars to draw")
    if not 1 <= scale <= 16:
        raise InputError("scale", "must be 1..16")
    b = bars.tail(bars_shown)
    t0 = time.perf_counter()
    img = render(b.open, b.high, b.low, b.close, b.volume, Look())
    if scale > 1:
        img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue(), (time.perf_counter() - t0) * 1000


class BarsSource(Protocol):
    """What the capture and the collector read bars from: the kernel's FeedManager, a Feed (the
    replay feed) or anything with the same `history` call."""

    async def history(self, symbol: str, interval: Interval, *, start_ns: int | None = None,
                      end_ns: int | None = None, limit: int | None = None) -> Bars: ...
