"""Forecasts from what the screenshot shows: read volatility, the path named with its skill (or
"not measured"), P(touch) non-increasing in distance on both sides, far levels and wrong units."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.predict_cli import main as main_predict
from core.chartread import ChartReading, ReadBar
from core.market.bars import Bars
from core.services.predictor import PredictionResult
from models.reading_inputs import candles_match_feed, read_volatility

FIXTURES = Path(__file__).resolve().parent / "data" / "chartread"
AT = datetime(2019, 5, 9, 15, 0, tzinfo=UTC)  # 11:00 ET, 300 minutes to the close


def _candles(closes: np.ndarray, times: list[str | None] | None = None) -> list[ReadBar]:
    times = times or [None] * len(closes)
    pairs = enumerate(zip(closes, times, strict=True))
    return [ReadBar(float(i), c, c * 1.001, c * 0.999, c, t) for i, (c, t) in pairs]


def test_read_volatility_recovers_the_sigma_of_the_candles_per_minute() -> None:
    rng = np.random.default_rng(5)
    sigma_5m = 0.002
    closes = 100 * np.exp(np.cumsum(rng.normal(0, sigma_5m, 400)))
    vol = read_volatility(_candles(closes), 5)
    assert vol is not None and vol.returns == 40 and vol.interval_minutes == 5
    assert vol.sigma * np.sqrt(5) == pytest.approx(sigma_5m, rel=0.35)
    unknown = read_volatility(_candles(closes), None)
    assert unknown is not None and "assumed" in unknown.source
    assert read_volatility(_candles(closes[:4]), 5) is None       # too few candles to say


def test_read_candles_match_the_feed_only_when_prices_and_times_agree() -> None:
    closes = np.array([100.0, 100.5, 100.2, 100.9, 101.1, 101.0])
    ts = np.arange(6, dtype=np.int64) * 300_000_000_000 + 1_557_408_600_000_000_000
    feed = Bars(ts, closes, closes * 1.001, closes * 0.999, closes, np.ones(6))
    assert candles_match_feed(_candles(closes), feed)
    assert not candles_match_feed(_candles(closes * 1.01), feed)            # another day's prices
    times = ["09:30", "09:35", "09:40", "09:45", "09:50", "09:55"]
    assert candles_match_feed(_candles(closes, times), feed, times)
    assert not candles_match_feed(_candles(closes, times), feed, ["10:00"])


@pytest.fixture(scope="module")
def predictor():
    from models.inference import LocalPredictor

    return LocalPredictor.load()


def _shot() -> Path:
    return FIXTURES / "lwc_dark_spy5m_60.png"


def test_touch_probability_is_non_increasing_in_distance_on_both_sides(predictor) -> None:
    price, sigma = 169.53, 0.0006
    scale = sigma * np.sqrt(300)
    up = [price * np.exp(k * scale) for k in np.linspace(0.01, 6, 60)]
    down = [price * np.exp(-k * scale) for k in np.linspace(0.01, 6, 60)]
    for side in (up, down):
        p = [predictor.predict(_shot(), "SPY", price=price, level=lv, at=AT, sigma=sigma, path="screenshot").p_touch
             for lv in side]
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(p)), p
        assert p[0] > 0.5 and p[-1] < 0.01


@pytest.mark.parametrize("level", [80.0, 1000.0, 21050.0])
def test_levels_in_other_units_get_a_warning_and_the_volatility_answer(predictor, level: float) -> None:
    f = predictor.predict(_shot(), "SPY", price=169.53, level=level, at=AT, sigma=0.0006, path="screenshot")
    assert f.p_touch is not None and f.p_touch <= f.p_touch_volatility_only + 1e-12 and f.p_touch < 0.01
    assert "units" in f.note and "volatility-only" in f.note


def test_a_far_level_in_the_right_units_gets_a_warning(predictor) -> None:
    price, sigma = 169.53, 0.0006
    level = price * np.exp(5 * sigma * np.sqrt(300))   # 5 volatility units up, 1.4% away
    f = predictor.predict(_shot(), "SPY", price=price, level=level, at=AT, sigma=sigma, path="screenshot")
    assert "volatility units away" in f.note and f.p_touch <= f.p_touch_volatility_only + 1e-12


def test_futures_screenshot_before_the_cash_open_is_for_the_cash_close(predictor) -> None:
    at = datetime(2025, 5, 1, 13, 0, tzinfo=UTC)   # 09:00 ET, MNQ trading overnight
    f = predictor.predict(_shot(), "MNQ1!", price=20000.0, at=at, sigma=0.0006, path="screenshot")
    assert f.anchor_time == at and f.minutes_to_close == 420
    assert f.horizon_end == datetime(2025, 5, 1, 20, 0, tzinfo=UTC) and "16:00 ET cash close" in f.note
    # Not "always long": the close estimate carries no drift (the network's had no skill).
    assert f.close == pytest.approx(f.anchor_price) and f.close_range[0] < f.close < f.close_range[1]


@pytest.mark.slow
def test_predict_a_third_party_screenshot_with_no_feed_for_its_symbol(isolated_dirs: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A lightweight-charts screenshot of ES, predicted as MNQ1! (not in the replay): no keys, no
    feed bars, no typed price — symbol from the command line, price and volatility off the image."""
    rc = main_predict([str(FIXTURES / "lwc_light_es5m_150.png"), "--symbol", "MNQ1!", "--expected", "5400",
                       "--time", "2025-05-01T09:00:00-04:00", "--no-store", "--json"])
    assert rc == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    truth = json.loads((FIXTURES / "lwc_light_es5m_150.json").read_text())["bars"][-1]["close"]
    assert out["path"] == "screenshot" and out["symbol"] == "MNQ1!"
    assert out["anchor_price"] == pytest.approx(truth, rel=0.002)
    assert out["volatility_source"].startswith("screenshot candles")
    # The skill quoted is the screenshot path's own (measured on a held-out chart style), not the feed's.
    assert out["skill_text"].startswith("screenshot path: ") and "screenshots in 6 chart styles" in out["skill_text"]
    assert out["reading"]["kind"] == "candlestick"
    assert len(out["reading"]["bars"]) >= 100 and "the feed has no bars for MNQ1!" in out["inputs"]
    assert 0 < out["p_touch"] < 1


