"""Sample builder, splits and chart rendering on real bars: no input may see past the decision time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.market.bars import Bars
from models.dataset import (
    SEQ_LEN,
    WINDOW,
    build_samples,
    bundled_samples,
    render_window,
    sequence_features,
    split_by_date,
    split_by_fraction,
)
from models.render import HEIGHT, WIDTH, Look, load_screenshot, random_look, render, render_batch
from tests.test_models_helpers import spy_between


def _inputs(s, i):  # type: ignore[no-untyped-def]
    seq = sequence_features(s.window[i:i + 1], s.n_bars[i:i + 1], s.new_session[i:i + 1], s.sigma[i:i + 1],
                            s.bar_minutes[i:i + 1])
    img = render_window(s.window[i], int(s.n_bars[i]), Look())
    aug = render_window(s.window[i], int(s.n_bars[i]), random_look(np.random.default_rng(7)), 40)
    return {"window": s.window[i], "ctx": s.ctx[i], "sigma": s.sigma[i], "anchor": s.anchor[i], "tau": s.tau[i],
            "n_bars": s.n_bars[i], "seq": seq, "image": img, "augmented": aug}


def test_changing_every_later_bar_leaves_the_inputs_unchanged() -> None:
    bars = spy_between("2019-05-01", "2019-05-20")
    base = build_samples(bars, "SPY", every_minutes=30)
    assert len(base) > 50
    rng = np.random.default_rng(1)
    for i in (5, len(base) // 2, len(base) - 3):
        t = int(base.decision_ns[i])
        later = (bars.ts + 5 * 60_000_000_000) > t   # bars that end after the decision time
        k = np.where(later, rng.uniform(0.9, 1.1, len(bars)), 1.0)
        altered = Bars(bars.ts, bars.open * k, bars.high * k, bars.low * k, bars.close * k,
                       np.where(later, bars.volume * 3.0, bars.volume))
        other = build_samples(altered, "SPY", every_minutes=30)
        j = int(np.flatnonzero(other.decision_ns == t)[0])
        a, b = _inputs(base, i), _inputs(other, j)
        for key in a:
            assert np.array_equal(a[key], b[key]), f"sample {i}: {key} changed when only later bars changed"
        # ... while the labels (the future) did change: the test can tell the two apart.
        assert other.label_close[j] != base.label_close[i]


def test_labels_are_the_rest_of_the_session() -> None:
    bars = spy_between("2019-06-03", "2019-06-08")
    s = build_samples(bars, "SPY", every_minutes=60, min_history=5)
    df = bars.to_pandas("America/New_York")
    for i in range(0, len(s), 3):
        t_end = np.datetime64(int(s.decision_ns[i]), "ns")
        day = df[df.index.date == s.session_day[i].astype(object)]
        ends = day.index.tz_convert("UTC").tz_localize(None).to_numpy() + np.timedelta64(5, "m")
        after = day[ends > t_end]
        assert s.label_close[i] == day["close"].iloc[-1]
        assert s.label_high[i] == after["high"].max()
        assert s.label_low[i] == after["low"].min()
        assert s.anchor[i] == day["close"][ends == t_end].iloc[0]
        assert s.tau[i] == pytest.approx(len(after) * 5)


def test_lstm_sees_a_real_sequence_not_one_bar() -> None:
    s = build_samples(spy_between("2019-05-01", "2019-05-10"), "SPY", every_minutes=30)
    seq = sequence_features(s.window, s.n_bars, s.new_session, s.sigma, s.bar_minutes)
    assert seq.shape[1] == SEQ_LEN > 1
    valid_steps = seq[:, :, 6].sum(axis=1)
    assert valid_steps.min() >= 20 and np.median(valid_steps) == SEQ_LEN
    # different bars give different steps (the seed's model saw a length-1 sequence)
    assert np.abs(np.diff(seq[:, :, 3], axis=1)).sum(axis=1).min() > 0


def test_bundled_hourly_first_bar_is_the_opening_half_hour_and_splits_are_chronological() -> None:
    s = bundled_samples()
    for a, b in (("train", "val"), ("val", "test")):
        assert s.session_day[s.split == a].max() < s.session_day[s.split == b].min()
    assert s.session_day.max() <= np.datetime64(date(2017, 12, 31))  # the evaluation years stay unseen
    hourly = s.bar_minutes == 60
    # Lean's 09:00 hourly bar holds 09:30–10:00: the first decision of a full day is 10:00 ET (360 min left)
    assert s.tau[hourly].max() == 360
    assert set(np.unique(s.bar_minutes)) == {5.0, 15.0, 60.0}


def test_split_by_fraction_orders_dates_and_rejects_bad_input() -> None:
    days = np.repeat(np.arange("2019-01-01", "2019-02-20", dtype="datetime64[D]"), 3)
    split = split_by_fraction(days, 0.2, 0.2)
    train, val, test = (days[split == k] for k in ("train", "val", "test"))
    assert train.max() < val.min() <= val.max() < test.min()
    with pytest.raises(InputError, match="val_start"):
        split_by_date(days, date(2019, 2, 1), date(2019, 1, 1))
    with pytest.raises(InputError):
        split_by_fraction(days, 0.6, 0.5)


def test_daily_bars_are_refused_with_the_field_named() -> None:
    from core.market.bundle import BarLibrary
    from core.paths import bundled_data_dir

    with pytest.raises(InputError, match="bars"):
        build_samples(BarLibrary(bundled_data_dir()).daily("SPY"), "SPY")


def test_batch_renderer_matches_the_single_renderer_and_colours_candles() -> None:
    s = build_samples(spy_between("2019-05-01", "2019-05-10"), "SPY", every_minutes=30)
    full = s.n_bars == WINDOW
    w = s.window[full][:20]
    batch = render_batch(w[:, :, 0], w[:, :, 1], w[:, :, 2], w[:, :, 3])
    one = np.stack([render(x[:, 0], x[:, 1], x[:, 2], x[:, 3]) for x in w])
    assert batch.shape == (20, HEIGHT, WIDTH, 3) and np.array_equal(batch, one)
    look = Look()
    up = np.all(one[0] == look.theme.up, axis=2).sum()
    down = np.all(one[0] == look.theme.down, axis=2).sum()
    assert up > 0 and down > 0  # real bars have both


def test_screenshots_load_at_the_canonical_size(tmp_path: Path) -> None:
    from PIL import Image

    s = build_samples(spy_between("2019-05-01", "2019-05-10"), "SPY", every_minutes=30)
    big = np.kron(render_window(s.window[-1], int(s.n_bars[-1])), np.ones((9, 11, 1), dtype=np.uint8))
    path = tmp_path / "shot.png"
    Image.fromarray(big).save(path)
    img = load_screenshot(path)
    assert img.shape == (HEIGHT, WIDTH, 3) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - render_window(s.window[-1], int(s.n_bars[-1])).astype(int)).mean() < 40
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="image"):
        load_screenshot(tmp_path / "bad.png")
    with pytest.raises(InputError, match="image"):
        load_screenshot(tmp_path / "missing.png")


def test_samples_are_stored_as_training_sample_rows(tmp_path: Path) -> None:
    from core.store import TrainingSamplesRepo, open_store, sqlite_url
    from models.dataset import save_samples, split_by_fraction

    s = build_samples(spy_between("2019-05-01", "2019-05-10"), "SPY", every_minutes=60)
    s = s.with_split(split_by_fraction(s.session_day))
    store = open_store(sqlite_url(tmp_path / "s.db"))
    try:
        store.migrate()
        repo = TrainingSamplesRepo(store)
        assert save_samples(repo, s) == len(s)
        rows = repo.list_samples(symbol="SPY")
    finally:
        store.close()
    assert len(rows) == len(s)
    assert [r.split for r in rows] == list(s.split)
    for r, i in zip(rows, range(len(s)), strict=True):
        assert r.anchor_time.timestamp() * 1e9 == pytest.approx(s.decision_ns[i], abs=1e3)
        assert r.anchor_time < r.horizon_end and r.label_close == s.label_close[i]
        assert r.features["ctx"] == pytest.approx(s.ctx[i].tolist(), abs=1e-5)
