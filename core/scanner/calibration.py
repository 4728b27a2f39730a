"""Confidence calibrations that ship with the app, and refits on a user's own bars.

A calibration maps a playbook's raw heuristic confidence to P(TP1 before the stop), fitted on the
plans the playbooks would have issued walking a history (`core.scanner.evaluate`). The app ships
one fitted on data whose licence allows redistribution: the bundled SPY hourly bars 1998–2021
(QuantConnect Lean sample data, Apache-2.0) for 1-hour scans. Every candidate names the calibration
its confidence comes from (`Calibration.source`), or says `heuristic`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.scanner.evaluate import Calibration, evaluate
from core.scanner.evaluate import fit_calibration as fit_logistic

CALIBRATION_DIR = Path(__file__).resolve().parents[2] / "resources" / "calibration"
BUNDLED: Mapping[str, str] = {"1h": "spy_1h.json"}   # interval → shipped file
MIN_TRADES = 30


def default_calibration(interval: Interval | str) -> Calibration | None:
    """The calibration shipped for this scan interval, or None (then confidence is heuristic)."""
    name = BUNDLED.get(parse_interval(interval).name)
    if name is None:
        return None
    return load_calibration(CALIBRATION_DIR / name)


def load_calibration(path: Path) -> Calibration:
    """Read a calibration file written by `save_calibration` (DataError naming the file if bad)."""
    try:
        doc = json.loads(Path(path).read_text())
        cal = Calibration.from_dict(doc["model"])
        cal = replace(cal, provenance=dict(doc.get("provenance", {})))
    except FileNotFoundError:
        raise DataError(f"calibration: {path} does not exist") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"calibration: {path} is not a calibration file ({exc})") from None
    return cal


def save_calibration(cal: Calibration, path: Path, provenance: Mapping[str, Any] | None = None) -> Path:
    """Write {source, provenance, model} atomically (provenance: the given one or `cal.provenance`)."""
    provenance = cal.provenance if provenance is None else provenance
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"source": cal.source, "provenance": dict(provenance), "model": cal.to_dict()},
                              indent=2, ensure_ascii=False, allow_nan=False))
    tmp.replace(path)
    return path


def fit_calibration(bars: Bars, symbol: str, interval: Interval | str, *, style: str = "intraday",
                    source: str | None = None) -> Calibration:
    """Fit the calibration on every plan the playbooks would have issued on `bars` (a job: seconds
    per year of 5-minute bars). `cal.provenance` says what it was fitted on: sessions, plans, hit rate
    and the reliability (ECE) measured by fitting on the first 60 % of the sessions and testing on the
    rest. `source` (default "SYMBOL interval first–last year") is what candidates show.
    InputError("bars") when the history gives fewer than 30 resolved plans."""
    iv = parse_interval(interval)
    report = evaluate(bars, symbol.upper(), iv, style=style)
    trades = report.trades
    if len(trades) < MIN_TRADES:
        raise InputError("bars", f"{len(trades)} resolved plans on this history; need ≥ {MIN_TRADES} to fit")
    hit = np.array([t.hit for t in trades])
    cal = fit_logistic([t.playbook for t in trades], np.array([t.confidence_raw for t in trades]), hit)
    first = datetime.fromtimestamp(int(bars.ts[0]) / 1e9, tz=UTC).date()
    last = datetime.fromtimestamp(int(bars.ts[-1]) / 1e9, tz=UTC).date()
    label = source or f"{symbol.upper()} {iv.name} {first.year}–{last.year}"
    provenance: dict[str, Any] = {
        "symbol": symbol.upper(), "interval": iv.name, "style": style, "first_bar": first.isoformat(),
        "last_bar": last.isoformat(), "sessions": report.sessions, "plans": len(trades),
        "hit_rate": float(hit.mean()),
        "holdout": {"fit_sessions": report.fit_sessions, "test_sessions": report.test_sessions,
                    "ece": report.ece if math.isfinite(report.ece) else None},
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": "logistic(raw confidence, playbook intercepts shrunk to the pooled rate)",
    }
    return Calibration(cal.intercepts, cal.weight, cal.pooled, cal.fit_count, label, provenance)


def lean_hourly_session_bars(bars: Bars) -> Bars:
    """Lean stamps its first hourly bar of a session 09:00 ET although it holds 09:30–10:00: restamp
    it 09:30 so the scanner sees it inside regular hours (the other bars are clock hours)."""
    ny = bars.index.tz_convert("America/New_York")
    first = np.asarray((ny.hour == 9) & (ny.minute == 0))
    ts = bars.ts.copy()
    ts[first] += 30 * 60 * 1_000_000_000
    return Bars.from_arrays(ts, bars.open, bars.high, bars.low, bars.close, bars.volume)


def fit_bundled(data_dir: Path, out: Path | None = None) -> Path:
    """Refit the shipped 1-hour calibration from the bundled SPY hourly bars (reproducible)."""
    from core.market.bundle import BarLibrary

    bars = lean_hourly_session_bars(BarLibrary(data_dir).hourly("SPY"))
    if not len(bars):
        raise DataError(f"calibration: no bundled SPY hourly bars under {data_dir}")
    cal = fit_calibration(bars, "SPY", "1h", source="bundled SPY 1h 1998–2021")
    prov = dict(cal.provenance)
    prov["data"] = ("resources/data/spy_hourly.parquet — QuantConnect Lean sample data, Apache-2.0 "
                    "(Data/equity/usa/hour/spy), first bar of each session restamped 09:30 ET")
    prov["licence"] = "Apache-2.0 (data); the fitted numbers ship with the app"
    prov["refit"] = "core.scanner.calibration.fit_bundled(Path('resources/data'))"
    return save_calibration(cal, out or CALIBRATION_DIR / BUNDLED["1h"], prov)
