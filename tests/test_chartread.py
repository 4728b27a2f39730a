"""core.chartread on renders of real bars with known truth (tests/data/chartread, made by
bench/bench_chartread.py --fixtures), refusals, axis parsing, the CLI; one fresh Chromium render."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.chartread import CANDLESTICK, REFUSED, read_chart
from core.chartread.axis import fit_axis, parse_number
from core.chartread.cli import main as cli_main
from core.chartread.ocr import Word
from core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "chartread"
JSON_KEYS = {"kind", "reason", "software", "symbol", "interval", "price_axis", "last_price", "bars", "confidence",
             "warnings"}


def _truth(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _score(png: bytes | Path | Image.Image, truth: dict) -> tuple[float, float, float, list]:
    """(share of visible true candles found, median and p95 |OHLC error| as % of price, bars)."""
    reading = read_chart(png)
    assert reading.kind == CANDLESTICK, reading.reason
    bx = np.array([b.x for b in reading.bars])
    xs = [x for x in truth["x"] if x is not None]
    spacing = float(np.median(np.diff(xs)))
    found, errs, pairs = 0, [], []
    for x, t in zip(truth["x"], truth["bars"], strict=True):
        if x is None:
            continue
        j = int(np.argmin(np.abs(bx - x)))
        if abs(bx[j] - x) > spacing / 2:
            continue
        found += 1
        b = reading.bars[j]
        pairs.append((b, t))
        errs += [abs(getattr(b, k) - t[k]) / t["close"] * 100 for k in ("open", "high", "low", "close")]
    return found / len(xs), float(np.median(errs)), float(np.percentile(errs, 95)), pairs


# -- accuracy on real bars ------------------------------------------------------------------------
@pytest.mark.parametrize("name, min_found", [
    ("lwc_dark_spy5m_60", 0.98),
    ("lwc_light_es5m_150", 0.98),
    ("lwc_dark_comma_spy1h_60", 0.98),
    ("app_dark_spy1h_60", 0.93),   # the app draws its last-price tag over the last candles
])
def test_fixture_candles_and_ohlc(name: str, min_found: float) -> None:
    found, med, p95, pairs = _score(FIXTURES / f"{name}.png", _truth(name))
    assert found >= min_found
    assert med <= 0.05
    assert p95 <= 0.2
    # up/down read right wherever the body is visible (≥ 0.05% of price)
    for b, t in pairs:
        if abs(t["close"] - t["open"]) > 0.0005 * t["close"]:
            assert (b.close - b.open) * (t["close"] - t["open"]) > 0


# -- held-out styles that failed before issue 14's fixes (bench/chartread_heldout.py --fixtures) ---
@pytest.mark.parametrize("name", ["mpf_binancedark_spy5m_60", "mpf_ibd_spy5m_60"])
def test_matplotlib_frame_grid_and_volume_pane(name: str) -> None:
    """mplfinance's dark and ibd themes: frame and grid lines cross the candidate axis strips (the
    axis was taken from them, then refused), the volume pane has its own axis (the fit landed on it)
    and touching volume bars of two colours leave 1-px edges (read as extra candles)."""
    truth = _truth(name)
    found, med, p95, _pairs = _score(FIXTURES / f"{name}.png", truth)
    assert found >= 0.98
    assert med <= 0.05 and p95 <= 0.2
    reading = read_chart(FIXTURES / f"{name}.png")
    shown = sum(x is not None for x in truth["x"])
    assert len(reading.bars) == shown                       # no extra objects read as candles
    closes = [t["close"] for t in truth["bars"]]
    assert min(closes) * 0.995 <= reading.last_price <= max(closes) * 1.005   # the price pane's axis


@pytest.mark.parametrize("name", ["mpf_binancedark_spy5m_60", "mpf_ibd_spy5m_60"])
def test_slanted_time_labels_give_interval_and_bar_times(name: str) -> None:
    """matplotlib turns its time labels 45° ("Jun 30, 15:35"): read level after turning them back."""
    import pandas as pd

    truth = _truth(name)
    r = read_chart(FIXTURES / f"{name}.png")
    assert r.interval is not None and r.interval["value"] == "5m"
    shown = pd.to_datetime([b["time"] for b in truth["bars"]], unit="s", utc=True).tz_convert("America/New_York")
    right = sum(b.time == t.strftime("%H:%M") for b, t in zip(r.bars, shown, strict=False))
    assert right >= 0.85 * len(truth["bars"])


def test_app_interval_not_taken_from_a_wick_in_the_legend_strip() -> None:
    r = read_chart(FIXTURES / "app_dark_spy5m_60.png")
    assert r.kind == CANDLESTICK
    assert r.interval is not None and r.interval["value"] == "5m"


def test_legend_interval_must_follow_the_symbol() -> None:
    from core.chartread.legend import parse_legend

    near = parse_legend([Word("SPY", 10, 5, 40, 17, 90.0, 1), Word("5", 48, 5, 55, 17, 90.0, 1)])
    assert near.symbol == "SPY" and near.interval == "5m"
    far = parse_legend([Word("SPY", 10, 5, 40, 17, 90.0, 1), Word("1", 200, 5, 203, 17, 60.0, 1)])
    assert far.symbol == "SPY" and far.interval is None


def test_reading_fields_and_json_shape() -> None:
    r = read_chart(FIXTURES / "lwc_light_es5m_150.png")
    d = r.to_dict()
    assert set(d) == JSON_KEYS
    assert d["kind"] == "candlestick" and d["reason"] is None
    axis = d["price_axis"]
    assert axis["scale"] == "linear" and len(axis["labels"]) >= 5 and axis["fit_residual_pct"] < 0.02
    ys = [lb["y"] for lb in axis["labels"]]
    assert ys == sorted(ys)
    assert {"x", "open", "high", "low", "close", "time"} == set(d["bars"][0])
    truth = _truth("lwc_light_es5m_150")["bars"]
    assert d["last_price"] == pytest.approx(truth[-1]["close"], abs=0.01)   # read from the last-price tag
    assert d["interval"]["value"] == "5m"                 # the legend's "5" and the time labels agree
    assert d["interval"]["source"] == "legend and time axis"
    assert d["symbol"] == {"value": "ES1!", "confidence": pytest.approx(0.8), "exchange": "CME"}
    last = d["bars"][-1]                                   # the legend prints the newest bar exactly
    assert [last[k] for k in ("open", "high", "low", "close")] == [truth[-1][k] for k in ("open", "high", "low",
                                                                                        "close")]
    assert 0.5 <= d["confidence"] <= 1.0
    assert any("volume" in w for w in d["warnings"])
    json.dumps(d)


def test_decimal_comma_labels() -> None:
    r = read_chart(FIXTURES / "lwc_dark_comma_spy1h_60.png")
    values = [v for _, v in r.labels]
    assert len(values) >= 5 and all(abs(v - round(v)) < 1e-9 for v in values)   # "142,00" → 142.0
    truth = _truth("lwc_dark_comma_spy1h_60")["bars"]
    assert r.last_price == pytest.approx(truth[-1]["close"], abs=0.01)


def test_colours_are_detected_not_assumed() -> None:
    """Swap red and green: down candles become green, up candles magenta; directions still right."""
    img = np.asarray(Image.open(FIXTURES / "lwc_dark_spy5m_60.png").convert("RGB"))[:, :, [1, 0, 2]]
    found, med, _, pairs = _score(Image.fromarray(np.ascontiguousarray(img)), _truth("lwc_dark_spy5m_60"))
    assert found >= 0.98 and med <= 0.05
    moving = [(b, t) for b, t in pairs if abs(t["close"] - t["open"]) > 0.0005 * t["close"]]
    assert moving and all((b.close - b.open) * (t["close"] - t["open"]) > 0 for b, t in moving)


# -- refusals and bad input -----------------------------------------------------------------------
def test_blank_image_refused() -> None:
    r = read_chart(Image.new("RGB", (800, 500), (19, 23, 34)))
    assert r.kind == REFUSED and "blank" in r.reason
    assert r.to_dict()["bars"] == []


def test_noise_photo_refused() -> None:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, size=(480, 800, 3), dtype=np.uint8)
    r = read_chart(Image.fromarray(noise))
    assert r.kind == REFUSED and r.reason


def _line_chart() -> Image.Image:
    """A line chart of real closes with a labelled price axis, drawn with PIL."""
    closes = np.array([b["close"] for b in _truth("lwc_light_es5m_150")["bars"]])
    w, h, axis_x = 900, 520, 830
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    lo, hi = closes.min() - 2, closes.max() + 2
    def y_of(p: float) -> float:
        return 20 + (hi - p) / (hi - lo) * (h - 60)
    for p in np.arange(np.ceil(lo / 5) * 5, hi, 5):
        d.line([(0, y_of(p)), (axis_x, y_of(p))], fill=(225, 228, 235))
        d.text((axis_x + 8, y_of(p) - 6), f"{p:.2f}", fill=(30, 30, 30))
    pts = [(10 + i * (axis_x - 20) / (len(closes) - 1), y_of(c)) for i, c in enumerate(closes)]
    d.line(pts, fill=(41, 98, 255), width=2)
    return img


def test_line_chart_refused() -> None:
    r = read_chart(_line_chart())
    assert r.kind == REFUSED and "candles" in r.reason


def test_unreadable_input_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        read_chart(b"definitely not a png")
    assert e.value.field == "image"
    with pytest.raises(InputError):
        read_chart(tmp_path / "missing.png")
    with pytest.raises(InputError):
        read_chart(Image.new("RGB", (40, 40)))


# -- axis parsing and fitting ---------------------------------------------------------------------
def test_parse_number_conventions() -> None:
    assert parse_number("5,385.25", ".") == 5385.25
    assert parse_number("5.385,25", ",") == 5385.25
    assert parse_number("142,00", ",") == 142.0
    assert parse_number("142,00", ".") is None        # a decimal comma is not a thousands separator
    assert parse_number("12,34,5", ".") is None
    assert parse_number("283.03", ".") == 283.03


def _words(pairs: list[tuple[float, str]]) -> list[Word]:
    return [Word(t, 0, y - 5, 40, y + 5, 90.0, i) for i, (y, t) in enumerate(pairs)]


def test_fit_rejects_stray_tokens_and_picks_log() -> None:
    lin = fit_axis(_words([(20, "5,400.00"), (120, "5,380.00"), (220, "5,360.00"), (320, "5,340.00"),
                           (300, "6"), (170, "5,371.25")]))
    assert lin is not None and lin.scale == "linear" and len(lin.labels) == 4
    assert {lb.text for lb in lin.rejected} == {"6", "5,371.25"}
    assert lin.price(170) == pytest.approx(5370.0)
    # a log axis: equal pixel steps per doubling
    log_words = _words([(50 + 60 * i, f"{v:g}") for i, v in enumerate([800, 400, 200, 100, 50, 25])])
    fit = fit_axis(log_words)
    assert fit is not None and fit.scale == "log" and fit.residual_pct < 1e-6
    assert fit.price(80) == pytest.approx(800 / 2 ** 0.5, rel=1e-6)


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_json_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([str(FIXTURES / "lwc_dark_spy5m_60.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == JSON_KEYS and out["kind"] == "candlestick" and len(out["bars"]) >= 59
    blank = tmp_path / "blank.png"
    Image.new("RGB", (600, 400), "white").save(blank)
    assert cli_main([str(blank), "--json"]) == 2
    cap = capsys.readouterr()
    refused = json.loads(cap.out)
    assert set(refused) == JSON_KEYS and refused["kind"] == REFUSED and "blank" in refused["reason"]
    assert "image" in cap.err
    assert cli_main([str(tmp_path / "nope.png")]) == 2
    assert "image:" in capsys.readouterr().err


def test_app_forwards_read_chart() -> None:
    buf = io.StringIO()
    proc = subprocess.run([sys.executable, "-m", "app", "read-chart", str(FIXTURES / "app_dark_spy1h_60.png")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    buf.write(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert "candles" in buf.getvalue() and "linear price axis" in buf.getvalue()


# -- a fresh lightweight-charts render in headless Chromium --------------------------------------
@pytest.mark.slow
def test_fresh_lightweight_charts_render() -> None:
    """Debian's chromium + chromium-driver (installed by .ci/setup) render the vendored library."""
    sys.path.insert(0, str(ROOT))
    from bench.chartread_render import LwcRenderer, load_truth

    env = os.environ.get("TRADECOACH_SHARED_DATA")
    data = Path(env) if env else ROOT.parent / "shared" / "data"
    truth = load_truth(data / "intraday" / "ES1_continuous_5min_2024-12_to_2025-12_tradingview.parquet",
                       "ES", "5m", 20_000, 100)
    with LwcRenderer() as lwc:
        png, xs = lwc.render(truth, theme="light", width=900, height=540)
    doc = truth.to_json() | {"x": [float(x) for x in xs]}
    found, med, p95, _ = _score(png, doc)
    assert found >= 0.98 and med <= 0.05 and p95 <= 0.2


def test_interval_survives_one_misread_time_label() -> None:
    """11:35 read as 12:35: the pair it spoils does not outweigh a clean one (the median of the two
    per-pair estimates, 7.8 minutes, gave 10m)."""
    from core.chartread.timeaxis import read_time_axis

    labels = [("15:35", 103), ("Jul", 225.5), ("09:55", 226), ("10:45", 349), ("12:35", 472)]
    words = [Word(t, x - 1, 0, x + 1, 1, 90.0, 0) for t, x in labels]
    axis = read_time_axis(words, 103 + 12.3 * np.arange(60), 12.3)
    assert axis.interval == "5m"
    assert axis.bar_times[11] == "10:00"
