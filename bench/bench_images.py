"""Benchmark: the safe image loader (core.images via models.render.load_screenshot) vs the loader it
replaced, on the issue's oversized screenshots, measured in the same run.

    python bench/bench_images.py [--side 12000]

Each case runs in its own process (peak RSS = VmHWM of that process, time = wall time of the load):

* a side×side PNG (default 12000×12000, the issue's case: 5.6 s and 1.5 GB before) — the new loader
  refuses it from the header;
* a 6000×4000 JPEG (allowed) — both decode it at reduced scale (draft) and give the same array size.
"""

from __future__ import annotations

import argparse
import json
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


def old_loader(path: Path) -> tuple[int, ...]:
    """models.render.load_screenshot as it was before issue 16 (PIL's bomb check at 178 MP only)."""
    import numpy as np
    from PIL import Image

    from models.render import HEIGHT, WIDTH

    im = Image.open(path)
    im.draft("RGB", (WIDTH * 2, HEIGHT * 2))
    im = im.convert("RGB")
    factor = min(im.width // (WIDTH * 2), im.height // (HEIGHT * 2))
    if factor >= 2:
        im = im.reduce(factor)
    return np.array(im.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)).shape


def new_loader(path: Path) -> tuple[int, ...]:
    from models.render import load_screenshot

    return load_screenshot(path).shape


def child(mode: str, path: Path) -> None:
    import PIL.Image  # noqa: F401 - imports outside the timed part

    import core.errors
    import models.render  # noqa: F401

    t0 = time.perf_counter()
    try:
        outcome = str((old_loader if mode == "old" else new_loader)(path))
    except core.errors.InputError as exc:
        outcome = f"refused: {exc}"
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": _vm_hwm_mb(), "outcome": outcome}))


def make_images(tmp: Path, side: int) -> dict[str, Path]:
    import numpy as np
    from PIL import Image

    big = np.full((side, side, 3), 250, np.uint8)
    for x in range(50, side - 50, max(side // 400, 4)):       # candle-like bars: a PNG that compresses
        big[side // 3: side // 3 + (x * 7919) % (side // 3), x:x + 3] = (20, 160, 60)
    png = tmp / "huge.png"
    Image.fromarray(big).save(png, compress_level=1)
    del big
    jpg = tmp / "large.jpg"
    Image.fromarray(np.kron(np.random.default_rng(1).integers(0, 255, (400, 600, 3), dtype=np.uint8),
                            np.ones((10, 10, 1), np.uint8))).save(jpg, quality=85)
    return {f"{side}x{side} PNG": png, "6000x4000 JPEG": jpg}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=12000)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="bench_images_") as d:
        images = make_images(Path(d), args.side)
        for name, path in images.items():
            res = {}
            for mode in ("old", "new"):
                out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True,
                                     text=True, cwd=REPO)
                line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
                res[mode] = json.loads(line) if line.startswith("{") else {
                    "seconds": float("nan"), "peak_rss_mb": float("nan"), "outcome": out.stderr.strip()[-200:]}
                r = res[mode]
                print(f"{name:16s} {mode}: {r['seconds'] * 1e3:9.1f} ms  peak RSS {r['peak_rss_mb']:7.0f} MB  "
                      f"{r['outcome'][:90]}")
            o, n = res["old"], res["new"]
            print(f"{name:16s} ratio new/old: time {n['seconds'] / o['seconds']:.3f}x, "
                  f"peak RSS {n['peak_rss_mb'] / o['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
