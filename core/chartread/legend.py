"""The legend line(s) at the top of the chart: symbol, interval, exchange, OHLC when printed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.chartread.axis import parse_number
from core.chartread.ocr import Word

EXCHANGES = ("NASDAQ", "NYSE", "ARCA", "AMEX", "BATS", "CBOE", "CME", "CME_MINI", "CBOT", "COMEX", "NYMEX",
             "BINANCE", "COINBASE", "OANDA", "FXCM", "FOREXCOM", "TVC", "SP", "DJ", "ICE", "EUREX", "LSE", "XETR")
_INTERVALS = {
    "1": "1m", "2": "2m", "3": "3m", "5": "5m", "10": "10m", "15": "15m", "30": "30m", "45": "45m", "60": "1h",
    "120": "2h", "240": "4h", "1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "2h": "2h", "4h": "4h",
    "1d": "1D", "d": "1D", "1w": "1W", "w": "1W", "1M": "1M",
}
_NOT_SYMBOLS = {"O", "H", "L", "C", "V", "VOL", "VOLUME", "CHG", "TRADINGVIEW", "OPEN", "HIGH", "LOW", "CLOSE",
                "USD", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.!]{0,9}$")
_OHLC = re.compile(r"\b([OHLC])\s*[:=]?\s*(-?[0-9][0-9.,]*)")


@dataclass(frozen=True)
class Legend:
    symbol: str | None
    symbol_confidence: float
    interval: str | None
    interval_confidence: float
    exchange: str | None
    ohlc: dict[str, float]
    text: str


def parse_legend(words: list[Word], decimal: str = ".") -> Legend:
    """Read the top-left text: TradingView prints 'SPY · 5 · NYSE  O 1 H 2 L 3 C 4'."""
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    ordered = sorted(lines.values(), key=lambda ws: min(w.y0 for w in ws))
    text = "\n".join(" ".join(w.text for w in sorted(ws, key=lambda w: w.x0)) for ws in ordered)
    # each token keeps its word's box: an interval is printed right after the symbol, so a token far
    # along the line (a candle wick in the legend strip read as "1") is not one
    boxed = [(t, w) for ws in ordered for w in sorted(ws, key=lambda w: w.x0)
             for t in re.split(r"[\s·•,|/\-]+", w.text.replace("·", " ")) if t]
    tokens = [t for t, _ in boxed]
    symbol, sym_conf, exchange, interval, int_conf = None, 0.0, None, None, 0.0
    for i, tok in enumerate(tokens):
        w = boxed[i][1]
        prev = boxed[i - 1][1] if i else w
        near = prev is w or (prev.line == w.line and w.x0 - prev.x1 <= 3 * max(w.y1 - w.y0, prev.y1 - prev.y0))
        clean = tok.strip(":()[]")
        up = clean.upper()
        if exchange is None and up in EXCHANGES:
            exchange = up
            continue
        # OCR sometimes lowers a letter of a ticker ("Es1!"): tickers are upper case anyway
        if symbol is None and _SYMBOL.match(up) and up not in _NOT_SYMBOLS and up not in EXCHANGES \
                and not re.fullmatch(r"[OHLC][0-9.,]+", up) and sum(ch.isupper() for ch in clean) >= 1:
            symbol = up
            sym_conf = 0.8 if i == 0 else 0.5
            continue
        if symbol is not None and interval is None and near:
            key = clean if clean in _INTERVALS else clean.lower()
            if key in _INTERVALS:
                interval = _INTERVALS[key]
                int_conf = 0.7
    ohlc: dict[str, float] = {}
    for m in _OHLC.finditer(text):
        v = parse_number(m.group(2), decimal)
        if v is not None and m.group(1) not in ohlc:
            ohlc[m.group(1)] = v
    names = {"O": "open", "H": "high", "L": "low", "C": "close"}
    return Legend(symbol, sym_conf, interval, int_conf, exchange,
                  {names[k]: v for k, v in ohlc.items()} if len(ohlc) == 4 else {}, text)
