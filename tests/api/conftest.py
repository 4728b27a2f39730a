"""A real kernel and the real API server on 127.0.0.1 (port 0) for each test; httpx talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.api.auth import TokensRepo
from core.api.server import ApiServer
from core.api.settings import ApiOptions
from core.config import load_settings
from core.workstation import Workstation


@dataclass
class Api:
    kernel: Workstation
    server: ApiServer
    url: str

    def client(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        h = dict(headers)
        if token:
            h["Authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=self.url, headers=h, timeout=30.0)

    def add_token(self, user: str, admin: bool = False) -> str:
        assert self.kernel.store is not None
        token = TokensRepo(self.kernel.store).add(user, admin=admin)[0]
        assert self.server.auth is not None
        self.server.auth.reload()   # at once, instead of within the refresh interval
        return token


async def start_api(options: ApiOptions | None = None, backend_key: str | None = None,
                    monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[Workstation, ApiServer, str]:
    if backend_key and monkeypatch is not None:
        monkeypatch.setenv("BACKEND_API_KEY", backend_key)
    kernel = Workstation(load_settings())
    await kernel.start()
    server = ApiServer(kernel, "127.0.0.1", 0, options=options or ApiOptions(rate_per_s=1000, burst=1000))
    address = await server.start()
    return kernel, server, address.url


@pytest.fixture
async def api(isolated_dirs: Path) -> AsyncIterator[Api]:
    kernel, server, url = await start_api()
    try:
        yield Api(kernel, server, url)
    finally:
        await server.stop()
        await kernel.stop()
