"""Screen grabs with mss: the whole virtual screen, one monitor, or a region. Returns PNG bytes.

mss needs a display (X11/Wayland-XWayland on Linux, any desktop on Windows/macOS); without one the
error says so. A grab is blocking (≈ 10–100 ms): call it from a worker thread in async code."""

from __future__ import annotations

import os
import sys
import time

from core.capture.region import Region
from core.errors import InputError, TradeCoachError


class ScreenUnavailable(TradeCoachError):
    """No display to capture from (e.g. a headless server without Xvfb)."""


def _open_mss():  # type: ignore[no-untyped-def]
    import mss

    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise ScreenUnavailable("screen capture: no display (DISPLAY is unset); run under a desktop or Xvfb")
    factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 prefers MSS()
    try:
        return factory()
    except Exception as exc:  # mss raises its own ScreenShotError and OS errors alike
        raise ScreenUnavailable(f"screen capture: cannot open the display: {exc}") from exc


def monitors() -> list[dict[str, int]]:
    """mss's monitor list: [0] is all monitors together, 1..n the single monitors."""
    with _open_mss() as sct:
        return [dict(m) for m in sct.monitors]


def grab_png(*, monitor: int | None = None, region: Region | None = None) -> tuple[bytes, float]:
    """PNG bytes of the region, of monitor `monitor` (1-based), or of all monitors (neither given),
    and the milliseconds the grab took."""
    import mss.tools

    if monitor is not None and region is not None:
        raise InputError("monitor", "give a monitor or a region, not both")
    with _open_mss() as sct:
        mons = sct.monitors
        if region is not None:
            box = region.as_mss()
            full = mons[0]
            if (box["left"] < full["left"] or box["top"] < full["top"]
                    or box["left"] + box["width"] > full["left"] + full["width"]
                    or box["top"] + box["height"] > full["top"] + full["height"]):
                raise InputError("region", f"{box} is outside the screen {dict(full)}")
        elif monitor is not None:
            if not 1 <= monitor < len(mons):
                raise InputError("monitor", f"must be 1..{len(mons) - 1}, got {monitor}")
            box = mons[monitor]
        else:
            box = mons[0]
        t0 = time.perf_counter()
        shot = sct.grab(box)
        grab_ms = (time.perf_counter() - t0) * 1000
    png = mss.tools.to_png(shot.rgb, shot.size)
    if png is None:  # to_png returns bytes when no output path is given
        raise ScreenUnavailable("screen capture: mss produced no PNG data")
    return png, grab_ms
