"""Fuzz of the bar importer with a seeded generator: random column layouts, encodings, separators,
timestamp styles, time zones and garbage rows. Every input either imports (valid, sorted bars) or
raises one of the project's TradeCoachError subclasses — never a traceback of another kind."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import TradeCoachError
from core.market.importer import read_bars_file
from core.store import ImportedBarsRepo, import_bars_file, open_ready_store

CASES = 160
STORE_EVERY = 8          # every 8th case also goes through the store (staging + replace)
TIME_NAMES = ["timestamp", "Date", "datetime", "TIME", "bar_start_et", "ts", "timestamp", "date", "", "when"]
ZONES = [None] * 8 + ["UTC", "UTC", "America/Chicago", "Europe/London", "Mars/Olympus", ""]
SEPARATORS = [",", ",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16"]
GARBAGE = ["", "garbage line", ",,,,,", "2024-13-45 99:99,1,2,3,4,5", "1,2", "a,b,c,d,e,f,g,h",
           "2024-01-02 09:31,nan,1,1,1,1", "2024-01-02 09:31,1e308,1e308,1,1,1", "2024-01-02 09:31,-5,1,1,1,-1",
           "2024-01-02 09:31,True,False,True,True,True", "9999-01-01 00:00,1,2,0.5,1,1", "\x00\x01\x02",
           "Total,,,,,", "2024-03-10 02:30,1,2,0.5,1,1", "2024-11-03 01:30,1,2,0.5,1,1"]


def _times(rng: random.Random, n: int) -> tuple[list[str], str]:
    step = rng.choice(["1min", "5min", "1h", "1D", "30min"])
    start = pd.Timestamp(rng.choice(["2024-01-02 09:30", "2024-03-09 22:00", "2024-11-02 23:00",
                                     "2019-06-03 00:00", "1999-12-31 20:00"]))
    idx = pd.date_range(start, periods=n, freq=step)
    style = rng.choice(["iso", "iso_offset", "us", "epoch_s", "epoch_ms", "ymd", "iso_t"])
    if style == "iso_offset":
        local = idx.tz_localize("UTC").tz_convert("America/New_York")
        return [t.isoformat() for t in local], style
    if style == "us":
        return [f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}" for t in idx], style
    if style in ("epoch_s", "epoch_ms"):
        mul = 1 if style == "epoch_s" else 1000
        return [str(int(t.tz_localize("UTC").timestamp()) * mul) for t in idx], style
    if style == "ymd" and step == "1D":
        return [t.strftime("%Y%m%d") for t in idx], style
    if style == "iso_t":
        return [t.strftime("%Y-%m-%dT%H:%M:%S") for t in idx], style
    return [t.strftime("%Y-%m-%d %H:%M") for t in idx], style


def _frame(rng: random.Random) -> pd.DataFrame:
    n = rng.randint(0, 60)
    times, _ = _times(rng, n)
    close = 100 + np.cumsum([rng.gauss(0, 0.3) for _ in range(n)])
    opn = close + [rng.gauss(0, 0.1) for _ in range(n)]
    high = np.maximum(opn, close) + 0.2
    low = np.minimum(opn, close) - 0.2
    cols = {rng.choice(TIME_NAMES): times, "open": opn.round(2), "high": high.round(2), "low": low.round(2),
            "close": close.round(2)}
    vol_name = rng.choice(["volume", "Volume", "volume_lots100", None])
    if vol_name:
        cols[vol_name] = [rng.randint(0, 5000) for _ in range(n)]
    if rng.random() < 0.2:
        cols["symbol"] = [rng.choice(["SPY", "QQQ"]) for _ in range(n)]
    if rng.random() < 0.08:
        cols.pop(rng.choice(["open", "high", "low", "close"]))
    names = list(cols)
    rng.shuffle(names)
    df = pd.DataFrame({k: cols[k] for k in names})
    if rng.random() < 0.3:
        df.columns = [c.upper() if rng.random() < 0.5 else c for c in df.columns]
    return df


def _write_case(rng: random.Random, tmp: Path, i: int) -> Path:
    df = _frame(rng)
    if rng.random() < 0.15:
        path = tmp / f"case{i}.parquet"
        if rng.random() < 0.5 and "open" in df.columns:
            df["open"] = df["open"].astype(str)
        if rng.random() < 0.3 and len(df.columns):
            df[df.columns[0]] = pd.to_datetime(df[df.columns[0]], errors="coerce", format="mixed")
        try:
            df.to_parquet(path)
        except (ValueError, TypeError, OverflowError):
            df.astype(str).to_parquet(path)
        return path
    sep = rng.choice(SEPARATORS)
    lines = [sep.join(map(str, df.columns))]
    lines += [sep.join(map(str, row)) for row in df.itertuples(index=False)]
    for _ in range(rng.choice([0, 0, 0, 1, 3])):
        lines.insert(rng.randint(1, len(lines)), rng.choice(GARBAGE).replace(",", sep))
    text = "\n".join(lines) + rng.choice(["\n", "", "\n\n"])
    path = tmp / f"case{i}.csv"
    encoding = rng.choice(ENCODINGS)
    data = text.encode(encoding, errors="replace")
    if rng.random() < 0.05:
        data = data[: rng.randint(0, len(data))]        # truncated file
    path.write_bytes(data)
    return path


@pytest.mark.slow
def test_importer_fuzz_never_tracebacks(tmp_path: Path) -> None:
    rng = random.Random(16)
    store = open_ready_store(tmp_path / "fuzz.db")
    outcomes = {"imported": 0, "refused": 0}
    try:
        for i in range(CASES):
            path = _write_case(rng, tmp_path, i)
            tz = rng.choice(ZONES)
            symbol = rng.choice(["SPY", "SPY", "QQQ", "ES"])
            kw = {"tz": tz, "allow_missing_volume": rng.random() < 0.5, "drop_invalid": rng.random() < 0.3}
            try:
                if i % STORE_EVERY == 0:
                    res = import_bars_file(store, path, symbol, chunk_rows=rng.choice([7, 50, 1000]), **kw)
                    stored = ImportedBarsRepo(store).load(symbol, res.interval, res.first_ns, res.last_ns + 1)
                    assert len(stored) == res.inserted
                else:
                    imp = read_bars_file(path, symbol, **kw)
                    imp.bars.validate()
                    assert np.all(imp.bars.low <= np.minimum(imp.bars.open, imp.bars.close))
                    assert np.all(imp.bars.high >= np.maximum(imp.bars.open, imp.bars.close))
                outcomes["imported"] += 1
            except TradeCoachError as exc:
                assert str(exc) and ":" in str(exc), f"case {i}: message without a field: {exc!r}"
                outcomes["refused"] += 1
            except Exception as exc:  # the point of the fuzz: report which input broke through
                raise AssertionError(f"case {i} ({path.name}, tz={tz!r}, {kw}) raised {type(exc).__name__}: "
                                     f"{exc}\n{path.read_bytes()[:600]!r}") from exc
    finally:
        store.close()
    # The generator must exercise both outcomes, or the fuzz proves nothing.
    assert outcomes["imported"] >= CASES // 5 and outcomes["refused"] >= CASES // 5, outcomes
