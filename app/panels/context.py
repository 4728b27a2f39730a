"""Context controller: multi-interval trend stacks, the volatility regime (ATM IV, IV rank and
percentile, HV), the expected move and key levels of the chart's symbol."""

from __future__ import annotations

from app.panels.formatting import context_markdown
from app.panels.host import PanelHost
from core.errors import TradeCoachError
from widgets.panels.text_panel import MarkdownPanel

INTERVALS = ["5m", "15m", "1h"]


class ContextController:
    def __init__(self, host: PanelHost, panel: MarkdownPanel) -> None:
        self._host, self._panel = host, panel
        self.symbol: str | None = None
        self.loaded = 0
        panel.refresh_requested.connect(lambda: self.show(self.symbol) if self.symbol else None)

    def show(self, symbol: str) -> None:
        self.symbol = symbol
        self._host._spawn(self._load(symbol), "context")

    async def _load(self, symbol: str) -> None:
        heading = f"Context · {symbol} · {' / '.join(INTERVALS)}"
        try:
            mc = await self._host.call(self._host.kernel.context.multi_context(symbol, INTERVALS))
        except TradeCoachError as exc:
            if symbol == self.symbol:
                self._panel.show_error(heading, str(exc))
            return
        if symbol == self.symbol:
            self.loaded += 1
            self._panel.show_markdown(heading, context_markdown(mc))
