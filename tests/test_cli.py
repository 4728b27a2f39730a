"""The `tradecoach` command line: every command's help, exit code 2 naming the field on bad input,
context/contracts as JSON on the replay feed, and `db upgrade` on a fresh database."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import main
from app.cli import COMMANDS, FORWARDED
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("restore_root_logging")


SUBCOMMANDS = [[c] for c in COMMANDS] + [["tokens", "add"], ["tokens", "list"], ["tokens", "revoke"],
                                         ["db", "upgrade"], ["db", "current"], ["collect", "schedule"]]


@pytest.mark.parametrize("argv", [[], *SUBCOMMANDS], ids=lambda a: " ".join(a) or "tradecoach")
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tradecoach" + (f" {argv[0]}" if argv else ""))
    # Commands that print data say so: --json is offered wherever there is data to print.
    if argv not in ([], ["serve"], ["tokens"], ["db"], ["collect"]):  # the groups list their commands
        assert "--json" in out


def test_the_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"\n    {command} " in out, command
    assert set(FORWARDED) < set(COMMANDS)
    assert "0 ok, 1 failure, 2 bad input" in " ".join(out.split())


def test_python_m_app_help_in_a_subprocess(isolated_dirs: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "app", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: tradecoach" in proc.stdout and "contracts" in proc.stdout and "db" in proc.stdout


BAD_INPUT = [
    (["context", "SPY", "--interval", "7m"], "interval: unknown interval '7m'"),
    (["context", "SPY", "--interval", "5m", "9x"], "intervals: unknown interval '9x'"),
    (["context", "SPY", "--lookback", "5"], "lookback: must be an integer"),
    (["contracts", "SPY"], "direction: is required"),
    (["contracts", "SPY", "--direction", "long", "--entry", "-3"], "entry: must be a positive price"),
    (["contracts", "SPY", "--direction", "long", "--target", "1", "2", "3", "4"], "target: give one to three"),
    (["scan", "--scan-interval", "2h"], "scan_interval: unknown interval '2h'"),
    (["import-bars", "{tmp}/missing.csv", "--symbol", "SPY"], "file: {tmp}/missing.csv: no such file"),
    (["eval-scanner", "--bars", "{tmp}/missing.csv"], "missing.csv does not exist"),
    (["predict", "{tmp}/missing.png", "--symbol", "SPY"], "image: cannot read"),
    (["read-chart", "{tmp}/missing.png"], "image: "),
    (["collect", "schedule", "--from", "2026-13-01", "--to", "2026-12-31"], "from: expected YYYY-MM-DD"),
    (["capture", "webcam"], "invalid choice: 'webcam'"),
    (["db", "upgrade", "9999_nope"], "revision: unknown revision '9999_nope'"),
    (["diagnostics", "--lines", "-1"], "lines: must be 0..10000"),
    (["serve", "--port", "70000"], "port: must be 0..65535"),
    (["context"], "the following arguments are required: symbol"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_bad_input_exits_2_with_the_field_named(argv: list[str], message: str, isolated_dirs: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tmp = str(isolated_dirs)
    assert main([a.replace("{tmp}", tmp) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message.replace("{tmp}", tmp) in err
    assert "Traceback" not in err


def test_context_as_json_on_the_replay_feed(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["context", "SPY", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["symbol"] == "SPY" and data["interval"] == "5m"
    assert {"as_of", "key_levels", "snapshot", "overlays"} <= set(data)
    assert "bars" not in data  # the series only with --series
    levels, price = data["key_levels"], data["snapshot"]["price"]
    assert levels["session_low"] <= price <= levels["session_high"]
    assert data["snapshot"]["session"]["phase"] and data["snapshot"]["trend"]["ema_stack"] in ("bullish", "bearish",
                                                                                              "mixed")
    # Two intervals: the multi-interval view (getMultiContext), one snapshot per interval.
    assert main(["context", "SPY", "--interval", "5m", "15m"]) == 0
    text = capsys.readouterr().out
    assert "SPY 5m as of" in text and "SPY 15m as of" in text and "regime" in text


def test_contracts_as_json_on_the_replay_feed(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["context", "SPY", "--json"]) == 0
    price = json.loads(capsys.readouterr().out)["snapshot"]["price"]
    entry, stop, target = round(price, 2), round(price * 0.996, 2), round(price * 1.008, 2)
    assert main(["contracts", "SPY", "--direction", "long", "--style", "swing", "--entry", str(entry),
                 "--stop", str(stop), "--target", str(target), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"symbol", "chain_symbol", "best", "alternatives", "rejections", "rejection_counts", "criteria",
            "source", "modelled", "warnings"} <= set(out)
    assert out["symbol"] == "SPY" and out["modelled"] is True  # the replay feed's modelled chain
    considered = len(out["best"]) + len(out["alternatives"]) + sum(out["rejection_counts"].values())
    assert considered > 10
    assert all(c["right"].upper().startswith("C") for c in out["best"])  # long → calls
    assert out["best"], out["rejection_counts"]     # swing contracts pass on the modelled chain
    assert [s["contract"] for s in out["scenarios"]] == [c["contract"] for c in out["best"]
                                                         if c["iv"] > 0 and c["mid"] > 0]
    for s in out["scenarios"]:                      # a long call loses at the stop, gains at the target
        assert s["labels"] == ["stop", "tp1"] and s["pnl_per_contract"][0] < 0 < s["pnl_per_contract"][1]


def test_db_upgrade_on_a_fresh_sqlite_file(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from core.store.engine import open_store

    db = isolated_dirs / "fresh" / "trading.db"
    monkeypatch.setenv("DB_URL", f"sqlite+pysqlite:///{db}")
    assert main(["db", "current", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["revision"] is None and before["current"] is False
    assert main(["db", "upgrade", "--json"]) == 0
    up = json.loads(capsys.readouterr().out)
    store = open_store(f"sqlite+pysqlite:///{db}")
    head = store.head_revision()
    store.close()
    assert up["from"] is None and up["to"] == head and up["changed"] is True
    assert str(db) in up["database"]
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"alembic_version", "plans", "api_tokens"} <= tables
    assert main(["db", "current", "--json"]) == 0
    now = json.loads(capsys.readouterr().out)
    assert now["revision"] == head and now["current"] is True
    assert main(["db", "upgrade"]) == 0
    assert f"already at {head}" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_lines_in_a_pipe_and_nothing_with_json() -> None:
    from core.progress import TerminalProgress

    def run(stream: io.StringIO, enabled: bool = True) -> str:
        with TerminalProgress("import", enabled=enabled, stream=stream) as bar:
            for i in range(101):
                bar.update(i / 100, f"row {i}")
        return stream.getvalue()

    piped = run(io.StringIO())
    assert piped.splitlines() == [f"  {p:4.0%}  import: row {p * 100:.0f}" for p in [i / 10 for i in range(11)]]
    assert run(io.StringIO(), enabled=False) == ""
    terminal = run(_Terminal())
    assert "\x1b[" in terminal and "100%" in terminal and "row 100" in terminal  # rich drew and finished
