"""Kill the app mid-edit and reopen: what was typed more than a second before the kill is there."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

CHILD = textwrap.dedent('''
    import asyncio, os, signal, sys
    from datetime import date
    from PySide6.QtWidgets import QApplication
    from core.config import load_settings
    from core.workstation import Workstation

    async def main() -> None:
        from app.main_window import MainWindow
        k = Workstation(load_settings(), today=date(2026, 11, 22))
        await k.start()
        w = MainWindow(k)
        await w.open_initial("SPY", "5m")
        note = await w.panels.notes_ctl.create("", "Crash test", "SPY")
        editor = w.panels.notes.editor
        for word in ("held", "the", "opening", "range"):          # typed word by word
            editor.insertPlainText(word + " ")
            for _ in range(5):
                QApplication.processEvents()
                await asyncio.sleep(0.02)
        end = asyncio.get_running_loop().time() + 1.0            # one second passes ...
        while asyncio.get_running_loop().time() < end:
            QApplication.processEvents()
            await asyncio.sleep(0.02)
        editor.insertPlainText("UNSAVED-TAIL")                   # ... then more typing and the crash
        print(f"note {note.id}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    if __name__ == "__main__":
        app = QApplication(sys.argv)
        asyncio.run(main())
''')


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_app_keeps_what_was_typed_a_second_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "crash_child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "TRADECOACH_DATA_DIR": str(tmp_path / "data"),
           "TRADECOACH_CONFIG_DIR": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(REPO)}
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    # Files, not pipes: the killed app's worker processes may hold a pipe open after it dies.
    with out.open("w") as fo, err.open("w") as fe:
        proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO, env=env, stdout=fo, stderr=fe)
        rc = proc.wait(timeout=180)
    assert rc == -9, err.read_text()[-2000:]                    # killed, not a clean exit
    note_id = int(out.read_text().split("note ")[1].split()[0])
    from core.config import load_settings
    from core.store.notes import NotesRepo

    monkeypatch.setenv("TRADECOACH_DATA_DIR", env["TRADECOACH_DATA_DIR"])     # reopen the same data
    monkeypatch.setenv("TRADECOACH_CONFIG_DIR", env["TRADECOACH_CONFIG_DIR"])
    from core.workstation import Workstation

    k = Workstation(load_settings())
    store = k.open_store()
    try:
        note = NotesRepo(store).get(note_id)
    finally:
        store.close()
    assert note is not None and note.content.startswith("held the opening range")
