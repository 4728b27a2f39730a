"""The predictor panel: a real drop of a real screenshot, symbol/price/level fields, Enter re-runs,
training states."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from core.errors import InputError
from widgets.predictor_panel import PredictorPanel, PredictRequest, round_numbers

SHOT = Path(__file__).resolve().parent / "data" / "app_window_spy1m_20131011.png"


def _drop(panel: PredictorPanel, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.drop.dropEvent(event)


@pytest.fixture
def panel(qtbot) -> PredictorPanel:  # type: ignore[no-untyped-def]
    p = PredictorPanel()
    qtbot.addWidget(p)
    p.show()
    return p


def test_dropping_an_image_emits_a_request_with_symbol_price_and_level(panel: PredictorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel.set_context("spy", 512.3456)
    assert panel.symbol.text() == "SPY" and panel.price.text() == "512.35"
    panel.level.setText("1,234.50")
    with qtbot.waitSignal(panel.predict_requested, timeout=1000) as sig:
        _drop(panel, SHOT)
    # What the chart filled in is not typed: the request leaves the price to the feed or the
    # screenshot, and the symbol to the chart's legend (the chart's symbol only as the last resort).
    assert sig.args == [PredictRequest(str(SHOT), "", None, 1234.5, chart_symbol="SPY")]
    assert panel.drop.text() == SHOT.name and "Predicting" in panel.result.text()
    # The trader types another symbol and price: the request carries what they typed.
    panel.symbol.setText("qqq")
    panel.price.setText("")
    panel.level.setText("")
    with qtbot.waitSignal(panel.predict_requested, timeout=1000) as sig:
        _drop(panel, SHOT)
    assert sig.args == [PredictRequest(str(SHOT), "QQQ", None, None)]


def test_enter_in_level_reruns_the_prediction_for_the_screenshot_on_display(panel: PredictorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    emitted: list[PredictRequest] = []
    panel.predict_requested.connect(emitted.append)
    panel.set_context("SPY", 430.0)
    qtbot.keyClicks(panel.level, "432")
    qtbot.keyClick(panel.level, Qt.Key.Key_Return)        # no screenshot yet: says so, no request
    assert emitted == [] and "screenshot" in panel.field_error.text().lower()
    _drop(panel, SHOT)
    assert emitted == [PredictRequest(str(SHOT), "", None, 432.0, chart_symbol="SPY")]
    panel.level.clear()
    qtbot.keyClicks(panel.level, "433.5")
    qtbot.keyClick(panel.level, Qt.Key.Key_Return)
    assert emitted[-1] == PredictRequest(str(SHOT), "", None, 433.5, chart_symbol="SPY") and len(emitted) == 2
    qtbot.keyClicks(panel.price, "1")                    # typed: 430.001 is the trader's price now
    qtbot.keyClick(panel.price, Qt.Key.Key_Return)
    assert emitted[-1] == PredictRequest(str(SHOT), "", 430.001, 433.5, chart_symbol="SPY")
    assert panel.current_screenshot() == str(SHOT)


def test_bad_fields_show_an_inline_error_naming_the_field(panel: PredictorPanel, tmp_path: Path) -> None:
    emitted: list[object] = []
    panel.predict_requested.connect(emitted.append)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a chart")
    _drop(panel, notes)
    assert emitted == []
    panel.set_context("SPY", None)
    assert panel.price.text() == ""
    for field, text, reason in (("price", "abc", "not a price"), ("price", "-5", "positive"),
                                ("level", "0", "positive")):
        panel.price.setText("")
        panel.level.setText("")
        getattr(panel, field).setText(text)
        _drop(panel, SHOT)
        assert emitted == []
        assert panel.field_error.isVisible()
        assert panel.field_error.text().lower().startswith(field) and reason in panel.field_error.text()
        assert "border" in getattr(panel, field).styleSheet()
    panel.level.setText("")
    panel.symbol.setText("")                    # empty: the symbol read off the chart's legend
    _drop(panel, SHOT)
    assert len(emitted) == 1 and emitted[0].symbol == "" and not panel.field_error.isVisible()
    assert panel.price.styleSheet() == ""


def test_set_context_follows_the_feed_until_the_trader_types_a_price(panel: PredictorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel.set_context("SPY", 430.0)
    panel.set_context("SPY", 431.25)
    assert panel.price.text() == "431.25"
    panel.price.clear()
    qtbot.keyClicks(panel.price, "429.9")
    panel.set_context("SPY", 432.0)              # a tick must not overwrite what was typed
    assert panel.price.text() == "429.9"
    panel.set_context("ES", 6100.0)             # another symbol: both fields follow the chart
    assert panel.symbol.text() == "ES" and panel.price.text() == "6100.00"


def test_training_states_drive_the_bar_buttons_and_text(panel: PredictorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert panel.train_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.show_training("running", 0.25, "epoch 1/4 · loss 0.91234567")
    assert not panel.train_button.isEnabled() and panel.cancel_button.isEnabled()
    assert panel.progress.value() == 250 and panel.train_status.text() == "epoch 1/4 · loss 0.9123"
    with qtbot.waitSignal(panel.cancel_requested, timeout=1000):
        panel.cancel_button.click()
    # What the job reports when cancelled after 40 %: the bar stays there, the text says Cancelled.
    panel.show_training("cancelled", 0.4, "cancelled: best val loss 0.7039584356713234")
    assert panel.training_state == "cancelled"
    assert panel.progress.value() == 400 and panel.progress.text() == "Cancelled at 40%"
    assert panel.train_status.text() == "Cancelled: best val loss 0.704"
    assert panel.train_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.show_training("failed", 0.1, "CUDA out of memory")
    assert panel.progress.value() == 100 and panel.train_status.text() == "Failed: CUDA out of memory"
    panel.show_training("succeeded", 0.97, "val loss 0.6512345")
    assert panel.progress.value() == 1000 and panel.train_status.text() == "Done: val loss 0.6512"
    with pytest.raises(InputError) as err:
        panel.show_training(True, 1.0, "x")  # type: ignore[arg-type]
    assert err.value.field == "state"
    with pytest.raises(InputError) as err:
        panel.show_training("running", float("nan"), "x")
    assert err.value.field == "fraction"


def test_round_numbers_keeps_short_numbers() -> None:
    assert round_numbers("epoch 3/10 loss 1.23 lr 0.000123456 step 12345.678901") == \
        "epoch 3/10 loss 1.23 lr 0.0001235 step 12346"


def test_show_reading_fills_empty_fields_and_overlays_the_recovered_candles(panel: PredictorPanel) -> None:
    import json

    from PySide6.QtGui import QColor

    fixture = Path(__file__).resolve().parent / "data" / "chartread" / "lwc_dark_spy5m_60.png"
    truth = json.loads(fixture.with_suffix(".json").read_text())
    bars = [{"x": 100.0 + 10 * i, "open": b["open"], "high": b["high"], "low": b["low"], "close": b["close"],
             "time": None} for i, b in enumerate(truth["bars"][-20:])]
    lo, hi = min(b["low"] for b in bars), max(b["high"] for b in bars)
    reading = {"kind": "candlestick", "symbol": {"value": "SPY"}, "interval": {"value": "5m"}, "last_price": 512.5,
               "price_axis": {"scale": "linear", "labels": [{"y": 50.0, "value": hi}, {"y": 450.0, "value": lo}]},
               "bars": bars, "confidence": 0.9}
    panel.symbol.setText("")
    panel.price.setText("")
    panel.show_reading(reading, fixture.read_bytes())
    assert panel.symbol.text() == "SPY" and panel.price.text() == "" and "512.50" in panel.price.placeholderText()
    assert "20 bars" in panel.reading.text() and "5m" in panel.reading.text()
    img = panel.thumbnail.pixmap().toImage()
    assert img.width() == 320
    yellow = sum(1 for y in range(img.height()) for x in range(img.width())
                 if img.pixelColor(x, y) == QColor("#ffd600"))
    assert yellow > 50                               # the overlay was drawn
    panel.show_reading({"kind": "not_a_candlestick_chart", "reason": "blank image"}, b"")
    assert "blank image" in panel.reading.text() and panel.thumbnail.pixmap().isNull()
