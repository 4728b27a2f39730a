"""Real local servers for the provider tests: a small HTTP/1.1 server on 127.0.0.1 that serves
recorded vendor responses (and real bars shaped as vendor JSON) with injectable faults, a
"black hole" port whose accept queue is full (connect timeouts), and helpers to load the data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

FAULTS = ("429", "500", "502", "503", "connect_timeout", "connect_refused", "read_timeout", "malformed",
          "truncated", "empty", "content_type", "auth")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate_to: int | None = None   # send only this many body bytes, then close

    @classmethod
    def json(cls, data: Any, status: int = 200, **kw: Any) -> Response:
        return cls(status, json.dumps(data).encode(), **kw)


Handler = Callable[[str, dict[str, str]], Response]


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class FixtureServer:
    """Routes: exact path -> handler(path, query), or a prefix route (first match wins)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[tuple[str, bool, Handler]] = []
        self.requests: list[Request] = []
        self.fault: str | None = None
        self.fault_once = False
        self.retry_after = "30"                   # Retry-After sent with the 429 fault
        self.empty_body: Response | None = None   # what "empty" means for this vendor
        self.auth_body: Response | None = None    # what "auth failure" looks like for this vendor
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, path: str, handler: Handler, *, prefix: bool = False) -> None:
        self.routes.append((path, prefix, handler))

    async def start(self, port: int = 0) -> FixtureServer:
        """Listen on `port` (0: any free one; a fixed one brings a "down" vendor back)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            await self._server.wait_closed()

    def _fault_response(self) -> Response | None:
        f = self.fault
        if f is None:
            return None
        if self.fault_once:
            self.fault = None
        if f == "429":
            return Response.json({"status": "ERROR", "error": "too many requests"}, 429,
                                 headers={"Retry-After": self.retry_after})
        if f in ("500", "502", "503"):
            return Response(int(f), b"<html>upstream error</html>", "text/html")
        if f == "read_timeout":
            return Response.json({}, delay_s=5.0)
        if f == "malformed":
            return Response(200, b'{"results": [{"t": 1, "o": ', "application/json")
        if f == "truncated":
            return Response(200, b'{"results": [' + b'{"x": 1},' * 200 + b'{"x": 1}]}', truncate_to=120)
        if f == "content_type":
            return Response(200, b"<html><body>Please enable cookies</body></html>", "text/html; charset=utf-8")
        if f == "empty":
            return self.empty_body or Response.json({})
        if f == "auth":
            return self.auth_body or Response.json({"error": "unauthorized"}, 401)
        raise ValueError(f"unknown fault {f}")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in
                       (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
            parts = urlsplit(target)
            path = unquote(parts.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            self.requests.append(Request(path, query, headers))
            resp = self._fault_response() or self._dispatch(path, query)
            if resp.delay_s:
                await asyncio.sleep(resp.delay_s)
            body = resp.body
            hdr = [f"HTTP/1.1 {resp.status} {'OK' if resp.status == 200 else 'Error'}",
                   f"Content-Type: {resp.content_type}", f"Content-Length: {len(body)}", "Connection: close",
                   *(f"{k}: {v}" for k, v in resp.headers.items())]
            writer.write(("\r\n".join(hdr) + "\r\n\r\n").encode())
            writer.write(body if resp.truncate_to is None else body[:resp.truncate_to])
            await writer.drain()
            if resp.truncate_to is not None:
                writer.transport.abort()
                return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()

    def _dispatch(self, path: str, query: dict[str, str]) -> Response:
        for p, prefix, h in self.routes:
            if path == p or (prefix and path.startswith(p)):
                return h(path, query)
        return Response.json({"status": "NOT_FOUND", "message": f"no route {path}"}, 404)


class BlackHole:
    """A listening port whose accept queue is full: connects hang until the client times out."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self.port = self._sock.getsockname()[1]
        self._filler = socket.create_connection(("127.0.0.1", self.port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._filler.close()
        self._sock.close()


def free_port() -> int:
    """A port nobody listens on now (connecting to it is refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def closed_port_url() -> str:
    """A port nobody listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"
