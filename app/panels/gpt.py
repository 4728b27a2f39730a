"""Connect your GPT: start/stop the API server on the kernel loop, show its URL, the tunnel command
and the schema URL, manage access tokens through a `TokenStore`, and say whether a GPT called in
the last minutes."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Protocol

from PySide6.QtCore import QTimer

from app.panels.host import PanelHost
from core.api.server import ApiServer
from core.config import config_dir
from core.secrets import SecretStore
from core.workstation import Workstation
from widgets.panels.gpt import GptPanel

log = logging.getLogger(__name__)
RECENT_S = 300.0  # "called in the last minutes"


class TokenStore(Protocol):
    """Access tokens for the API (the API engineer's token management plugs in here)."""

    async def list(self) -> list[str]: ...          # labels (never the secret itself)

    async def add(self, label: str) -> str: ...     # the new secret, shown once

    async def revoke(self, label: str) -> None: ...


class BackendKeyTokenStore:
    """One token: the seed's `backend_api_key` secret, kept in the OS keyring (0600 file fallback)
    through the settings service. Runs on the kernel loop."""

    LABEL = "backend_api_key"

    def __init__(self, kernel: Workstation) -> None:
        self._k = kernel

    async def list(self) -> list[str]:
        store = SecretStore(config_dir())
        held = await self._k.runtime.run_io(store.get, self.LABEL)
        return [f"{self.LABEL} ({store.backend})"] if held or self._k.settings.backend_api_key else []

    async def add(self, label: str) -> str:
        token = secrets.token_urlsafe(32)
        await self._k.settings_service.set_secret(self.LABEL, token)
        return token

    async def revoke(self, label: str) -> None:
        store = SecretStore(config_dir())
        await self._k.runtime.run_io(store.delete, self.LABEL)
        self._k.settings.backend_api_key = None


class GptController:
    def __init__(self, host: PanelHost, panel: GptPanel, tokens: TokenStore | None = None,
                 host_name: str = "127.0.0.1", port: int = 8000) -> None:
        self._host, self._panel = host, panel
        self.tokens: TokenStore = tokens or BackendKeyTokenStore(host.kernel)
        self.server: ApiServer | None = None
        self._bind = (host_name, port)
        panel.server_toggle_requested.connect(lambda on: host._spawn(self.start() if on else self.stop(), "api"))
        panel.token_create_requested.connect(lambda: host._spawn(self.create_token(), "token"))
        panel.token_revoke_requested.connect(lambda label: host._spawn(self.revoke_token(label), "token"))
        panel.show_server(None)
        self._timer = QTimer(panel)
        self._timer.setInterval(5000)
        self._timer.timeout.connect(self.show_last_call)
        self._timer.start()

    @property
    def url(self) -> str | None:
        return self.server.address.url if self.server is not None and self.server.address else None

    async def start(self) -> None:
        if self.server is None:
            server = ApiServer(self._host.kernel, *self._bind)
            try:
                await self._host.call(server.start())
            except BaseException:
                self._panel.show_server(None)
                raise
            self.server = server
        self._panel.show_server(self.url)

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await self._host.call(server.stop())
        self._panel.show_server(None)

    async def refresh_tokens(self, new: str | None = None) -> list[str]:
        labels = await self._host.call(self.tokens.list())
        self._panel.show_tokens(labels, new)
        return labels

    async def create_token(self) -> str:
        token = await self._host.call(self.tokens.add("gpt"))
        await self.refresh_tokens(token)
        return token

    async def revoke_token(self, label: str) -> None:
        await self._host.call(self.tokens.revoke(label))
        await self.refresh_tokens("")

    def show_last_call(self) -> None:
        # The server records its last request time once the API engineer adds it (`last_request_at`,
        # epoch seconds); until then the panel says it cannot tell.
        last = getattr(self.server, "last_request_at", None) if self.server is not None else None
        if self.server is None:
            text = "server not running"
        elif last is None:
            text = "no call recorded"
        else:
            ago = time.time() - float(last)
            text = (f"a GPT called {ago:.0f} s ago" if ago <= RECENT_S
                    else f"no call in the last {RECENT_S / 60:.0f} min")
        self._panel.show_last_call(text)
