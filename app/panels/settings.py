"""Settings controller: validates and saves the dialog's changes through the settings service (all
or nothing: the service validates every field before writing), keys through `set_secret`. A refused
value keeps the dialog open with the field named."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable

from PySide6.QtCore import QSettings

from app.panels.host import PanelHost
from core.config import config_dir
from core.errors import InputError, TradeCoachError
from core.secrets import SecretStore
from widgets.panels.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def check_api_bind(host: str, port: int) -> None:
    if host not in ("localhost",):
        try:
            ipaddress.ip_address(host)
        except ValueError as exc:
            raise InputError("api_host", f"{host!r} is not an IP address (or localhost)") from exc
    if not 0 <= port <= 65535:
        raise InputError("api_port", "must be 0–65535")


def check_times(changes: dict[str, object]) -> None:
    for name in ("session_start_time", "session_end_time"):
        if name in changes and not TIME_RE.match(str(changes[name])):
            raise InputError(name, f"{changes[name]!r} is not a time like 09:30")


class SettingsController:
    def __init__(self, host: PanelHost, qsettings: QSettings, on_theme: Callable[[str], None]) -> None:
        self._host, self._qs, self._on_theme = host, qsettings, on_theme
        self.dialog: SettingsDialog | None = None
        self.saved: list[str] = []

    def api_bind(self) -> tuple[str, int]:
        return str(self._qs.value("api_host", "127.0.0.1")), int(self._qs.value("api_port", 8000))  # type: ignore[call-overload]

    def api_autostart(self) -> bool:
        """Start the GPT server when the window opens (default on; the dialog's check box)."""
        return str(self._qs.value("api_autostart", "true")).lower() in ("true", "1")

    def open(self) -> SettingsDialog:
        k = self._host.kernel
        dialog = SettingsDialog(k.settings_service.redacted(), SecretStore(config_dir()).backend, self.api_bind(),
                                self.api_autostart())
        dialog.apply_requested.connect(lambda c, s: self._host._spawn(self.apply(dialog, c, s), "settings"))
        self.dialog = dialog
        dialog.show()  # non-modal: the market keeps painting
        return dialog

    async def apply(self, dialog: SettingsDialog, changes: dict[str, object], secrets: dict[str, str]) -> bool:
        k = self._host.kernel
        try:
            host, port = dialog.api_bind()
            check_api_bind(host, port)
            check_times(changes)
            if changes:
                await self._host.call(k.settings_service.update(**changes))
            for name, val in secrets.items():
                await self._host.call(k.settings_service.set_secret(name, val))
        except TradeCoachError as exc:
            dialog.show_error(str(exc))
            return False
        self._qs.setValue("api_host", host)
        self._qs.setValue("api_port", port)
        self._qs.setValue("api_autostart", "true" if dialog.api_autostart.isChecked() else "false")
        self.saved = [*changes, *secrets]
        if "theme" in changes:
            self._on_theme(str(changes["theme"]))
        dialog.accept()
        return True
