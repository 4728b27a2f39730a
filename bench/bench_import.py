"""Benchmark: the streamed (chunked) bar import vs the old whole-file import, measured in the same run.

    python bench/bench_import.py [--rows N] [--modes whole,chunked] [--keep]

Generates a CSV of N one-minute bars (default 2,000,000; the issue's case is 10,000,000 ≈ 619 MB)
with naive UTC timestamps in a temp dir, then imports it into a fresh SQLite store twice, each in
its own process so the peak memory of one cannot hide the other's:

* chunked   — core.store.import_bars_file (BarFileReader chunks staged in a temp table, one
              transaction replaces the file's range);
* whole     — the pre-issue-16 path, kept here as the reference: pandas reads the whole file,
              parses every timestamp at once (format="mixed"), builds one Bars frame and
              ImportedBarsRepo.upsert writes it.

Peak RSS is the child's VmHWM from /proc/self/status; rows/s is rows over wall time of the import
call (interpreter start-up and imports excluded). Prints both and the ratios chunked/whole.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not in /proc/self/status (Linux only)")


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(16)
    block = 1_000_000
    start = pd.Timestamp("2010-01-04 00:00")
    with open(path, "w") as fh:
        fh.write("timestamp,open,high,low,close,volume\n")
        for lo in range(0, rows, block):
            n = min(block, rows - lo)
            ts = (start + pd.to_timedelta(np.arange(lo, lo + n), unit="min")).strftime("%Y-%m-%d %H:%M:%S")
            close = 100 + np.cumsum(rng.normal(0, 0.05, n)) * 0.1 + lo * 1e-6
            close = np.abs(close) + 1
            opn = close + rng.normal(0, 0.02, n)
            high = np.maximum(opn, close) + rng.uniform(0, 0.05, n)
            low = np.minimum(opn, close) - rng.uniform(0, 0.05, n)
            vol = rng.integers(100, 10_000, n)
            pd.DataFrame({"t": ts, "o": opn.round(2), "h": high.round(2), "l": low.round(2), "c": close.round(2),
                          "v": vol}).to_csv(fh, header=False, index=False)


def whole_file_reference(path: Path, db: Path) -> int:
    """The import as it was before issue 16 (core/market/importer.py + ImportedBarsRepo.upsert)."""
    import numpy as np
    import pandas as pd

    from core.market.bars import Bars
    from core.market.importer import infer_interval
    from core.store import ImportedBarsRepo, open_ready_store

    df = pd.read_csv(path)
    text = df["timestamp"].astype(str)
    has_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
    if has_offset.all():
        idx = pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601"))
    else:
        idx = pd.DatetimeIndex(pd.to_datetime(text, format="mixed"))
    idx = idx.tz_localize("UTC", ambiguous="raise", nonexistent="raise").tz_convert("UTC").as_unit("ns")
    frame = pd.DataFrame({c: pd.to_numeric(df[c], errors="coerce").to_numpy()
                          for c in ("open", "high", "low", "close", "volume")}, index=idx)
    for c in frame.columns:
        assert np.isfinite(frame[c].to_numpy(dtype=float)).all()
    ts = frame.index.asi8
    assert (np.diff(ts) > 0).all() and (frame["high"].to_numpy() >= frame["low"].to_numpy()).all()
    interval = infer_interval(ts)
    bars = Bars.from_arrays(ts, *(frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")))
    store = open_ready_store(db)
    try:
        return ImportedBarsRepo(store).upsert("BENCH", interval, bars, source="import")
    finally:
        store.close()


def chunked(path: Path, db: Path) -> int:
    from core.store import import_bars_file, open_ready_store

    store = open_ready_store(db)
    try:
        return import_bars_file(store, path, "BENCH", tz="UTC").inserted
    finally:
        store.close()


def child(mode: str, path: Path, db: Path) -> None:
    import core.store.imported_bars  # noqa: F401 - imports outside the timed part
    from core.store import open_ready_store

    open_ready_store(db).close()   # schema created outside the timed part
    base = _vm_hwm_mb()
    t0 = time.perf_counter()
    rows = (chunked if mode == "chunked" else whole_file_reference)(path, db)
    secs = time.perf_counter() - t0
    print(json.dumps({"mode": mode, "rows": rows, "seconds": secs, "peak_rss_mb": _vm_hwm_mb(),
                      "rss_before_mb": base}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--modes", default="whole,chunked",
                    help="which paths to run (the ratio needs both; 'chunked' alone checks a 10M-row file's RSS)")
    ap.add_argument("--keep", action="store_true", help="keep the generated CSV and databases")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "CSV", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_import_"))
    csv = tmp / "bars.csv"
    t0 = time.perf_counter()
    generate(csv, args.rows)
    print(f"generated {args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    results = {}
    for mode in args.modes.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", mode, str(csv), str(tmp / f"{mode}.db")],
                             capture_output=True, text=True, check=True, cwd=REPO)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[mode]
        print(f"{mode:8s} {r['rows']:>11,} rows  {r['seconds']:7.1f} s  {r['rows'] / r['seconds']:>9,.0f} rows/s  "
              f"peak RSS {r['peak_rss_mb']:7.0f} MB (after imports {r['rss_before_mb']:.0f} MB)")
    if len(results) == 2:
        w, c = results["whole"], results["chunked"]
        print(f"ratio chunked/whole: throughput {(c['rows'] / c['seconds']) / (w['rows'] / w['seconds']):.2f}x, "
              f"peak RSS {c['peak_rss_mb'] / w['peak_rss_mb']:.2f}x; load average {os.getloadavg()[0]:.1f}")
    if not args.keep:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
