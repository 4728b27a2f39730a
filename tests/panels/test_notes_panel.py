"""The Notes panel as a first-class tool: the widget (tag editor, filters, link, export menu) and the
real window on the replay feed (API ↔ panel live, tag/symbol filters, ranked search, bad query
shown in the panel, note from a plan linked to it, double-click opens the plan on the chart,
export of selected/all notes to Markdown with front matter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.panels.notes import export_notes, note_markdown
from core.scanner.plan import save_plan
from core.store.notes import NotesRepo
from core.store.plans import PlansRepo
from tests.panels.conftest import until
from widgets.panels.notes import ALL_TAGS, FILTER_MS, NotesPanel, NoteView


def _front_matter(text: str) -> tuple[dict[str, object], str]:
    """The exported file's YAML front matter (its values are JSON, which YAML reads as is)."""
    head, _, body = text.partition("\n---\n")
    assert head.startswith("---\n")
    out: dict[str, object] = {}
    for line in head.splitlines()[1:]:
        key, _, raw = line.partition(": ")
        out[key] = raw if key in ("created", "updated") else json.loads(raw)
    return out, body


# -- the widget ---------------------------------------------------------------------------------
def test_tag_editor_filters_link_and_export_menu(qtbot) -> None:  # type: ignore[no-untyped-def]
    p = NotesPanel()
    qtbot.addWidget(p)
    p.set_notes([NoteView(1, "ORB", "SPY", "a", tags=("orb", "fade"), link="plan SPY-1 v2", link_kind="plan"),
                 NoteView(2, "Gap", "QQQ", "b")])
    assert "#orb" in p.list.item(0).text() and "🔗" in p.list.item(0).text()
    p.show_note(NoteView(1, "ORB", "SPY", "a", tags=("orb", "fade"), link="plan SPY-1 v2", link_kind="plan"))
    assert p.tags.text() == "orb, fade" and not p.link.isHidden() and "plan SPY-1 v2" in p.link.text()
    with qtbot.waitSignal(p.save_requested, timeout=1000) as saved:   # editing tags autosaves them
        p.tags.setText("orb, fade, vwap")
        p.tags.textEdited.emit(p.tags.text())
    assert saved.args[:4] == [1, "ORB", "SPY", "orb, fade, vwap"]
    with qtbot.waitSignal(p.link_requested, timeout=500) as link:     # the link in the editor
        p.link.linkActivated.emit("open")
    assert link.args == [1]
    with qtbot.waitSignal(p.link_requested, timeout=500) as dbl:      # double-click in the list
        p.list.itemDoubleClicked.emit(p.list.item(1))
    assert dbl.args == [2]
    p.show_note(NoteView(2, "Gap", "QQQ", "b"))
    assert p.link.isHidden() and p.tags.text() == ""

    p.set_tags([("orb", 3), ("fade", 1)])
    assert [p.tag_filter.itemText(i) for i in range(p.tag_filter.count())] == [ALL_TAGS, "#orb (3)", "#fade (1)"]
    with qtbot.waitSignal(p.filter_changed, timeout=FILTER_MS + 500) as f:   # one debounced emit
        p.tag_filter.setCurrentIndex(2)
        p.search.setText("opening")
        p.symbol_filter.setText("spy")
    assert f.args == ["SPY", "fade", "opening"]
    p.set_tags([("orb", 4), ("fade", 2)])                              # refreshed counts: choice kept
    assert p.tag_filter.currentData() == "fade" and p.tag_filter.currentText() == "#fade (2)"

    p.list.clearSelection()
    p.list.item(0).setSelected(True)
    p.list.item(1).setSelected(True)
    with qtbot.waitSignal(p.export_requested, timeout=500) as ex:
        p.export_selected_action.trigger()
    assert sorted(ex.args[0]) == [1, 2]
    with qtbot.waitSignal(p.export_requested, timeout=500) as ex_all:
        p.export_all_action.trigger()
    assert ex_all.args == [[]]


