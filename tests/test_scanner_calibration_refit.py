"""The calibration refit job: fitted on real imported history, written to the user's data dir, its
reliability (ECE) reported, and used by the scanner from then on (over the shipped default)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConflictError, InputError
from core.jobs import JobStatus
from core.scanner.calibration import CALIBRATION_DIR, load_calibration
from core.services.plans import CALIBRATION_KIND
from core.workstation import Workstation


async def test_refit_on_imported_history_writes_a_calibration_the_scanner_then_uses(
        isolated_dirs: Path, shared_data: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 150 * 60 * 1_000_000_000)
        await k.import_bars(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv", "SPY")
        before = await k.plans.scan(["SPY", "QQQ"], "5m")
        assert before.candidates and {c.calibration for c in before.candidates} == {"heuristic"}
        shipped = sorted(p.name for p in CALIBRATION_DIR.iterdir())

        info = await k.plans.refit_calibration("SPY", "5m")
        assert info.kind == CALIBRATION_KIND
        with pytest.raises(ConflictError, match="already running"):   # one refit at a time
            await k.plans.refit_calibration("SPY", "5m")
        done = await k.jobs.wait(info.id, timeout=900)
        assert done.status is JobStatus.SUCCEEDED, done.error
        res = done.result or {}
        path = Path(str(res["path"]))
        assert path == k.plans.refit_path("5m") and path.is_file()
        assert path.is_relative_to(isolated_dirs)                     # the user's data dir …
        assert sorted(p.name for p in CALIBRATION_DIR.iterdir()) == shipped   # … the shipped ones untouched
        cal = load_calibration(path)
        assert str(res["bars"]).startswith("imported")
        assert cal.source == res["source"] and cal.source.startswith("refit SPY 5m 2018")
        ece = res["ece"]
        assert isinstance(ece, float) and 0.0 <= ece < 0.5 and ece == cal.provenance["holdout"]["ece"]
        assert int(res["plans"]) >= 30 and int(res["sessions"]) > 300
        assert done.message.endswith(f"held-out ECE {ece:.3f}")          # what the Jobs panel shows

        after = await k.plans.scan(["SPY", "QQQ"], "5m")
        assert after.candidates
        for c in after.candidates:
            assert (c.confidence_kind, c.calibration) == ("calibrated", cal.source)
            if c.plan is not None:      # triggered and armed: the refit's map of the raw heuristic
                assert c.confidence == pytest.approx(cal.apply(c.playbook, c.plan.confidence_raw))
        assert k.plans.calibration_for("1h").source != cal.source     # other intervals keep theirs
    finally:
        await k.stop()


async def test_refit_refuses_bad_input_naming_the_field(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start(feeds=False)
    try:
        with pytest.raises(InputError) as e:
            await k.plans.refit_calibration("SPY", "5m", style="yolo")
        assert e.value.field == "style"
        with pytest.raises(InputError) as e:
            await k.plans.refit_calibration("SPY", "1d")
        assert e.value.field == "interval"
        with pytest.raises(InputError) as e:
            await k.plans.refit_calibration("  ", "5m")
        assert e.value.field == "symbol"
    finally:
        await k.stop()
