"""Where bundled resources live (the source tree, an installed package, or a PyInstaller bundle), and
where the app writes its log."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "tradecoach"


def config_dir() -> Path:
    """settings.json and window.ini: TRADECOACH_CONFIG_DIR, else the OS's per-user config folder.
    Here, not in core.config, so the window's frame can read its layout before pydantic loads."""
    import platformdirs

    return Path(os.environ.get("TRADECOACH_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def bundled_data_dir() -> Path:
    return resources_dir() / "data"


def log_file(data_dir: Path) -> Path:
    """The rotating log of the window, `serve` and the CLI: DATA_DIR/logs/tradecoach.log (5 MB × 4)."""
    return data_dir / "logs" / "tradecoach.log"


def bundled_tesseract() -> tuple[Path, Path] | None:
    """(program, language-data folder) of the tesseract a frozen build ships under `tesseract/`
    (build.spec); None from source, or when the bundle has none: then tesseract is found on PATH."""
    frozen = getattr(sys, "_MEIPASS", None)
    if not frozen:
        return None
    folder = Path(frozen) / "tesseract"
    exe = folder / ("tesseract.exe" if sys.platform == "win32" else "tesseract")
    return (exe, folder / "tessdata") if exe.is_file() else None