@pytest.mark.slow
def test_a_blank_image_with_no_feed_and_no_price_is_refused(tmp_path: Path, isolated_dirs: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (1200, 800), (19, 23, 34)).save(blank)
    assert main_predict([str(blank), "--symbol", "MNQ1!", "--no-store"]) == 2
    err = capsys.readouterr().err
    assert "image" in err and "no candlestick chart seen" in err
    # With a typed price: the price-only path, its skill "not measured", the volatility an assumption.
    assert main_predict([str(blank), "--symbol", "MNQ1!", "--price", "20000", "--no-store", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == "price only" and out["skill_text"] == "price only path: skill not measured"
    assert "volatility unknown" in out["note"] and "no chart read" in out["inputs"]


@pytest.mark.slow
def test_image_ablation_is_compared_pairwise_with_the_real_images() -> None:
    from core.errors import InputError
    from models.evaluate import evaluate_samples, load_model, predict_samples
    from tests.test_models_helpers import small_samples, tiny_checkpoint

    s = small_samples()
    model, _ = load_model(tiny_checkpoint())
    r = evaluate_samples(model, s, n_boot=200, ablate="shuffle")
    _, p_real = predict_samples(model, s)
    _, p_shuf = predict_samples(model, s, ablate="shuffle")
    a = r["ablation"]
    assert a["images"] == "shuffle" and a["mean_abs_change_p_touch"] == pytest.approx(np.abs(p_shuf - p_real).mean())
    assert a["brier_change_ci95"][0] <= a["brier_change"] <= a["brier_change_ci95"][1]
    assert 0.0 <= r["direction"]["predicted_up_share"] <= 1.0     # the close drift vs always long
    with pytest.raises(InputError, match="ablate"):
        predict_samples(model, s, ablate="rotate")


@pytest.mark.slow
async def test_a_chart_of_the_feeds_own_candles_takes_the_both_path(isolated_dirs: Path) -> None:
    """The replay feed's newest SPY 5-minute candles drawn by mplfinance: the read candles match the
    feed's, so the feed's bars and price are used and the path says "both"; the same picture for a
    symbol the feed lacks is the screenshot path."""
    from datetime import date

    from core.config import load_settings
    from core.services.predictor import PredictRequest
    from core.workstation import Workstation
    from models.eval_screenshot import render_mplfinance_png

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        b = await k.market.bars("SPY", "5m", limit=60)
        png = render_mplfinance_png(b.open, b.high, b.low, b.close, b.ts, "SPY")
        res = await k.predictor.predict(PredictRequest(png, "SPY", store=False))
        assert res.path == "both" and "match" in res.inputs, res.inputs
        assert res.forecast.price_source.startswith("feed") and res.forecast.used_bars
        other = await k.predictor.predict(PredictRequest(png, "MNQ1!", store=False, reading=res_reading(res)))
        assert other.path == "screenshot" and other.forecast.volatility_source.startswith("screenshot candles")
        # A screenshot of another day (SPY 2018, legend not read) dropped while the chart shows SPY
        # in 2026: the chart's symbol is only the fallback, and with no typed price the forecast
        # anchors at the price the screenshot shows, not at the feed's.
        old = (Path(__file__).resolve().parent / "data" / "chartread" / "lwc_dark_spy5m_60.png").read_bytes()
        feed_price = float(b.close[-1])
        res = await k.predictor.predict(PredictRequest(old, "", chart_symbol="SPY", store=False))
        read_last = float(res.reading["last_price"])
        assert res.forecast.symbol == "SPY" and res.path == "screenshot", res.inputs
        assert res.forecast.anchor_price == pytest.approx(read_last)
        assert abs(read_last / feed_price - 1) > 0.2             # a different price level altogether
    finally:
        await k.stop()


def res_reading(res: PredictionResult) -> ChartReading:
    """The ChartReading behind a result's `reading` dict (to predict the same picture again)."""
    d: dict[str, Any] = dict(res.reading or {})
    return ChartReading(kind=d["kind"], symbol=d["symbol"], interval=d["interval"], last_price=d["last_price"],
                        bars=tuple(ReadBar(**bar) for bar in d["bars"]), confidence=d["confidence"])


def test_screenshot_evaluation_summary_pairs_arms_and_splits_styles() -> None:
    """The per-decision records of models.eval_screenshot summed per style and over the held-out
    styles; a refused render counts as candles not found and has no forecast."""
    from models.eval_screenshot import ARMS, STYLES, path_skill, summarize

    rng = np.random.default_rng(3)
    styles = list(STYLES)
    records: list[dict[str, Any]] = []
    for k in range(240):
        st = styles[k % len(styles)]
        base = rng.uniform(0.1, 0.3)
        rec: dict[str, Any] = {"day": f"2019-01-{k // 6 % 28 + 1:02d}", "style": st, "shown": 60, "found": 60,
                               "errors": [0.001, 0.002], "read_seconds": 1.0, "status": "read"}
        if st == "mplfinance ibd" and k % 4 == 0:
            rec.update(status="refused", reason="price axis unreadable", found=0, errors=[])
        else:
            # the screenshot arm is 10% better than volatility alone at the read σ on every decision
            rec.update(brier={a: base for a in ARMS} | {"screenshot": 0.9 * base, "price only": 1.5 * base},
                       price_err_pct=0.0, sigma_ratio=1.0)
        records.append(rec)
    r = summarize(records, "SPY", n_boot=200)
    refused = sum(x["status"] == "refused" for x in records)
    assert r["decisions"] == 240 and r["n_read"] == 240 - refused and refused > 0
    s = r["skill_vs_volatility_read"]["screenshot"]
    assert s["skill"] == pytest.approx(0.1) and s["ci95"][0] == pytest.approx(0.1)
    assert r["screenshot_vs"]["price only"]["skill"] == pytest.approx(0.4)
    ibd = r["per_style"]["mplfinance ibd"]
    assert ibd["held_out"] and ibd["refused"] == refused and ibd["refusal_reasons"] == ["price axis unreadable"]
    assert ibd["candles_found"] == pytest.approx((40 - refused) / 40) and ibd["candles_found_when_read"] == 1.0
    assert not r["per_style"]["mplfinance yahoo"]["held_out"]
    assert r["held_out_styles"]["n"] + r["tuned_styles"]["n"] == r["n_read"]
    quoted = path_skill(r)
    assert quoted["verdict"]["touch"] == "better than volatility alone" and quoted["n_samples"] == 240 - refused
