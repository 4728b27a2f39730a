"""Right axis of the volume plot: 1.2M instead of 1.2e+06."""

from __future__ import annotations

import math

import pyqtgraph as pg


def short_volume(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.0f}"


class VolumeAxis(pg.AxisItem):
    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [short_volume(v * scale) for v in values]
