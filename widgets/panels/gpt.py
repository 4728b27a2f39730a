"""Connect your GPT: the API server's URL (start/stop), access tokens (create, copy, revoke), the
tunnel command to run, the schema URL, and whether a GPT called in the last minutes."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def _readonly(text: str = "") -> QLineEdit:
    box = QLineEdit(text)
    box.setReadOnly(True)
    return box


class GptPanel(QWidget):
    server_toggle_requested = Signal(bool)   # True: start
    token_create_requested = Signal()
    token_revoke_requested = Signal(str)     # token id

    def __init__(self) -> None:
        super().__init__()
        self.server_url = _readonly()
        self.server_button = QPushButton("Start server")
        self.server_button.setCheckable(True)
        self.server_button.clicked.connect(lambda on: self.server_toggle_requested.emit(bool(on)))
        self.tunnel = _readonly()
        self.schema_url = _readonly()
        self.last_call = QLabel("No GPT call yet")
        self.server_error = QLabel("")
        self.server_error.setObjectName("gpt_server_error")
        self.server_error.setStyleSheet("color:#ef5350; font-weight:bold;")
        self.server_error.setWordWrap(True)
        self.server_error.hide()
        self.tokens = QListWidget()
        self.tokens.setMaximumHeight(90)
        self.new_token = _readonly()
        self.new_token.setPlaceholderText("A new token is shown here once — copy it into your GPT")
        create = QPushButton("Create token")
        create.clicked.connect(self.token_create_requested)
        copy = QPushButton("Copy")
        copy.clicked.connect(self.copy_token)
        revoke = QPushButton("Revoke")
        revoke.clicked.connect(self._revoke)
        for box in (self.server_url, self.tunnel, self.schema_url, self.new_token):
            box.setMinimumWidth(60)
        srv = QHBoxLayout()
        srv.addWidget(self.server_url, 1)
        srv.addWidget(self.server_button)
        tok = QHBoxLayout()
        for b in (create, copy, revoke):
            tok.addWidget(b)
        tok.addStretch(1)
        form = QFormLayout()
        form.addRow("Server", srv)
        form.addRow("", self.server_error)
        form.addRow("Tunnel", self.tunnel)
        form.addRow("Schema", self.schema_url)
        form.addRow("Tokens", self.tokens)
        form.addRow("New token", self.new_token)
        form.addRow("", tok)
        form.addRow("Last call", self.last_call)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        hint = QLabel("1. The server starts with the window (Settings: bind address, port, start at launch). "
                      "2. Run the tunnel command; set its https URL as PUBLIC_BASE_URL. "
                      "3. In the GPT builder, import the schema from the tunnel's host. "
                      "4. Create a token and set it as the action's API key (Bearer).")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addLayout(form)
        lay.addStretch(1)

    def show_server(self, url: str | None, error: str | None = None) -> None:
        """The server's URL when it runs; otherwise "not running" and why (e.g. the port is in use)."""
        running = url is not None
        self.server_error.setText(f"Server not started: {error}" if error else "")
        self.server_error.setVisible(bool(error))
        self.server_button.setChecked(running)
        self.server_button.setText("Stop server" if running else "Start server")
        self.server_url.setText(url or "not running")
        port = url.rsplit(":", 1)[-1] if url else "8000"
        self.tunnel.setText(f"cloudflared tunnel --url http://127.0.0.1:{port}")
        # The GPT subset is what the builder imports (/openapi.json has every route).
        self.schema_url.setText(f"{url}/openapi-gpt.json" if url else "start the server first")

    def show_tokens(self, tokens: list[tuple[str, str]], new_token: str | None = None) -> None:
        """(id, label) of each active token; `new_token` is shown once ("" clears it)."""
        self.tokens.clear()
        for ident, label in tokens:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, ident)
            self.tokens.addItem(item)
        if new_token is not None:
            self.new_token.setText(new_token)

    def show_last_call(self, text: str) -> None:
        self.last_call.setText(text)

    def copy_token(self) -> None:
        if self.new_token.text():
            QGuiApplication.clipboard().setText(self.new_token.text())

    def _revoke(self) -> None:
        item = self.tokens.currentItem()
        if item is not None:
            self.token_revoke_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))
