"""A read-only Markdown view with a one-line banner (Contracts, Context)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget


class MarkdownPanel(QWidget):
    refresh_requested = Signal()

    def __init__(self, placeholder: str) -> None:
        super().__init__()
        self.banner = QLabel()
        self.banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#ef6c00; color:white; padding:3px;")
        self.banner.hide()
        self.heading = QLabel(placeholder)
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.heading.setStyleSheet("font-weight:bold;")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_requested)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(refresh)
        self.body = QTextBrowser()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.banner)
        lay.addWidget(self.body, 1)

    def show_markdown(self, heading: str, markdown: str, banner: str | None = None) -> None:
        self.heading.setText(heading)
        self.body.setMarkdown(markdown)
        self.banner.setText(banner or "")
        self.banner.setVisible(bool(banner))

    def show_error(self, heading: str, text: str) -> None:
        self.show_markdown(heading, f"**Not available:** {text}")
