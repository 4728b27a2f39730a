"""Colour palettes for the widgets: one dark and one light theme.

Colours are '#rrggbb' strings so a theme can be written to settings and compared in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QPalette


@dataclass(frozen=True, slots=True)
class Theme:
    """Every colour a chart needs; widgets read these and never hard-code colours."""

    name: str
    background: str
    text: str
    axis: str
    grid_alpha: float       # 0..1, grid lines are the axis colour at this opacity
    up: str                 # candle body/wick when close >= open
    down: str
    volume_up: str
    volume_down: str
    crosshair: str
    last_price: str
    last_price_text: str
    risk: str               # plan band entry -> stop
    reward: str             # plan band entry -> targets
    entry: str
    level: str
    band_alpha: int         # 0..255, fill opacity of risk/reward bands and zones


DARK = Theme(
    name="dark",
    background="#131722",
    text="#d1d4dc",
    axis="#787b86",
    grid_alpha=0.15,
    up="#26a69a",
    down="#ef5350",
    volume_up="#1f6f68",
    volume_down="#8c3a3a",
    crosshair="#9598a1",
    last_price="#f0b90b",
    last_price_text="#131722",
    risk="#ef5350",
    reward="#26a69a",
    entry="#2962ff",
    level="#b39ddb",
    band_alpha=40,
)

LIGHT = Theme(
    name="light",
    background="#ffffff",
    text="#131722",
    axis="#5d606b",
    grid_alpha=0.12,
    up="#089981",
    down="#f23645",
    volume_up="#7fccc0",
    volume_down="#f79aa2",
    crosshair="#6a6d78",
    last_price="#ff9800",
    last_price_text="#ffffff",
    risk="#f23645",
    reward="#089981",
    entry="#2962ff",
    level="#7e57c2",
    band_alpha=35,
)

THEMES: dict[str, Theme] = {DARK.name: DARK, LIGHT.name: LIGHT}


def change_color(theme: Theme, change: float | None) -> str | None:
    """Green up, red down (the theme's candle colours); None when flat or unknown."""
    if change is None or change == 0:
        return None
    return theme.up if change > 0 else theme.down


def app_palette(theme: Theme) -> QPalette:
    """The window palette for a theme, so panels and dialogs match the chart."""
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    bg = QColor(theme.background)
    text = QColor(theme.text)
    base = bg.lighter(115) if theme.name == "dark" else bg
    for role, color in ((QPalette.ColorRole.Window, bg), (QPalette.ColorRole.WindowText, text),
                        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, bg),
                        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, base),
                        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, base),
                        (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, QColor(theme.entry)),
                        (QPalette.ColorRole.HighlightedText, QColor("#ffffff"))):
        pal.setColor(role, color)
    return pal
