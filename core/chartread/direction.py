"""Which candle class is up: decided from the bars themselves, not from the colour.

Consecutive bars nearly always open where the previous one closed. For every way of calling
each class (colour, hollow or filled) "up" or "down", add up |close[i] - open[i+1]|; the
assignment with the smallest gap wins. The hue (green up, red down) only breaks near-ties.
"""

from __future__ import annotations

import itertools

import numpy as np

from core.chartread.candles import PixelCandle


def _hue_says_up(rgb: np.ndarray) -> bool | None:
    r, g, _b = (int(v) for v in rgb)
    if g > r + 20:
        return True
    if r > g + 20:
        return False
    return None


def assign_direction(candles: list[PixelCandle], colours: list[np.ndarray]) -> tuple[dict[tuple[int, bool], bool],
                                                                                     float, str]:
    """Map (colour index, hollow) → up, a margin (0..1, how clearly it won) and how it was decided."""
    keys = sorted({(c.cls, c.hollow) for c in candles})
    if not keys:
        return {}, 0.0, "none"
    tops = np.array([c.body_top for c in candles])
    bots = np.array([c.body_bottom for c in candles])
    idx = np.array([keys.index((c.cls, c.hollow)) for c in candles])
    bodies = bots - tops
    costs: list[tuple[float, tuple[bool, ...]]] = []
    for combo in itertools.product((True, False), repeat=len(keys)):
        if len(keys) > 1 and len(set(combo)) == 1:
            continue          # two or more kinds of candle that all mean the same direction: unlikely
        up = np.array(combo)[idx]
        # y grows downwards: an up candle opens at the body bottom and closes at the top
        open_y = np.where(up, bots, tops)
        close_y = np.where(up, tops, bots)
        gaps = np.abs(close_y[:-1] - open_y[1:])
        costs.append((float(np.median(gaps) + gaps.mean()), combo))
    costs.sort()
    best_cost, best = costs[0]
    # the margin is against the best rival that flips a kind of candle that matters (at least 10%
    # of the candles with a visible body): flipping a handful of dojis decides nothing
    counts = np.bincount(idx[bodies >= 3], minlength=len(keys))
    major = counts >= 0.1 * max(1, counts.sum())
    rivals = [c for c, combo in costs[1:] if any(a != b and m for a, b, m in zip(combo, best, major, strict=True))]
    margin = 1.0 if not rivals else 1.0 - best_cost / max(rivals[0], 1e-9)
    how = "bar continuity"
    if margin < 0.15 and float(np.median(bodies)) > 0:
        # near-tie: let the hue decide when it is a clear green/red pair
        hue = [_hue_says_up(colours[k[0]]) if k[0] < len(colours) else None for k in keys]
        if all(h is not None for h in hue) and (len(keys) == 1 or len(set(hue)) > 1):
            for _, combo in costs:
                if list(combo) == hue:
                    best = combo
                    how = "colour (green up, red down): bar continuity was ambiguous"
                    break
    return dict(zip(keys, best, strict=True)), margin, how
