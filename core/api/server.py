"""Hosts the FastAPI app on the kernel's own loop (never the GUI thread): uvicorn's `Server.serve()`
runs as a kernel task on a socket bound before start (no port race), and stops on request.

Routes live in `core.api.app`; every route calls a kernel service, the same method the window's
button calls."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.api.auth import Authenticator
from core.api.settings import ApiOptions
from core.errors import InputError
from core.tasks import spawn
from core.workstation import Workstation

if TYPE_CHECKING:
    from core.api.app import RequestActivity

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class ApiServer:
    def __init__(self, kernel: Workstation, host: str = "127.0.0.1", port: int = 8000,
                 options: ApiOptions | None = None) -> None:
        if not (0 <= port <= 65535):
            raise InputError("port", "must be 0–65535")
        self._kernel, self._host, self._port = kernel, host, port
        self._options = options
        self._server: object | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self.address: ServerAddress | None = None
        self.auth: Authenticator | None = None
        self._activity: RequestActivity | None = None

    @property
    def last_request_at(self) -> float | None:
        """Epoch seconds (UTC) of the last authenticated request, any user; None before the first."""
        return self._activity.last_at if self._activity is not None else None

    def last_request_by_user(self) -> dict[str, float]:
        """user → epoch seconds of that user's last authenticated request."""
        return self._activity.by_user() if self._activity is not None else {}

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> ServerAddress:
        """Bind and start serving on the running (kernel) loop; returns the bound address."""
        import uvicorn

        from core.api.app import build_app

        key = self._kernel.settings.backend_api_key
        auth = Authenticator(self._kernel.store, key.get_secret_value() if key is not None else None)
        await self._kernel.runtime.run_io(auth.reload)
        self.auth = auth  # tokens added while serving are picked up within its refresh interval
        if not auth.configured and self._host not in LOOPBACK:
            raise InputError("host", "no API token is configured: create one (`python -m app tokens add USER`) "
                                     "or set BACKEND_API_KEY before listening beyond 127.0.0.1")
        options = self._options or ApiOptions.from_env(self._kernel.settings.public_base_url)
        app = build_app(self._kernel, options, auth)
        self._activity = app.state.deps.activity
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise InputError("port", f"cannot listen on {self._host}:{self._port} ({exc.strerror})") from exc
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        config = uvicorn.Config(app, loop="asyncio", lifespan="off", log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the owner handles signals
        self._server = server
        self._task = spawn(server.serve(sockets=[sock]), name="api-server")
        for _ in range(200):
            if server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises the start-up error
        port = sock.getsockname()[1]
        self.address = ServerAddress(self._host, port)
        log.info("API server listening on %s", self.address.url)
        return self.address

    async def stop(self, timeout: float = 2.0) -> None:
        server, task = self._server, self._task
        if server is None or task is None:
            return
        server.should_exit = True  # type: ignore[attr-defined]
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            server.force_exit = True  # type: ignore[attr-defined]
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = None
