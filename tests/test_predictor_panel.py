"""The predictor panel: a real drop of a real screenshot, the typed level, training state."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from widgets.predictor_panel import PredictorPanel

SHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "main-window.png"


def _drop(panel: PredictorPanel, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.drop.dropEvent(event)


def test_dropping_an_image_emits_a_prediction_request(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = PredictorPanel()
    qtbot.addWidget(panel)
    panel.level.setText("1,234.50")
    with qtbot.waitSignal(panel.predict_requested, timeout=1000) as sig:
        _drop(panel, SHOT)
    assert sig.args == [str(SHOT), 1234.5]
    assert panel.drop.text() == SHOT.name and "Predicting" in panel.result.text()


def test_non_images_are_ignored_and_bad_levels_name_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = PredictorPanel()
    qtbot.addWidget(panel)
    emitted: list[object] = []
    panel.predict_requested.connect(lambda *a: emitted.append(a))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a chart")
    _drop(panel, notes)
    assert emitted == []
    panel.level.setText("abc")
    _drop(panel, SHOT)
    assert emitted == [] and "level" in panel.result.text()
    panel.level.setText("-5")
    _drop(panel, SHOT)
    assert emitted == [] and "positive" in panel.result.text()


def test_training_state_drives_the_buttons(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = PredictorPanel()
    qtbot.addWidget(panel)
    assert panel.train_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.show_training(True, 0.25, "epoch 1/4 · loss 0.9")
    assert not panel.train_button.isEnabled() and panel.cancel_button.isEnabled()
    assert panel.progress.value() == 250 and "epoch 1/4" in panel.train_status.text()
    with qtbot.waitSignal(panel.cancel_requested, timeout=1000):
        panel.cancel_button.click()
    panel.show_training(False, 1.0, "completed")
    assert panel.train_button.isEnabled() and panel.progress.value() == 1000
