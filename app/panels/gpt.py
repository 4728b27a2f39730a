"""Connect your GPT: the window's one API server (started at launch when the settings say so, on the
kernel loop), its URL, the tunnel command and the schema URL, access tokens — the same `api_tokens`
table as `tradecoach tokens` — and when a GPT last called."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer

from app.panels.host import PanelHost, et_datetime
from core.api.auth import TokenInfo, TokensRepo
from core.api.server import ApiServer
from core.errors import InputError, TradeCoachError
from core.store.validation import RecordNotFound
from core.workstation import Workstation
from widgets.panels.gpt import GptPanel

log = logging.getLogger(__name__)
PANEL_USER = "gpt"  # tokens created in the pane belong to this API user (its notes, plans, jobs)


class ApiTokens:
    """Token create/list/revoke through `core.api.auth.TokensRepo` (stored hashed; the plain token is
    returned once). Coroutines for the kernel loop: the store is blocking, so they use its io pool."""

    def __init__(self, kernel: Workstation) -> None:
        self._k = kernel

    def _repo(self) -> TokensRepo:
        if self._k.store is None:
            raise InputError("store", "the database is not open")
        return TokensRepo(self._k.store)

    async def list(self) -> list[TokenInfo]:
        return await self._k.runtime.run_io(self._repo().list_tokens)

    async def add(self, user: str = PANEL_USER) -> str:
        token, _info = await self._k.runtime.run_io(self._repo().add, user)
        return token

    async def revoke(self, ident: str) -> int:
        n = await self._k.runtime.run_io(self._repo().revoke, ident)
        if n == 0:
            raise RecordNotFound("token", f"no active token {ident}")
        return n


def token_label(t: TokenInfo) -> str:
    return f"{t.prefix}… · user {t.user} · created {et_datetime(t.created_at)} ET" + (" · admin" if t.admin else "")


def last_call_text(by_user: dict[str, float], now: float) -> str:
    """"a GPT called 3 min ago (user gpt)" from the server's per-user last request times."""
    if not by_user:
        return "no GPT call yet"
    user, at = max(by_user.items(), key=lambda kv: kv[1])
    ago = max(0.0, now - at)
    if ago < 60:
        when = f"{ago:.0f} s"
    elif ago < 3600:
        when = f"{ago // 60:.0f} min"
    else:
        when = f"{ago // 3600:.0f} h"
    return f"a GPT called {when} ago (user {user})"


class GptController:
    """Owns the window's single `ApiServer`. Start/stop run on the kernel loop via the host; a port in
    use is reported in the pane and the status bar, never fatal."""

    def __init__(self, host: PanelHost, panel: GptPanel, tokens: ApiTokens | None = None,
                 bind: tuple[str, int] | Callable[[], tuple[str, int]] = ("127.0.0.1", 8000)) -> None:
        self._host, self._panel = host, panel
        self.tokens = tokens or ApiTokens(host.kernel)
        self.server: ApiServer | None = None
        self.error: str | None = None
        self.token_count = 0
        self._bind = bind  # read at each start: a changed address in Settings applies on the next start
        panel.server_toggle_requested.connect(lambda on: host._spawn(self.start() if on else self.stop(), "api"))
        panel.token_create_requested.connect(lambda: host._spawn(self.create_token(), "token"))
        panel.token_revoke_requested.connect(lambda ident: host._spawn(self.revoke_token(ident), "token"))
        panel.show_server(None)
        self._timer = QTimer(panel)
        self._timer.setInterval(5000)
        self._timer.timeout.connect(self.show_last_call)
        self._timer.start()

    @property
    def url(self) -> str | None:
        return self.server.address.url if self.server is not None and self.server.address else None

    @property
    def token_set(self) -> bool:
        return self.token_count > 0 or self._host.kernel.settings.backend_api_key is not None

    def status_text(self) -> str:
        """The status bar's API field: address (or why it is off) and whether a token is set."""
        where = self.url or (f"off ({self.error})" if self.error else "off")
        return f"API: {where} · token {'set' if self.token_set else 'not set'}"

    async def start(self) -> None:
        """Start the server (no-op when it runs); errors reach the pane and then the caller."""
        if self.server is None:
            host_name, port = self._bind() if callable(self._bind) else self._bind
            server = ApiServer(self._host.kernel, host_name, port)
            try:
                await self._host.call(server.start())
            except TradeCoachError as exc:
                self.error = str(exc)
                self._panel.show_server(None, self.error)
                raise
            self.server, self.error = server, None
        self._panel.show_server(self.url)
        self.show_last_call()

    async def autostart(self) -> str | None:
        """Start at launch; returns the reason when the server could not start (the app goes on)."""
        try:
            await self.start()
        except TradeCoachError as exc:
            log.warning("GPT server not started: %s", exc)
            return str(exc)
        return None

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await self._host.call(server.stop())
        self._panel.show_server(None)
        self.show_last_call()

    async def refresh_tokens(self, new: str | None = None) -> list[TokenInfo]:
        infos = await self._host.call(self.tokens.list())
        self.token_count = len(infos)
        self._panel.show_tokens([(str(t.id), token_label(t)) for t in infos], new)
        return infos

    async def create_token(self) -> str:
        token = await self._host.call(self.tokens.add())
        await self._reload_auth()
        await self.refresh_tokens(token)
        return token

    async def revoke_token(self, ident: str) -> None:
        await self._host.call(self.tokens.revoke(ident))
        await self._reload_auth()
        await self.refresh_tokens("")

    async def _reload_auth(self) -> None:
        # The running server would see the change within its refresh interval; make it immediate.
        auth = self.server.auth if self.server is not None else None
        if auth is not None:
            await self._host.call(self._host.kernel.runtime.run_io(auth.reload))

    def show_last_call(self) -> None:
        if self.server is None or not self.server.running:
            text = "server not running"
        else:
            text = last_call_text(self.server.last_request_by_user(), time.time())
        self._panel.show_last_call(text)
