"""The user guide's "Connect your GPT" screenshot: the real window (offscreen) on a throw-away data
folder, its GPT server started as at launch, a token created in the pane, one authenticated call
made — then the pane's dock grabbed into docs/images/panels-gpt.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/tools/shot_gpt_panel.py [--out docs/images/panels-gpt.png]

The token in the picture belongs to the throw-away database, deleted at exit: it opens nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
_TMP = tempfile.TemporaryDirectory(prefix="tc-shot-")
os.environ["TRADECOACH_DATA_DIR"] = str(Path(_TMP.name) / "data")
os.environ["TRADECOACH_CONFIG_DIR"] = str(Path(_TMP.name) / "config")


async def shoot(out: Path) -> None:
    import httpx

    from app.gui import _start_api
    from app.main_window import MainWindow
    from core.config import load_settings
    from core.workstation import Workstation

    kernel = Workstation(load_settings())
    kernel.runtime.start()
    await kernel.runtime.wrap(kernel.start())
    window = MainWindow(kernel)
    window.resize(1500, 950)
    window.show()
    try:
        await _start_api(window)                    # the window's one server, as at launch
        gpt = window.panels.gpt_ctl
        if gpt.url is None:                         # 8000 busy here: any free port for the picture
            gpt._bind = ("127.0.0.1", 0)
            await gpt.start()
        await window.open_initial("SPY", "5m")
        token = await gpt.create_token()
        async with httpx.AsyncClient(base_url=gpt.url or "", timeout=30.0) as c:
            r = await c.get("/gpt/health")
            r = await c.post("/gpt/scan", json={"universe": "SPY", "limit": 1},
                             headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
        gpt.show_last_call()
        window._show_api()
        dock = window.panels.docks["gpt"]
        dock.raise_()
        await asyncio.sleep(1.0)                    # qasync runs Qt's events: layout and paint land
        out.parent.mkdir(parents=True, exist_ok=True)
        if not dock.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        print(f"wrote {out} ({window.api_label.text().strip()}; {window.panels.gpt.last_call.text()})")
    finally:
        await gpt.stop()
        window.close()
        await kernel.runtime.wrap(kernel.stop())
        kernel.runtime.stop()


def main() -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "panels-gpt.png")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(shoot(args.out))


if __name__ == "__main__":
    main()
