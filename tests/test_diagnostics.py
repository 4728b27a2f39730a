"""Diagnostics (CLI and the window's Help → Copy diagnostics): versions, settings, database, feeds
and the last log lines, and never a secret — even one that reached the log file."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from app.__main__ import main

BACKEND_KEY = "bk-7f3a9c2e5d1b8a6f"
DB_PASSWORD = "pg-Zq81xLmW"
API_TOKEN = "tcw_Q2hhcnRzQXJlRnVuMTIzNDU2Nzg5MA"
BEARER = "eyJhbGciOiJIUzI1NiJ9.payload.signature"
QUERY_KEY = "pk_live_51Habc"


pytestmark = pytest.mark.usefixtures("restore_root_logging")


def _leaky_log(data_dir: Path) -> Path:
    """A log written before scrubbing existed (or by another tool): secrets in clear."""
    from core.paths import log_file

    path = log_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([
        "2026-12-01 10:00:00 INFO old: first line that scrolls away",
        *[f"2026-12-01 10:00:{i:02d} INFO filler {i}" for i in range(30)],
        f"2026-12-01 10:01:00 INFO feeds: backend key {BACKEND_KEY} loaded",
        f"2026-12-01 10:01:01 INFO api: issued {API_TOKEN} to alice",
        f"2026-12-01 10:01:02 INFO http: Authorization: Bearer {BEARER}",
        f"2026-12-01 10:01:03 INFO http: GET https://vendor.example/v2?symbol=SPY&apiKey={QUERY_KEY}",
        f"2026-12-01 10:01:04 INFO store: postgresql+psycopg://alice:{DB_PASSWORD}@127.0.0.1:9/tc",
        "2026-12-01 10:01:05 INFO marker: last line",
    ]) + "\n", encoding="utf-8")
    return path


def _assert_clean(text: str) -> None:
    for secret in (BACKEND_KEY, DB_PASSWORD, API_TOKEN, BEARER, QUERY_KEY, API_TOKEN[4:]):
        assert secret not in text, secret


@pytest.fixture
def leaky(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BACKEND_API_KEY", BACKEND_KEY)
    # A database that is not there (port 9 refuses at once): its password must not show either.
    monkeypatch.setenv("DB_URL", f"postgresql+psycopg://alice:{DB_PASSWORD}@127.0.0.1:9/tc")
    return _leaky_log(isolated_dirs / "data")


def test_diagnostics_json_has_the_sections_and_no_secret(leaky: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnostics", "--json", "--lines", "8"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    _assert_clean(out)
    assert report["versions"]["python"].count(".") == 2 and report["versions"]["pyside6-essentials"] != ""
    assert report["settings"]["backend_api_key"] == "set"
    assert report["settings"]["db_url"] == "postgresql+psycopg://alice:***@127.0.0.1:9/tc"
    assert report["database"]["backend"] == "postgresql" and "error" in report["database"]
    assert report["feeds"]["running"] is False
    lines = report["log"]["lines"]
    assert report["log"]["path"] == str(leaky)
    assert len(lines) == 8 and lines[-1].endswith("marker: last line")      # the last N, in order
    assert any("backend key *** loaded" in line for line in lines)         # the line stays, the value goes
    assert any("apiKey=***" in line for line in lines) and any("Bearer ***" in line for line in lines)


def test_diagnostics_text_and_a_secret_logged_through_logging(leaky: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.logs import setup_logging
    from core.config import load_settings
    from core.diagnostics import secret_values

    settings = load_settings()
    setup_logging(settings.data_dir, secrets=secret_values(settings))
    logging.getLogger("test").warning("vendor said: key=%s token %s", BACKEND_KEY, API_TOKEN)
    for h in logging.getLogger().handlers:
        h.flush()
    written = leaky.read_text()
    assert "vendor said: key=*** token tcw_***" in written  # the log filter masked it on the way in
    assert main(["diagnostics"]) == 0
    text = capsys.readouterr().out
    _assert_clean(text)
    assert "## Versions" in text and "## Database" in text and "vendor said" in text and "marker: last line" in text


async def test_copy_diagnostics_in_the_window(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from core.config import load_settings
    from core.workstation import Workstation

    _leaky_log(isolated_dirs / "data")
    k = Workstation(load_settings(backend_api_key=BACKEND_KEY), today=date(2026, 11, 22))
    await k.start()
    window = MainWindow(k)
    qtbot.addWidget(window)
    try:
        assert window.diagnostics_action.text() == "Copy diagnostics"
        assert window.diagnostics_action in window.menuBar().actions()[-1].menu().actions()  # Help menu
        text = await window.copy_diagnostics()
        assert QApplication.clipboard().text() == text
        _assert_clean(text)
        assert "feed: replay (replay)" in text and "marker: last line" in text
        assert k.store is not None
        assert f"revision {k.store.current_revision()} (newest {k.store.head_revision()})" in text
    finally:
        window.close()
        await k.stop()
