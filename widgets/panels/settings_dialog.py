"""Settings: provider keys (written to the OS keyring or the 0600 file — the dialog says which),
feed and provider order, DB URL, API bind address and port, session times, theme, replay defaults.
The dialog only collects values; the controller validates and saves them, and a refused value is
shown here with its field named while the dialog stays open (nothing already saved is lost)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
)

KEY_FIELDS = (("polygon_api_key", "Polygon key"), ("tradier_token", "Tradier token"),
              ("finnhub_api_key", "Finnhub key"))
PROVIDER_ORDER = "Polygon → Tradier → Yahoo → replay (the feed manager's fallback order)"


class SettingsDialog(QDialog):
    apply_requested = Signal(dict, dict)   # settings changes, secrets to store

    def __init__(self, current: dict[str, object], secret_backend: str, api_bind: tuple[str, int],
                 api_autostart: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("Settings")
        self._current = current
        form = QFormLayout()
        self.keys: dict[str, QLineEdit] = {}
        for name, label in KEY_FIELDS:
            box = QLineEdit()
            box.setEchoMode(QLineEdit.EchoMode.Password)
            box.setPlaceholderText("set — type to replace" if current.get(name) else "not set")
            self.keys[name] = box
            form.addRow(label, box)
        form.addRow("Keys stored in", QLabel(secret_backend))
        self.feed = QComboBox()
        self.feed.addItems(["replay", "auto"])
        self.feed.setCurrentText(str(current.get("feed", "replay")))
        form.addRow("Data feed", self.feed)
        form.addRow("Provider order", QLabel(PROVIDER_ORDER))
        self.db_url = QLineEdit()
        self.db_url.setPlaceholderText(str(current.get("db_url") or "SQLite in the data folder"))
        form.addRow("Database URL", self.db_url)
        self.api_host = QLineEdit(api_bind[0])
        self.api_port = QSpinBox()
        self.api_port.setRange(0, 65535)
        self.api_port.setValue(api_bind[1])
        form.addRow("API bind address", self.api_host)
        form.addRow("API port", self.api_port)
        self.api_autostart = QCheckBox("Start the GPT server when the window opens")
        self.api_autostart.setChecked(api_autostart)
        form.addRow("", self.api_autostart)
        self.session_start = QLineEdit(str(current.get("session_start_time", "09:30")))
        self.session_end = QLineEdit(str(current.get("session_end_time", "16:00")))
        form.addRow("Session start (ET)", self.session_start)
        form.addRow("Session end (ET)", self.session_end)
        self.theme = QComboBox()
        self.theme.addItems(["dark", "light"])
        self.theme.setCurrentText(str(current.get("theme", "dark")))
        form.addRow("Theme", self.theme)
        self.replay_speed = QDoubleSpinBox()
        self.replay_speed.setRange(0.1, 1000.0)
        self.replay_speed.setValue(float(current.get("replay_speed", 1.0)))  # type: ignore[arg-type]
        self.replay_start = QSpinBox()
        self.replay_start.setRange(-10_000, 10_000)  # the settings model refuses what is out of range
        self.replay_start.setValue(int(current.get("replay_start_minutes", 45)))  # type: ignore[call-overload]
        form.addRow("Replay speed", self.replay_speed)
        form.addRow("Replay start (minutes after open)", self.replay_start)
        self.error = QLabel("")
        self.error.setObjectName("settings_error")
        self.error.setStyleSheet("color:#ef5350; font-weight:bold;")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._apply)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

    def changes(self) -> tuple[dict[str, object], dict[str, str]]:
        """Only what differs from the settings in force (plus typed keys)."""
        values: dict[str, object] = {
            "feed": self.feed.currentText(), "session_start_time": self.session_start.text().strip(),
            "session_end_time": self.session_end.text().strip(), "theme": self.theme.currentText(),
            "replay_speed": round(self.replay_speed.value(), 3), "replay_start_minutes": self.replay_start.value(),
        }
        changes = {k: v for k, v in values.items() if str(v) != str(self._current.get(k))}
        if self.db_url.text().strip():
            changes["db_url"] = self.db_url.text().strip()
        secrets = {name: box.text().strip() for name, box in self.keys.items() if box.text().strip()}
        return changes, secrets

    def api_bind(self) -> tuple[str, int]:
        return self.api_host.text().strip(), self.api_port.value()

    def show_error(self, text: str) -> None:
        self.error.setText(text)

    def _apply(self) -> None:
        self.error.setText("")
        changes, secrets = self.changes()
        self.apply_requested.emit(changes, secrets)
