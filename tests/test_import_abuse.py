"""Abuse cases of the bar importer (issue 16): every bad file gets a clear error naming the field and
the file line, never a traceback; DST edges, epoch times, separators, impossible bars, re-imports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import DataError, InputError
from core.market.importer import read_bars_file
from core.store import ImportedBarsRepo, Store, import_bars_file, open_ready_store

HEADER = "timestamp,open,high,low,close,volume\n"


def _csv(tmp: Path, rows: list[str], header: str = HEADER, name: str = "bars.csv") -> Path:
    path = tmp / name
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def _round_the_clock(start: str, periods: int, freq: str = "30min") -> list[str]:
    """Naive wall-clock stamps as a vendor that writes New York local time emits them."""
    utc = pd.date_range(pd.Timestamp(start, tz="America/New_York").tz_convert("UTC"), periods=periods, freq=freq)
    local = utc.tz_convert("America/New_York").tz_localize(None)
    return [f"{t:%Y-%m-%d %H:%M},{100 + i * 0.01:.2f},{101 + i * 0.01:.2f},{99 + i * 0.01:.2f},"
            f"{100.5 + i * 0.01:.2f},{1000 + i}" for i, t in enumerate(local)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = open_ready_store(tmp_path / "db" / "tradecoach.db")
    yield st
    st.close()


# -- time zones and DST ---------------------------------------------------------------------------
def test_repeated_hour_at_dst_end_is_read_by_order(tmp_path: Path) -> None:
    rows = _round_the_clock("2024-11-02 22:00", 12)   # crosses 2024-11-03 01:00–01:59 twice
    imp = read_bars_file(_csv(tmp_path, rows), "ES")
    assert len(imp.bars) == 12
    assert np.all(np.diff(imp.bars.ts) == 30 * 60 * 10**9)   # true UTC spacing: no gap, no overlap
    assert any("read by order" in n for n in imp.notes)


def test_time_in_the_spring_forward_gap_is_refused_with_its_line(tmp_path: Path) -> None:
    rows = [f"2024-03-10 0{h}:{m:02d},100,101,99,100.5,10" for h in (1, 2, 3) for m in (0, 30)]
    with pytest.raises(DataError, match=r"2024-03-10 02:00:00 at line 4 does not exist in America/New_York.*--tz"):
        read_bars_file(_csv(tmp_path, rows), "ES")
    imp = read_bars_file(_csv(tmp_path, rows), "ES", tz="UTC")   # the file's real zone
    assert len(imp.bars) == 6


def test_unknown_time_zone_is_an_input_error() -> None:
    with pytest.raises(InputError, match="tz: unknown time zone 'Mars/Olympus'"):
        read_bars_file("/nonexistent.csv", "SPY", tz="Mars/Olympus")


@pytest.mark.parametrize("year", ["9999", "1600"])
def test_years_out_of_range_name_the_line(tmp_path: Path, year: str) -> None:
    rows = ["2024-01-02 09:30,100,101,99,100.5,10", f"{year}-01-02 09:31,100,101,99,100.5,10"]
    with pytest.raises(DataError, match=r"timestamp: .*line 3"):
        read_bars_file(_csv(tmp_path, rows), "SPY")


@pytest.mark.parametrize(("scale", "unit"), [(1, "s"), (1000, "ms")])
def test_epoch_timestamps_are_recognised(tmp_path: Path, scale: int, unit: str) -> None:
    t0 = 1704205800  # 2024-01-02 14:30 UTC = 09:30 ET
    rows = [f"{(t0 + 60 * i) * scale},100,101,99,100.5,10" for i in range(5)]
    imp = read_bars_file(_csv(tmp_path, rows), "SPY")
    assert imp.bars.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")
    assert imp.interval.name == "1m" and f"epoch {unit} (UTC)" in " ".join(imp.notes)


# -- layout ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_separator_is_detected(tmp_path: Path, sep: str) -> None:
    rows = [r.replace(",", sep) for r in _round_the_clock("2024-01-02 09:30", 5)]
    imp = read_bars_file(_csv(tmp_path, rows, HEADER.replace(",", sep)), "SPY")
    assert len(imp.bars) == 5 and imp.bars.close[0] == 100.5


def test_semicolon_files_with_decimal_commas(tmp_path: Path) -> None:
    rows = ["02.01.2024 09:30;100,5;101,25;99,75;100,0;1200", "02.01.2024 09:31;100,0;101,0;99,5;100,25;800"]
    imp = read_bars_file(_csv(tmp_path, rows, "date;Open;High;Low;Close;Volume\n"), "SPY")
    assert list(imp.bars.high) == [101.25, 101.0] and any("decimal commas" in n for n in imp.notes)
    assert imp.bars.index[0] == pd.Timestamp("2024-01-02 09:30", tz="America/New_York")   # dotted: day first


def test_blank_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    rows = _round_the_clock("2024-01-02 09:30", 6)
    rows.insert(2, "")
    rows[5] = rows[5].replace(",101.", ",-101.")   # line 7 in the file: header, 2 rows, blank, 2 rows
    with pytest.raises(DataError, match=r"high: .* at line 7"):
        read_bars_file(_csv(tmp_path, rows), "SPY")


# -- impossible bars ------------------------------------------------------------------------------
@pytest.mark.parametrize(("row", "message"), [
    ("2024-01-02 09:32,-1,101,99,100,10", "open: price must be above 0, got -1"),
    ("2024-01-02 09:32,0,101,99,100,10", "open: price must be above 0, got 0"),
    ("2024-01-02 09:32,102,101,99,100,10", "open: above high, got 102"),
    ("2024-01-02 09:32,100,101,99,98,10", "close: below low, got 98"),
    ("2024-01-02 09:32,100,1e308,99,100,10", "high: price above 1e+09, got 1e+308"),
    ("2024-01-02 09:32,100,101,99,100,-5", "volume: negative, got -5"),
])
def test_impossible_bars_are_refused_or_dropped(tmp_path: Path, row: str, message: str) -> None:
    rows = ["2024-01-02 09:30,100,101,99,100,10", "2024-01-02 09:31,100,101,99,100,10", row,
            "2024-01-02 09:33,100,101,99,100,10"]
    path = _csv(tmp_path, rows)
    with pytest.raises(DataError, match=rf"{message.replace('+', '[+]')} at line 4 "):
        read_bars_file(path, "SPY")
    imp = read_bars_file(path, "SPY", drop_invalid=True)
    assert len(imp.bars) == 3 and imp.dropped == 1 and any("dropped 1 invalid" in n for n in imp.notes)


def test_long_file_whose_symbol_rows_are_all_invalid(tmp_path: Path, store: Store) -> None:
    rows = ["SPY,2024-01-02 09:30,-1,101,99,100,10", "QQQ,2024-01-02 09:30,1,2,0.5,1,1",
            "SPY,2024-01-02 09:31,-1,101,99,100,10"]
    path = _csv(tmp_path, rows, "symbol," + HEADER)
    with pytest.raises(DataError, match=r"file: no valid bars for SPY in bars.csv \(2 invalid rows dropped\)"):
        read_bars_file(path, "SPY", drop_invalid=True)
    with pytest.raises(DataError, match="no valid bars for SPY"):
        import_bars_file(store, path, "SPY", drop_invalid=True)
    with pytest.raises(InputError, match="symbol: IWM not in file; it holds QQQ, SPY"):
        read_bars_file(path, "IWM")


def test_parquet_text_prices_are_converted_with_a_note_and_boolean_volume_refused(tmp_path: Path) -> None:
    ts = pd.date_range("2024-01-02 14:30", periods=4, freq="1min", tz="UTC")
    table = pa.table({"timestamp": ts, "open": ["100", "100.5", "101", "100"], "high": [101.0] * 4,
                      "low": [99.0] * 4, "close": [100.0] * 4, "volume": [10, 20, 30, 40]})
    pq.write_table(table, tmp_path / "text.parquet")
    imp = read_bars_file(tmp_path / "text.parquet", "SPY")
    assert imp.bars.open[1] == 100.5 and any("open stored as text" in n for n in imp.notes)
    table = table.set_column(5, "volume", pa.array([True, False, True, True]))
    pq.write_table(table, tmp_path / "bool.parquet")
    with pytest.raises(DataError, match="volume: stored as true/false"):
        read_bars_file(tmp_path / "bool.parquet", "SPY")


# -- the store ------------------------------------------------------------------------------------
def test_reimport_with_another_zone_replaces_the_range_and_reports_counts(tmp_path: Path, store: Store) -> None:
    rows = _round_the_clock("2024-01-02 09:30", 40, "1min")
    path = _csv(tmp_path, rows)
    first = import_bars_file(store, path, "SPY")
    assert (first.inserted, first.replaced, first.left) == (40, 0, 0)
    again = import_bars_file(store, path, "SPY", tz="UTC")     # 5 hours earlier: overlaps nothing
    assert (again.inserted, again.replaced, again.left) == (40, 0, 40)
    shifted = pd.Timestamp("2024-01-02 09:30") + pd.Timedelta(minutes=20)
    half = [r for r in _round_the_clock(str(shifted), 40, "1min")]
    third = import_bars_file(store, _csv(tmp_path, half, name="later.csv"), "SPY")
    # Rows 09:50–10:09 of the first import are replaced, 09:30–09:49 are left, plus the UTC import.
    assert (third.inserted, third.replaced, third.left) == (40, 20, 20 + 40)
    assert len(ImportedBarsRepo(store).load("SPY", "1m")) == 20 + 40 + 40


def test_failed_import_leaves_the_store_untouched(tmp_path: Path, store: Store) -> None:
    path = _csv(tmp_path, _round_the_clock("2024-01-02 09:30", 30, "1min"))
    import_bars_file(store, path, "SPY")
    bad = _round_the_clock("2024-01-02 09:30", 30, "1min")
    bad[25] = bad[25].replace(",1025", ",-1025")
    with pytest.raises(DataError, match=r"volume: negative.* at line 27"):
        import_bars_file(store, _csv(tmp_path, bad, name="bad.csv"), "SPY", chunk_rows=7)
    assert len(ImportedBarsRepo(store).load("SPY", "1m")) == 30


def test_chunked_import_equals_whole_file_read_and_reports_progress(tmp_path: Path, store: Store) -> None:
    rows = _round_the_clock("2024-11-01 09:30", 500, "5min")   # crosses the DST end
    path = _csv(tmp_path, rows)
    seen: list[float] = []
    res = import_bars_file(store, path, "ES", chunk_rows=37, progress=lambda f, _m: seen.append(f))
    whole = read_bars_file(path, "ES")
    assert res.inserted == 500 and ImportedBarsRepo(store).load("ES", "5m").equals(whole.bars)
    assert len(seen) >= 500 // 37 and seen == sorted(seen) and seen[-1] == 1.0
