"""The saved capture region (the rectangle the trader drags in the app), kept as JSON under the
data dir so the hotkey, the CLI and the scheduler capture the same pixels."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import DataError, InputError

log = logging.getLogger(__name__)

REGION_FILE = "capture/region.json"


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle in virtual-screen pixels (all monitors together, as mss numbers them)."""

    left: int
    top: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("left", "top", "width", "height"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise InputError(name, f"must be a whole number of pixels, got {v!r}")
        if self.width < 16 or self.height < 16:
            raise InputError("width" if self.width < 16 else "height", "the region must be at least 16x16 pixels")
        if self.width > 16384 or self.height > 16384:
            raise InputError("width" if self.width > 16384 else "height", "the region is larger than any screen")

    def as_mss(self) -> dict[str, int]:
        return asdict(self)


def region_path(data_dir: Path) -> Path:
    return Path(data_dir) / REGION_FILE


def save_region(data_dir: Path, region: Region) -> Path:
    path = region_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(region), indent=2))
    tmp.replace(path)
    return path


def load_region(data_dir: Path) -> Region | None:
    """The saved region, or None when none was saved. A damaged file is an error, not 'no region'."""
    path = region_path(data_dir)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable capture region ({exc})") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{path}: the capture region must be a JSON object")
    missing = [k for k in ("left", "top", "width", "height") if k not in raw]
    if missing:
        raise DataError(f"{path}: the capture region lacks {', '.join(missing)}")
    return Region(raw["left"], raw["top"], raw["width"], raw["height"])


def clear_region(data_dir: Path) -> None:
    region_path(data_dir).unlink(missing_ok=True)
