"""Panel widgets and pure helpers without a kernel: sorting, intent signals, autosave, formatting,
notifications, settings checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt

from app.panels.events import DesktopNotifier, EventLogController, describe
from app.panels.formatting import context_markdown
from app.panels.gpt import last_call_text
from app.panels.settings import check_api_bind, check_times
from core.errors import InputError
from core.scanner.events import FollowerEvent
from widgets.panels.event_log import EventLogPanel
from widgets.panels.notes import AUTOSAVE_MS, NotesPanel, NoteView
from widgets.panels.scanner import ScannerPanel, ScanRow
from widgets.panels.table import DataTable
from widgets.panels.watchlist import WatchlistPanel, WatchRow
from widgets.theme import DARK, LIGHT, change_color


def test_numeric_columns_sort_by_value_and_blanks_last(qtbot) -> None:  # type: ignore[no-untyped-def]
    t = DataTable(("Symbol", "R:R"))
    qtbot.addWidget(t)
    t.set_rows([("A", 10.0), ("B", None), ("C", 9.5), ("D", 100.0)], keys=["a", "b", "c", "d"])
    assert t.column_values(0) == ["A", "B", "C", "D"]  # the source order until a header click
    t.sortItems(1, Qt.SortOrder.AscendingOrder)
    assert t.column_values(0) == ["C", "A", "D", "B"]   # 9.5 < 10 < 100 (text order would put 100 first)
    assert t.key_at(0) == "c"


def test_scanner_double_click_names_the_candidate_after_sorting(qtbot) -> None:  # type: ignore[no-untyped-def]
    p = ScannerPanel(DARK)
    qtbot.addWidget(p)
    rows = [ScanRow(0, "SPY", "orb_retest", "armed", "long", 100.0, 99.0, 102.0, 2.0, 0.7, 0.1),
            ScanRow(1, "AAPL", "vwap", "triggered", "short", 20.0, 21.0, 18.0, 2.0, 0.6, 0.0)]
    p.set_candidates(rows, "2 setups")
    p.table.sortItems(0, Qt.SortOrder.AscendingOrder)    # AAPL first now
    with qtbot.waitSignal(p.candidate_activated, timeout=1000) as sig:
        p.table.cellDoubleClicked.emit(0, 0)
    assert sig.args == [1]
    colors = {p.table.item(r, 3).text(): p.table.item(r, 3).foreground().color().name() for r in range(2)}
    assert colors == {"long": DARK.up, "short": DARK.down}


def test_watchlist_intent_and_colours(qtbot) -> None:  # type: ignore[no-untyped-def]
    p = WatchlistPanel(LIGHT)
    qtbot.addWidget(p)
    p.set_lists(["Default", "Tech"], "Default")
    p.set_rows([WatchRow("SPY", 450.0, 0.5, "morning", "armed orb"), WatchRow("IBM", 180.0, -1.2, "morning", "")])
    assert p.table.item(0, 2).foreground().color().name() == LIGHT.up
    assert p.table.item(1, 2).foreground().color().name() == LIGHT.down
    with qtbot.waitSignal(p.symbol_added, timeout=1000) as added:
        p.add_box.setText(" nvda ")
        p.add_box.returnPressed.emit()
    assert added.args == ["NVDA"]
    p.table.selectRow(1)
    with qtbot.waitSignal(p.symbol_moved, timeout=1000) as moved:
        p._move(-1)
    assert moved.args == ["IBM", -1]
    with qtbot.waitSignal(p.list_selected, timeout=1000) as cycled:
        p.cycle(1)
    assert cycled.args == ["Tech"]


def test_notes_autosave_fires_well_within_a_second_and_on_switch(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert AUTOSAVE_MS < 1000
    p = NotesPanel()
    qtbot.addWidget(p)
    p.show_note(NoteView(7, "Plan review", "SPY", "old"))
    with qtbot.waitSignal(p.save_requested, timeout=1000) as saved:
        p.editor.setPlainText("# Level held\n\nbought the retest")
    assert saved.args == [7, "Plan review", "SPY", "", "# Level held\n\nbought the retest"]
    assert "Level held" in p.preview.toHtml()  # Markdown rendered
    p.editor.setPlainText("typed, then switched")
    with qtbot.waitSignal(p.save_requested, timeout=200) as flushed:
        p.show_note(NoteView(8, "Other", "", ""))     # switching saves what was typed first
    assert flushed.args[0] == 7 and flushed.args[4] == "typed, then switched"
    assert not p.is_dirty()


def test_follower_events_log_and_notify(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = EventLogPanel()
    qtbot.addWidget(panel)
    notifier = DesktopNotifier()
    delivered: list[tuple[str, str]] = []
    notifier.deliver = lambda title, text: delivered.append((title, text))  # type: ignore[method-assign]
    ctl = EventLogController(panel, notifier)
    ts = int(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp() * 1e9)
    ctl.on_event(FollowerEvent("abcdef123456", "tp_hit", "scaled", ts, 101.5, "", target=1))
    ctl.on_event(FollowerEvent("abcdef123456", "trail_adjusted", "trailing", ts, 101.0))
    ctl.on_event(FollowerEvent("abcdef123456", "stop", "exited", ts, 99.0))
    assert [t for t, _ in delivered] == ["Target hit · plan abcdef12", "Stopped out · plan abcdef12"]
    assert notifier.sent == delivered
    lines = panel.lines()
    assert len(lines) == 3 and "10:00:00" in lines[0] and "TP1" in lines[0]  # exchange time (ET)
    line, note = describe(FollowerEvent("p", "entered", "entered", ts, 100.0), "")
    assert note is not None and note[0].startswith("Entry") and "entered" in line
    notifier.close()


def test_context_markdown_names_trend_volatility_and_levels() -> None:
    snap = {"interval": "5m", "key_levels": {"pdh": 101.0, "vwap": 100.0},
            "snapshot": {"price": 100.0, "trend": {"ema_stack": "bullish", "adx14": 25.0},
                         "session": {"phase": "morning"}, "volatility": {"expected_move_horizon": 1.2}}}
    md = context_markdown({"snapshots": [snap], "volatility_regime": {"regime_label": "low", "iv_rank": 12.0,
                                                                      "iv_atm": 0.18, "hv_20": 0.15},
                           "summary": {"expected_move_horizon": 1.2, "confluence_score": 1.0}})
    assert "| 5m | bullish | 25.0 | morning | 100.00 |" in md
    assert "IV rank 12" in md and "ATM IV 18%" in md and "HV20 15%" in md and "- pdh: 101.00" in md
    assert "vwap: 100.00 ◀ price" in md


def test_settings_checks_name_the_field() -> None:
    with pytest.raises(InputError) as e:
        check_api_bind("my laptop", 8000)
    assert e.value.field == "api_host"
    with pytest.raises(InputError) as e:
        check_times({"session_start_time": "9h30"})
    assert e.value.field == "session_start_time"
    check_api_bind("0.0.0.0", 8080)
    check_times({"session_end_time": "16:00"})


def test_green_up_red_down() -> None:
    assert change_color(DARK, 1.0) == DARK.up and change_color(DARK, -1.0) == DARK.down
    assert change_color(DARK, 0.0) is None and change_color(DARK, None) is None


def test_last_call_text_names_minutes_and_the_user() -> None:
    assert last_call_text({}, 1000.0) == "no GPT call yet"
    assert last_call_text({"gpt": 990.0}, 1000.0) == "a GPT called 10 s ago (user gpt)"
    assert last_call_text({"gpt": 700.0, "alice": 820.0}, 1000.0) == "a GPT called 3 min ago (user alice)"
    assert last_call_text({"gpt": 1000.0 - 7300}, 1000.0) == "a GPT called 2 h ago (user gpt)"


def test_contracts_with_none_passing_say_why_with_the_nearest_misses() -> None:
    from app.panels.formatting import contracts_markdown
    from core.options.contract_idea import ContractIdea
    from core.options.ranker import RankRequest, rank_contracts
    from core.options.synth import synth_chain

    chain = synth_chain("SPY", 450.0, datetime(2024, 1, 4, 17, 0, tzinfo=UTC), atm_vol=0.14)
    res = rank_contracts(chain, RankRequest(direction="long", style="swing", max_spread_pct=0.5))
    text = contracts_markdown(ContractIdea("SPY", "SPY", res), {}, {})
    assert "**Best 0**" in text and "No contract passed every gate. The nearest misses:" in text
    first = text.split("The nearest misses:")[1].strip().splitlines()[0]
    assert first.startswith(f"- {res.rejections[0].contract}: SPREAD_TOO_WIDE")
