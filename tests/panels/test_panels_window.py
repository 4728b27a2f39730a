"""Every panel in the real window on the replay feed: scanner, watchlist, plan, contracts, context,
notes (live both ways, autosave), jobs (progress, cancel), Connect your GPT, settings, shortcuts."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from core.api.auth import TokensRepo
from core.jobs import JobContext, JobStatus
from core.scanner.events import FollowerEvent
from core.store.watchlists import WatchlistsRepo
from tests.panels.conftest import until

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


async def test_first_run_shows_a_setup_in_play_on_the_replay_feed(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    assert not w.hint_bar.isHidden() and "Connect your GPT" in w.hint.text()   # no key asked for
    await until(lambda: p.scanner.table.rowCount() > 0, what="the first live scan")
    report = p.scanner_ctl.report
    states = {c.state.value for c in report.candidates}
    assert states <= {"triggered", "armed", "forming"}
    assert p.scanner.table.rowCount() == len(report.candidates)
    # The watchlist: the configured symbols, with quotes and each one's best setup state.
    assert p.watchlist.symbols() == w.kernel.settings.symbols
    await until(lambda: p.watchlist.table.item(0, 1).text() != "—", what="watchlist quotes")
    best_spy = p.watchlist.table.item(0, 4).text()
    assert best_spy.split(" ")[0] in states | {""}
    # The best setup of the chart's symbol is in the plan panel and drawn on the chart.
    await until(lambda: p.plan_ctl.plan is not None, what="a plan in the plan panel")
    plan = p.plan_ctl.plan
    assert plan.symbol == "SPY" and f"{plan.entry:,.2f}" in p.plan.details.toPlainText()
    drawn = w.chart.describe()["plan"]
    assert drawn is not None and drawn["lines"]["entry"] == pytest.approx(plan.entry, abs=1e-3)
    # Contracts for that plan (or the reason there are none), and the context of the chart's symbol.
    await until(lambda: "Ranking" not in p.contracts.body.toPlainText(), what="contract ranking")
    text = p.contracts.body.toPlainText()
    assert "Best" in text or "Not available" in text
    await until(lambda: p.context_ctl.loaded > 0, what="context")
    assert "Trend stack" in p.context.body.toPlainText() and "Volatility regime" in p.context.body.toPlainText()
    # Status bar: per-capability feed state, exchange clock with phase, API state.
    assert "bars: replay" in w.caps_label.text()
    w._tick_clock()
    await until(lambda: "ET ·" in w.clock_label.text(), what="the exchange clock")
    assert "API: off" in w.api_label.text()


async def test_scanner_double_click_opens_the_symbol_and_sorts(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    await until(lambda: p.scanner.table.rowCount() > 1, what="the first live scan")
    refreshes = p.scanner_ctl.refreshes
    p.scanner_ctl.scan_now()                                   # F5
    await until(lambda: p.scanner_ctl.refreshes > refreshes, what="scan now")
    p.scanner.table.sortItems(8)                               # confidence
    conf = [float(v) for v in p.scanner.table.column_values(8)]
    assert conf == sorted(conf)
    other = next(r for r in range(p.scanner.table.rowCount()) if p.scanner.table.item(r, 0).text() != "SPY")
    symbol = p.scanner.table.item(other, 0).text()
    p.scanner.table.cellDoubleClicked.emit(other, 0)
    await until(lambda: w.controller.symbol == symbol, what="the chart to open the candidate")
    assert w.controller.interval.name == "5m"


async def test_watchlist_edits_are_stored_and_lists_cycle(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    await until(lambda: p.watchlist.table.rowCount() > 0, what="the watchlist")
    repo = WatchlistsRepo(w.kernel.store)
    p.watchlist.symbol_removed.emit("BAC")
    await until(lambda: "BAC" not in p.watchlist.symbols(), what="remove")
    p.watchlist.symbol_moved.emit("IBM", -1)
    await until(lambda: p.watchlist.symbols().index("IBM") == 1, what="move")
    assert repo.get("Default") == p.watchlist.symbols() and "BAC" not in repo.get("Default")
    await until(lambda: p.scanner_ctl.symbols == p.watchlist.symbols(), what="the scanner on the edited list")
    p.watchlist.list_created.emit("Tech")
    await until(lambda: p.watchlist_ctl.name == "Tech", what="new list")
    p.watchlist.symbol_added.emit("AAPL")
    await until(lambda: p.watchlist.symbols() == ["AAPL"], what="add")
    assert repo.get("Tech") == ["AAPL"]
    p.watchlist.cycle(1)                                       # Ctrl+]
    await until(lambda: p.watchlist_ctl.name == "Default", what="cycle")


async def test_notes_live_both_ways_with_autosave(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    notes = w.kernel.notes
    # A note written through the API (the same service) appears in the panel without a refresh.
    gpt_note = await notes.create("GPT: SPY held VWAP", title="From GPT", symbol="SPY")
    await until(lambda: p.notes.list.count() == 1, what="the GPT's note in the panel")
    p.notes.list.setCurrentRow(0)
    await until(lambda: p.notes.current_id() == gpt_note.id, what="open the note")
    p.notes.editor.setPlainText("GPT: SPY held VWAP\n\nMe: agreed, long the retest")
    # Autosave: stored well within a second of the last keystroke (no explicit save).
    await until(lambda: p.notes_ctl.saves >= 1, timeout=1.0, what="autosave within 1 s")
    assert "agreed" in (await notes.get(gpt_note.id)).content
    # The GPT edits the note: the open editor follows (the trader is not typing).
    await notes.update(gpt_note.id, content="GPT: stop moved to 450")
    await until(lambda: p.notes.editor.toPlainText() == "GPT: stop moved to 450", what="live reload")
    # New note from the plan in the plan panel, then search and symbol filter.
    await until(lambda: p.plan_ctl.plan is not None, what="a plan")
    p.plan.note_requested.emit()
    await until(lambda: p.notes.list.count() == 2, what="note from plan")
    assert p.plan_ctl.plan.plan_id in p.notes.editor.toPlainText()
    p.notes.search.setText('"stop moved"')   # the phrase (words alone are stemmed: "move" is in the plan)
    await until(lambda: p.notes.list.count() == 1, what="search")
    p.notes.search.setText("")
    p.notes.symbol_filter.setText("IBM")
    await until(lambda: p.notes.list.count() == 0, what="symbol filter")
    # Delete through the panel: gone from the store.
    p.notes.symbol_filter.setText("")
    p.notes.show_note(None)
    p.notes.delete_requested.emit(gpt_note.id)
    await until(lambda: p.notes.list.count() == 1, what="delete")
    assert [n.id for n in await notes.list()] != [gpt_note.id]


async def test_follower_events_reach_plan_history_log_and_notifications(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    sent: list[tuple[str, str]] = []
    p.notifier.deliver = lambda title, text: sent.append((title, text))  # type: ignore[method-assign]
    await until(lambda: p.plan_ctl.plan is not None, what="a plan")
    pid = p.plan_ctl.plan.plan_id
    for kind, state in (("entered", "entered"), ("tp_hit", "scaled"), ("invalidated", "exited")):
        w.kernel.bus.publish(FollowerEvent(pid, kind, state, w.kernel.clock.now_ns(), 100.0, target=1))
    await w.kernel.bus.drain()
    await until(lambda: len(sent) == 3, what="three notifications")
    assert [t.split(" ·")[0] for t, _ in sent] == ["Entry", "Target hit", "Invalidated"]
    assert p.plan.events.count() == 3 and "tp_hit TP1" in p.plan.events.item(1).text()
    assert sum("plan " + pid[:8] in line for line in p.event_log.lines()) == 3


async def test_an_armed_setup_is_followed_from_the_plan_panel(window) -> None:  # type: ignore[no-untyped-def]
    """Arm on an armed (unstored) setup: the kernel watches it; "triggered" opens the stored plan
    with the watch's history; Disarm ends the watch."""
    from core.scanner.plan import save_plan
    from core.scanner.setups import SetupState
    from core.store.plans import PlansRepo

    w, p = window, window.panels
    sent: list[tuple[str, str]] = []
    p.notifier.deliver = lambda title, text: sent.append((title, text))  # type: ignore[method-assign]
    await until(lambda: any(c.state is SetupState.ARMED for c in p.scanner_ctl.report.candidates),
                what="an armed setup in the live scan")
    c = next(c for c in p.scanner_ctl.report.candidates if c.state is SetupState.ARMED)
    forming = next((x for x in p.scanner_ctl.report.candidates if x.state is SetupState.FORMING), None)
    if forming is not None:
        p.plan_ctl.show_candidate(forming)
        assert not p.plan.arm.isEnabled()           # nothing to follow yet
    p.plan_ctl.show_candidate(c)
    assert p.plan.arm.isEnabled() and not p.plan_ctl.stored
    wid = c.plan.plan_id
    p.plan.arm.click()
    await until(lambda: wid in p.plan_ctl.watching, what="the armed setup watched")
    await until(lambda: p.plan.follow_state.text() == "Follower: armed", what="the panel's follower state")
    assert w.kernel.plans.following().get(wid) == "armed"
    # It triggers: the stored plan opens in the panel and carries the watch's history on.
    stored = save_plan(PlansRepo(w.kernel.store), c.plan)
    w.kernel.bus.publish(FollowerEvent(wid, "triggered", "planned", w.kernel.clock.now_ns(), c.plan.entry,
                                       f"plan {stored.plan_id}", 0, stored.plan_id))
    await w.kernel.bus.drain()
    await until(lambda: p.plan_ctl.stored and p.plan_ctl.plan.plan_id == stored.plan_id, what="the triggered plan")
    assert wid not in p.plan_ctl.watching
    assert "triggered" in p.plan.events.item(p.plan.events.count() - 1).text()
    await until(lambda: any(t.startswith("Armed setup triggered") for t, _ in sent), what="a notification")
    # Disarm a watch from the panel: the kernel stops watching.
    p.plan_ctl.show_candidate(c)
    p.plan.arm.click()
    await until(lambda: w.kernel.plans.following().get(wid) == "armed", what="watched again")
    p.plan.arm.click()
    await until(lambda: wid not in w.kernel.plans.following(), what="the watch ended")
    assert p.plan.follow_state.text() == "Not followed"