# -- the window ---------------------------------------------------------------------------------
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.slow
async def test_notes_panel_in_the_window(window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w, p = window, window.panels
    notes, store = w.kernel.notes, w.kernel.store
    # A note written through the API (the same service and bus) appears live, tags and all.
    api_note = await notes.create("Reclaim of VWAP after the opening drive", title="VWAP reclaim",
                                  symbol="SPY", tags=["vwap", "orb"])
    other = await notes.create("Gap faded into the close; VWAP never reclaimed", title="Gap fade", symbol="QQQ",
                               tags=["fade"])
    await until(lambda: p.notes.list.count() == 2, what="the API's notes in the panel")
    await until(lambda: p.notes.tag_filter.count() == 4, what="the tag filter's choices")
    # Tag and symbol filters, then ranked search (the title hit first).
    p.notes.tag_filter.setCurrentIndex(p.notes.tag_filter.findData("fade"))
    await until(lambda: p.notes.list.count() == 1, what="tag filter")
    assert p.notes.list.item(0).data(Qt.ItemDataRole.UserRole) == other.id
    p.notes.tag_filter.setCurrentIndex(0)
    p.notes.symbol_filter.setText("SPY")
    await until(lambda: p.notes.list.count() == 1 and p.notes.list.item(0).data(Qt.ItemDataRole.UserRole)
                == api_note.id, what="symbol filter")
    p.notes.symbol_filter.setText("")
    p.notes.search.setText("vwap reclaim")
    await until(lambda: p.notes.list.count() == 2, what="search")
    assert [p.notes.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(2)] == [api_note.id, other.id]
    # A half-typed query: the reason in the panel, the list kept, no error box.
    p.notes.search.setText('"opening')
    await until(lambda: "closing quote" in p.notes.status.text(), what="the bad query's reason")
    assert p.notes.list.count() == 2 and "closing quote" not in w.statusBar().currentMessage()
    p.notes.search.setText("")
    await until(lambda: p.notes.list.count() == 2, what="the whole list")

    # The trader edits tags in the panel: the service (what the API reads) has them.
    p.notes.show_note(await _view(w, api_note.id))
    p.notes.tags.setText("vwap, reclaim")
    p.notes.tags.textEdited.emit(p.notes.tags.text())
    await until(lambda: p.notes_ctl.saves >= 1, timeout=2.0, what="autosave of tags")
    assert (await notes.get(api_note.id)).tags == ("reclaim", "vwap")
    # A bad tag never costs the text: the text is saved, the tag refused with its reason.
    p.notes.tags.setText("vwap, bad tag!")
    p.notes.editor.setPlainText("Reclaim of VWAP after the opening drive. Sized up.")
    await until(lambda: "not saved" in p.notes.status.text(), timeout=2.0, what="refused tag")
    assert "Sized up" in (await notes.get(api_note.id)).content and "tags" in p.notes.status.text()

    # "New note from this plan" links the note to the stored plan; double-click opens it on the chart.
    await until(lambda: p.plan_ctl.plan is not None, timeout=120, what="a plan (the first live scan)")
    stored = await w.kernel.runtime.run_io(lambda: save_plan(PlansRepo(store), p.plan_ctl.plan))
    await p.plan_ctl.show_stored(stored.plan_id, stored.version)
    before = {n.id for n in await notes.list()}
    p.plan.note_requested.emit()
    await until(lambda: p.notes.list.count() == 3, what="note from plan")
    linked = next(n for n in await notes.list() if n.id not in before)
    assert linked.link is not None and (linked.link.plan_id, linked.link.plan_version) == (stored.plan_id,
                                                                                          stored.version)
    assert f"plan {stored.plan_id}" in p.notes.link.text() and not p.notes.link.isHidden()
    w.show_symbol("QQQ" if stored.symbol != "QQQ" else "SPY")             # look elsewhere first
    await until(lambda: w.controller.symbol != stored.symbol, what="another symbol")
    row = next(i for i in range(p.notes.list.count())
               if p.notes.list.item(i).data(Qt.ItemDataRole.UserRole) == linked.id)
    p.notes.list.itemDoubleClicked.emit(p.notes.list.item(row))
    await until(lambda: w.controller.symbol == stored.symbol, what="the plan's symbol on the chart")
    assert p.plan_ctl.plan.plan_id == stored.plan_id and p.plan_ctl.plan.version == stored.version
    await until(lambda: (w.chart.describe()["plan"] or {}).get("lines", {}).get("entry") is not None,
                what="the plan drawn")
    assert w.chart.describe()["plan"]["lines"]["entry"] == pytest.approx(stored.entry, abs=1e-3)

    # Deleted through the API: gone from the panel.
    await notes.delete(other.id)
    await until(lambda: p.notes.list.count() == 2, what="live delete")

    # Export: the selected note, then all notes, one .md each with front matter.
    sel = tmp_path / "selected"
    paths = await p.notes_ctl.export(sel, [linked.id])
    assert [x.name.split("-")[0] for x in paths] == [f"{linked.id:05d}"] and len(list(sel.iterdir())) == 1
    meta, body = _front_matter(paths[0].read_text(encoding="utf-8"))
    assert meta["title"] == linked.title and meta["symbol"] == stored.symbol and meta["tags"] == []
    assert meta["link"] == {"kind": "plan", "plan_id": stored.plan_id, "plan_version": stored.version}
    assert str(meta["created"]).endswith("Z") and stored.plan_id in body
    every = await p.notes_ctl.export(tmp_path / "all")
    assert len(every) == len(await notes.list()) == 2


async def _view(w, note_id: int) -> NoteView:  # type: ignore[no-untyped-def]
    from app.panels.notes import view

    return view(await w.kernel.notes.get(note_id))


def test_export_front_matter_round_trips_awkward_titles(tmp_path: Path, isolated_dirs: Path) -> None:
    from core.store import open_ready_store

    store = open_ready_store(isolated_dirs / "n.db")
    try:
        repo = NotesRepo(store)
        n = repo.add("line one\n---\nnot front matter", title='He said "stop": 5% — ok?', symbol="brk.b",
                     tags=["a/b", "x"])
        (path,) = export_notes([n], tmp_path)
        meta, body = _front_matter(path.read_text(encoding="utf-8"))
        assert meta["title"] == 'He said "stop": 5% — ok?' and meta["symbol"] == "BRK.B"
        assert meta["tags"] == ["a/b", "x"] and meta["link"] is None and meta["id"] == n.id
        assert meta["created"] == n.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert body == "line one\n---\nnot front matter\n" and note_markdown(n).endswith(body)
        assert path.name == f"{n.id:05d}-He-said-stop-5-ok.md"
    finally:
        store.close()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.slow
async def test_new_note_from_a_prediction(window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The predictor panel's "New note": the forecast and the screenshot, linked to the prediction."""
    from datetime import UTC, datetime, timedelta

    from core.store import PredictionsRepo

    w, p = window, window.panels
    now = datetime.now(UTC)
    pred = await w.kernel.runtime.run_io(lambda: PredictionsRepo(w.kernel.store).add(
        symbol="SPY", model_predicted_price=512.3, anchor_price=511.0, anchor_time=now,
        horizon_end=now + timedelta(minutes=90), model_version="m1", image_path=str(tmp_path / "chart shot.png")))
    shot = tmp_path / "chart shot.png"
    from PySide6.QtGui import QColor, QImage

    img = QImage(64, 40, QImage.Format.Format_RGB32)
    img.fill(QColor("#26a69a"))
    assert img.save(str(shot))
    assert not w.predictor_panel.note_button.isEnabled()          # nothing forecast yet
    w.predictor.last = (pred.prediction_id, "SPY", ["close 512.30 (80%: 510.9–513.8)", "P(touch) 0.62"], str(shot))
    w.predictor_panel.show_forecast("<b>forecast</b>")
    before = {n.id for n in await w.kernel.notes.list()}
    w.predictor_panel.note_button.click()
    await until(lambda: p.notes.current_id() is not None and p.notes.current_id() not in before,
                what="the note from the prediction")
    note = await w.kernel.notes.get(p.notes.current_id())
    assert note.link is not None and note.link.kind == "prediction" and note.prediction_id == pred.prediction_id
    assert "- P(touch) 0.62" in note.content and shot.resolve().as_uri() in note.content
    assert note.symbol == "SPY" and f"prediction {pred.prediction_id}" in p.notes.link.text()
    # The note's link opens the prediction in the predictor panel: what it said, then what happened.
    await p.notes_ctl.open_link(note.id)
    text = w.predictor_panel.result.text()
    assert f"Prediction #{pred.prediction_id} · SPY" in text and "Close estimate 512.30" in text
    assert "Outcome: pending until" in text
    assert w.predictor_panel.reading.text() == "Screenshot: chart shot.png"
    assert not w.predictor_panel.thumbnail.pixmap().isNull()
    await w.kernel.runtime.run_io(lambda: PredictionsRepo(w.kernel.store).resolve(
        pred.prediction_id, actual_price=513.1, was_hit=None, actual_high=514.0, actual_low=510.5,
        resolved_at=now + timedelta(minutes=91)))
    await p.notes_ctl.open_link(note.id)
    assert "Outcome: close 513.10 (+0.80 vs the estimate) · high 514.00 · low 510.50" \
        in w.predictor_panel.result.text()
    assert w.predictor.last is not None and w.predictor.last[0] == pred.prediction_id
