"""Baselines, evaluation, inference and the CLI on real bars; the shipped checkpoint; lazy torch."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtr

from app.predict_cli import main as main_predict  # the predict CLI runs the kernel: it lives in app/
from core.errors import InputError
from models.baselines import brownian_quantiles, touch_probability, touch_probability_z
from models.cli import main_eval
from tests.test_models_helpers import REPO, small_samples, spy_between, tiny_checkpoint, write_bars_csv


# -- baselines against simulation ---------------------------------------------------------------------
def _brownian_paths(n_paths: int, steps: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal((n_paths, steps)) / np.sqrt(steps), axis=1)  # unit variance at the end


def test_touch_probability_matches_simulated_brownian_paths_with_minute_monitoring() -> None:
    paths = _brownian_paths(20_000, 390)           # 390 one-minute looks over a 390-minute session
    top = paths.max(axis=1)
    for d in (0.3, 1.0, 1.8):
        simulated = (top >= d).mean()
        se = np.sqrt(simulated * (1 - simulated) / len(top))
        assert abs(float(touch_probability_z(d, 390.0)) - simulated) < 4 * se + 0.003
    # the discrete-monitoring shift matters: the continuous formula overstates the touch rate
    assert 2 * (1 - ndtr(1.0)) - (top >= 1.0).mean() > 0.01


def test_brownian_quantiles_of_close_and_high_match_simulation() -> None:
    paths = _brownian_paths(20_000, 2000, seed=5)
    q = brownian_quantiles((0.1, 0.5, 0.9))
    assert np.allclose(np.quantile(paths[:, -1], [0.1, 0.5, 0.9]), q[0], atol=0.04)
    assert np.allclose(np.quantile(np.maximum(paths.max(axis=1), 0), [0.1, 0.5, 0.9]), q[1], atol=0.05)
    assert np.allclose(q[2], -q[1][::-1])


def test_touch_probability_in_prices_and_bad_input() -> None:
    p = touch_probability(101.0, 100.0, 0.0005, 100.0)
    assert p == pytest.approx(touch_probability_z(np.log(1.01) / (0.0005 * 10), 100.0))
    with pytest.raises(InputError, match="sigma"):
        touch_probability(101.0, 100.0, 0.0, 100.0)


# -- evaluation -------------------------------------------------------------------------------------
def test_evaluation_reports_baselines_computed_on_the_same_samples() -> None:
    from models.evaluate import evaluate_samples, load_model

    s = small_samples()
    model, _ = load_model(tiny_checkpoint())
    r = evaluate_samples(model, s, n_boot=200)
    assert r["n_samples"] == len(s) and r["n_sessions"] == len(np.unique(s.session_day))
    assert r["close"]["mae_no_change"] == pytest.approx(np.abs(s.anchor - s.label_close).mean())
    # the reflection baseline's Brier score, recomputed here from the raw outcomes
    grid = np.asarray(r["touch"]["levels_vol_units"])
    zh, zl = s.z(s.label_high)[:, None], s.z(s.label_low)[:, None]
    hit = np.where(grid > 0, zh >= grid, zl <= grid)
    d = np.abs(grid)[None, :] + 0.5826 / np.sqrt(s.tau)[:, None]
    p_ref = np.minimum(1, 2 * (1 - ndtr(d)))
    assert r["touch"]["brier_reflection"] == pytest.approx(((p_ref - hit) ** 2).mean(axis=1).mean())
    assert r["touch"]["brier_skill"] == pytest.approx(1 - r["touch"]["brier"] / r["touch"]["brier_reflection"])
    for key in ("mae_ci95", "mae_ratio_ci95"):
        lo, hi = r["close"][key]
        assert lo <= hi
    lo, hi = r["direction"]["ci95"]
    assert lo <= r["direction"]["accuracy"] <= hi
    assert 0 <= r["range"]["coverage80"] <= 1
    assert set(r["verdict"]) == {"touch", "close", "direction"}


def test_eval_predictor_cli_json_has_the_promised_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bars = write_bars_csv(spy_between("2019-04-01", "2019-05-15"), tmp_path / "spy.csv")
    rc = main_eval(["--bars", str(bars), "--symbol", "SPY", "--checkpoint", str(tiny_checkpoint()),
                    "--bootstrap", "200", "--json"])
    assert rc == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n_samples"] > 100
    assert {"mae", "mae_no_change", "mae_ratio_vs_no_change", "rmse"} <= set(r["close"])
    assert {"accuracy", "ci95"} <= set(r["direction"])
    assert "coverage80" in r["range"]
    assert {"brier", "brier_reflection", "brier_skill", "ece"} <= set(r["touch"])
    assert r["close"]["mae_ratio_vs_no_change"] == pytest.approx(r["close"]["mae"] / r["close"]["mae_no_change"])
    assert main_eval(["--bars", str(tmp_path / "none.csv"), "--symbol", "SPY"]) == 2
    assert "file" in capsys.readouterr().err


# -- inference --------------------------------------------------------------------------------------
def _screenshot(tmp_path: Path) -> Path:
    from PIL import Image

    from models.dataset import build_samples, render_window
    from models.render import random_look

    s = build_samples(spy_between("2019-05-01", "2019-05-10"), "SPY", every_minutes=30)
    img = render_window(s.window[-1], int(s.n_bars[-1]), random_look(np.random.default_rng(2)))
    path = tmp_path / "chart.png"
    Image.fromarray(np.kron(img, np.ones((6, 6, 1), np.uint8))).save(path)
    return path


def test_prediction_from_screenshot_and_bars(tmp_path: Path) -> None:
    from models.inference import LocalPredictor

    p = LocalPredictor.load(tiny_checkpoint())
    bars = spy_between("2019-05-01", "2019-05-09T18:00")   # up to 14:00 ET on 2019-05-09
    at = datetime(2019, 5, 9, 18, 0, tzinfo=UTC)
    last = float(bars.close[-1])
    near, far = p.predict(_screenshot(tmp_path), "SPY", bars=bars, at=at, level=last * 1.001), None
    far = p.predict(_screenshot(tmp_path), "SPY", bars=bars, at=at, level=last * 1.02)
    assert near.anchor_price == last and near.price_source == "bars" and near.used_bars
    assert near.minutes_to_close == 120 and near.horizon_end == datetime(2019, 5, 9, 20, 0, tzinfo=UTC)
    assert near.close_range[0] < near.close < near.close_range[1]
    assert near.low_range[0] <= near.low <= last <= near.high <= near.high_range[1]
    assert 0 < far.p_touch < near.p_touch < 1
    assert near.volatility_source == "recent bars"
    assert near.model_version == p.version


def test_prediction_without_bars_needs_a_price_and_says_where_volatility_came_from(tmp_path: Path) -> None:
    from models.inference import LocalPredictor

    p = LocalPredictor.load(tiny_checkpoint())
    at = datetime(2019, 5, 9, 15, 0, tzinfo=UTC)
    with pytest.raises(InputError, match="price"):
        p.predict(_screenshot(tmp_path), "SPY", at=at)
    f = p.predict(_screenshot(tmp_path), "SPY", price=285.0, level=286.0, at=at)
    assert f.price_source == "given" and not f.used_bars
    # No bars and no volatility given: never years-old bundled bars — an assumption, said so.
    assert f.volatility_source.startswith("unknown") and "volatility unknown" in f.note
    read = p.predict(_screenshot(tmp_path), "SPY", price=285.0, at=at, sigma=0.0008, sigma_source="screenshot candles",
                     path="screenshot")
    assert read.volatility_source == "screenshot candles" and read.skill_text == "screenshot path: skill not measured"
    closed = p.predict(_screenshot(tmp_path), "SPY", price=285.0, at=datetime(2019, 5, 11, 15, 0, tzinfo=UTC))
    assert "market closed" in closed.note and closed.minutes_to_close == 390
    with pytest.raises(InputError, match="expected_price"):
        p.predict(_screenshot(tmp_path), "SPY", price=285.0, level=-1.0, at=at)


def test_session_high_and_low_include_what_already_traded(tmp_path: Path) -> None:
    """At 14:00 ET on 2019-05-09 SPY traded 286.64 after a 283.30 low: the session low can't be
    above 283.30 (the panel used to say 'Session low' for the rest of the session only)."""
    from models.inference import LocalPredictor

    p = LocalPredictor.load(tiny_checkpoint())
    at = datetime(2019, 5, 9, 18, 0, tzinfo=UTC)
    bars = spy_between("2019-05-01", "2019-05-09T18:00")
    open_ns = int(np.datetime64("2019-05-09T13:30", "ns").astype(np.int64))
    today = (bars.ts >= open_ns) & (bars.ts + 5 * 60_000_000_000 <= int(at.timestamp() * 1e9))
    hi_so_far, lo_so_far = float(bars.high[today].max()), float(bars.low[today].min())
    last = float(bars.close[-1])
    assert lo_so_far < last - 3.0                  # the case of the issue: price well off the low
    f = p.predict(_screenshot(tmp_path), "SPY", bars=bars, at=at)
    assert f.extremes_scope == "session" and f.extremes_labels() == ("Session high", "Session low")
    assert (f.high_so_far, f.low_so_far) == (hi_so_far, lo_so_far)
    assert f.low <= lo_so_far and f.low_range[0] <= f.low_range[1] <= lo_so_far
    assert f.high >= hi_so_far and hi_so_far <= f.high_range[0] <= f.high_range[1]
    assert f.to_dict()["extremes_scope"] == "session"
    # Bars that end after the decision time are not used (no look-ahead).
    later = p.predict(_screenshot(tmp_path), "SPY", bars=spy_between("2019-05-01", "2019-05-10"), at=at)
    assert (later.high_so_far, later.low_so_far) == (hi_so_far, lo_so_far)
    # No bars: nothing is known about the session so far, and the forecast says so.
    blind = p.predict(_screenshot(tmp_path), "SPY", price=last, at=at)
    assert blind.extremes_scope == "rest_of_session" and blind.low_so_far is None
    assert blind.extremes_labels() == ("High from now to the close", "Low from now to the close")
    assert blind.low <= last <= blind.high


def test_prediction_from_a_blank_image_says_no_chart_was_seen(tmp_path: Path) -> None:
    from PIL import Image

    from models.inference import LocalPredictor

    p = LocalPredictor.load(tiny_checkpoint())
    at = datetime(2019, 5, 9, 15, 0, tzinfo=UTC)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (1200, 800), (19, 23, 34)).save(blank)
    assert "no chart seen" in p.predict(blank, "SPY", price=285.0, at=at).note
    assert "no chart seen" not in p.predict(_screenshot(tmp_path), "SPY", price=285.0, at=at).note


def test_skill_text_says_no_better_than_volatility_alone_when_it_is_not() -> None:
    from models.forecast import NO_SKILL, skill_text

    assert NO_SKILL in skill_text({})
    weak = {"brier_skill": 0.001, "brier_skill_ci95": [-0.002, 0.004], "data": "x",
            "verdict": {"touch": "no better than volatility alone", "close": "no better than no change"}}
    assert "touch probability: no better than volatility alone" in skill_text(weak)
    good = {**weak, "brier_skill_ci95": [0.01, 0.02], "verdict": {"touch": "better than volatility alone"}}
    assert "touch probability: better than volatility alone" in skill_text(good)


def test_predict_cli_stores_the_prediction(tmp_path: Path, isolated_dirs: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from core.config import load_settings
    from core.store import PredictionsRepo, open_store

    bars = write_bars_csv(spy_between("2019-05-01", "2019-05-09T18:00"), tmp_path / "recent.csv")
    rc = main_predict([str(_screenshot(tmp_path)), "--symbol", "SPY", "--bars", str(bars), "--expected", "290",
                       "--time", "2019-05-09T14:00:00-04:00", "--checkpoint", str(tiny_checkpoint()), "--json"])
    assert rc == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["prediction_id"] is not None and out["price_source"] == "bars file"
    store = open_store(load_settings().database_url)
    try:
        rec = PredictionsRepo(store).get(out["prediction_id"])
    finally:
        store.close()
    assert rec is not None and rec.user_expected_price == 290
    assert rec.model_predicted_price == pytest.approx(out["close"])
    assert rec.horizon_end == datetime(2019, 5, 9, 20, 0, tzinfo=UTC)
    assert rec.probability_hit == pytest.approx(out["p_touch"])
    assert main_predict([str(tmp_path / "missing.png"), "--symbol", "SPY", "--price", "280", "--no-store",
                         "--checkpoint", str(tiny_checkpoint())]) == 2
    assert "image" in capsys.readouterr().err


def test_predict_cli_without_price_uses_the_feed(tmp_path: Path, isolated_dirs: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from core.market.bundle import BarLibrary
    from core.paths import bundled_data_dir

    rc = main_predict([str(_screenshot(tmp_path)), "--symbol", "SPY", "--checkpoint", str(tiny_checkpoint()),
                       "--no-store", "--json"])
    assert rc == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["price_source"].startswith("feed") and out["used_bars"] and out["prediction_id"] is None
    spy = BarLibrary(bundled_data_dir()).minute("SPY")  # the replay feed plays these real bars
    assert spy.low.min() <= out["anchor_price"] <= spy.high.max()
    assert out["anchor_time"] < out["horizon_end"]


# -- the shipped model and the house rules ----------------------------------------------------------
def test_shipped_checkpoint_is_small_trained_on_the_bundle_and_carries_its_skill() -> None:
    from models import checkpoints
    from models.inference import LocalPredictor

    path = checkpoints.default_checkpoint()
    assert path.is_file() and path.stat().st_size <= 30 * 1024 * 1024
    p = LocalPredictor.load()
    assert "bundled" in p.meta["data"]
    assert p.skill["n_samples"] > 1000 and "verdict" in p.skill
    assert (REPO / "resources" / "models" / "README.md").is_file()


def test_importing_models_and_its_cli_does_not_import_torch() -> None:
    code = "import sys, json; import models, models.cli, models.dataset, models.render, models.baselines; " \
           "print(json.dumps('torch' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(out.stdout.strip()) is False
