"""A learning-curve chart drawn with PIL (matplotlib is not a dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {"train_loss": (41, 98, 255), "val_loss": (239, 83, 80)}


def learning_curve_png(history: Sequence[dict[str, float]], path: Path, *, best_epoch: int | None = None,
                       title: str = "learning curve", size: tuple[int, int] = (720, 400)) -> Path:
    """Train and validation loss per epoch; the best (checkpointed) epoch is marked."""
    w, h = size
    left, right, top, bottom = 70, 20, 40, 50
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    epochs = [int(r["epoch"]) for r in history]
    values = [r[k] for r in history for k in COLOURS]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.1 or 0.01
    lo, hi = lo - pad, hi + pad
    e0, e1 = min(epochs), max(max(epochs), min(epochs) + 1)

    def xy(e: float, v: float) -> tuple[float, float]:
        return (left + (e - e0) / (e1 - e0) * (w - left - right), top + (hi - v) / (hi - lo) * (h - top - bottom))

    d.rectangle([left, top, w - right, h - bottom], outline=(160, 160, 160))
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = xy(e0, v)[1]
        d.line([left, y, w - right, y], fill=(235, 235, 235))
        d.text((8, y - 6), f"{v:.4f}", fill=(60, 60, 60))
    for e in epochs:
        x = xy(e, lo)[0]
        d.text((x - 4, h - bottom + 6), str(e), fill=(60, 60, 60))
    d.text((w // 2 - 20, h - 22), "epoch", fill=(60, 60, 60))
    d.text((left, 12), title, fill=(0, 0, 0))
    for i, (name, colour) in enumerate(COLOURS.items()):
        pts = [xy(int(r["epoch"]), r[name]) for r in history]
        d.line(pts, fill=colour, width=2)
        for x, y in pts:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        d.text((w - right - 150, top + 8 + 14 * i), name.replace("_", " "), fill=colour)
    if best_epoch is not None:
        row = next(r for r in history if int(r["epoch"]) == best_epoch)
        x, y = xy(best_epoch, row["val_loss"])
        d.ellipse([x - 7, y - 7, x + 7, y + 7], outline=(0, 0, 0), width=2)
        d.text((x + 9, y + 4), f"best (epoch {best_epoch})", fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