async def test_jobs_show_progress_and_cancel(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels

    async def runner(ctx: JobContext) -> dict[str, object]:
        for i in range(400):
            ctx.progress(i / 400, f"step {i}")
            if ctx.cancelled:
                break
            await asyncio.sleep(0.05)
        return {}

    info = await w.kernel.jobs.submit("demo", runner)
    await until(lambda: p.jobs.table.rowCount() == 1 and p.jobs.table.item(0, 2).text() == "running",
                what="the running job")
    p.jobs.table.selectRow(0)
    p.jobs._cancel()
    await until(lambda: p.jobs.table.item(0, 2).text() == "cancelled", what="cancelled")
    assert (await w.kernel.jobs.get(info.id)).status is JobStatus.CANCELLED


async def test_connect_your_gpt_server_and_token(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    gpt = p.gpt_ctl
    gpt._bind = ("127.0.0.1", 0)                  # any free port
    await gpt.start()
    url = gpt.url
    assert url and p.gpt.server_url.text() == url and p.gpt.schema_url.text() == f"{url}/openapi-gpt.json"
    assert url.rsplit(":", 1)[1] in p.gpt.tunnel.text()
    server = gpt.server
    await gpt.start()                             # one server: a second start keeps it
    assert gpt.server is server and gpt.url == url
    w._show_api()
    assert url in w.api_label.text() and "token not set" in w.api_label.text()
    assert p.gpt.last_call.text() == "no GPT call yet"
    token = await gpt.create_token()
    assert len(token) > 30 and p.gpt.new_token.text() == token and p.gpt.tokens.count() == 1
    # The same store as `tradecoach tokens`: hashed there, and the running server takes it at once.
    listed = TokensRepo(w.kernel.store).list_tokens()
    assert [t.user for t in listed] == ["gpt"] and token.startswith(listed[0].prefix)
    assert listed[0].prefix in p.gpt.tokens.item(0).text()
    w._show_api()
    assert "token set" in w.api_label.text()
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as c:
        assert (await c.get("/api/v1/jobs")).status_code == 401   # a token exists: none given → refused
        assert gpt.server.last_request_at is None                # a refused call is not a call
        r = await c.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    assert gpt.server.last_request_by_user().keys() == {"gpt"}
    gpt.show_last_call()
    assert p.gpt.last_call.text().startswith("a GPT called ") and "(user gpt)" in p.gpt.last_call.text()
    p.gpt.tokens.setCurrentRow(0)
    p.gpt._revoke()                               # the pane's Revoke button: by the token's id
    await until(lambda: p.gpt.tokens.count() == 0, what="revoke")
    assert TokensRepo(w.kernel.store).list_tokens() == []
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as c:
        r = await c.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200               # no token left: loopback is open again, anonymous
    assert gpt.server.last_request_by_user().keys() == {"gpt", "local"}
    await gpt.stop()
    assert p.gpt.server_url.text() == "not running" and p.gpt.last_call.text() == "server not running"


async def test_connect_your_gpt_reports_a_port_in_use_and_the_window_goes_on(window) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    gpt = p.gpt_ctl
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        gpt._bind = ("127.0.0.1", port)
        error = await gpt.autostart()
    assert error is not None and str(port) in error and gpt.server is None
    assert not p.gpt.server_error.isHidden() and str(port) in p.gpt.server_error.text()
    assert p.gpt.server_url.text() == "not running"
    w._show_api()
    assert "API: off (" in w.api_label.text() and str(port) in w.api_label.text()
    gpt._bind = ("127.0.0.1", 0)
    assert await gpt.autostart() is None and gpt.url is not None   # the port is free again: it starts
    assert p.gpt.server_error.isHidden()
    await gpt.stop()


async def test_the_window_starts_its_gpt_server_at_launch_when_the_settings_say_so(window) -> None:  # type: ignore[no-untyped-def]
    from app.gui import _start_api

    w, p = window, window.panels
    gpt = p.gpt_ctl
    saved = gpt._bind
    gpt._bind = w.settings_ctl.api_bind            # as composed: the address in Settings
    qs = w.settings_ctl._qs
    try:
        qs.setValue("api_port", 0)
        qs.setValue("api_autostart", "false")
        await _start_api(w)
        assert gpt.server is None and "API: off" in w.api_label.text()
        qs.setValue("api_autostart", "true")
        await _start_api(w)
        assert gpt.url is not None and gpt.url in w.api_label.text() and p.gpt.server_url.text() == gpt.url
    finally:
        await gpt.stop()
        qs.remove("api_port")
        qs.remove("api_autostart")
        gpt._bind = saved


async def test_settings_refuse_a_bad_value_and_keep_the_saved_ones(window) -> None:  # type: ignore[no-untyped-def]
    w = window
    dialog = w.open_settings()
    dialog.theme.setCurrentText("light")
    assert await w.settings_ctl.apply(dialog, *dialog.changes())
    assert w.kernel.settings.theme == "light" and w.chart.theme.name == "light"
    dialog = w.open_settings()
    dialog.replay_start.setValue(-5)                           # out of range
    dialog.theme.setCurrentText("dark")
    assert not await w.settings_ctl.apply(dialog, *dialog.changes())
    assert "replay_start_minutes" in dialog.error.text()
    assert w.kernel.settings.theme == "light"                  # nothing of the refused edit was applied
    dialog.close()


async def test_shortcuts_dialog_lists_the_keys(window) -> None:  # type: ignore[no-untyped-def]
    w = window
    dialog = w.show_shortcuts()
    keys = dialog.table.column_values(0)
    for k in ("Ctrl+K", "F5", "Ctrl+Shift+S", "Space", "Ctrl+Right", "Alt+1 … Alt+7", "Ctrl+Shift+1"):
        assert k in keys
    actions = {a.shortcut().toString() for a in w.actions()}
    assert {"F5", "Ctrl+Shift+S", "Ctrl+,", "F1"} <= actions
    w._select_interval("15m")
    await until(lambda: w.controller.interval is not None and w.controller.interval.name == "15m", what="Alt+3")
    dialog.close()
