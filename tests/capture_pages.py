"""A 127.0.0.1 HTTP server for the capture tests: local pages that imitate TradingView's sign-in
flow (provider choice, email form, success, refusal, CAPTCHA wall) and a canvas chart page."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAGES = Path(__file__).parent / "data" / "capture" / "tv"
GOOD_USER, GOOD_PASSWORD = "trader@example.com", "correct horse"
ROBOT_USER = "robot@example.com"
ERROR_HTML = '<div class="tv-form-error" role="alert">Invalid username or password</div>'


class _Handler(BaseHTTPRequestHandler):
    server: _PagesServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, body: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append(("GET", self.path))
        page = (PAGES / "signin.html").read_text
        if url.path == "/accounts/signin/":
            self._send(page().replace("<!--ERROR-->", ""))
        elif url.path == "/chart/":
            symbol = parse_qs(url.query).get("symbol", [""])[0]
            if symbol.endswith(":NEVER") or symbol == "NEVER":
                self._send('<html><body><div class="chart-container"></div></body></html>')
                return
            self._send((PAGES / "chart.html").read_text().replace("SYMBOL", html.escape(symbol)))
        elif url.path.startswith("/recaptcha/"):
            self._send("<html><body><div class='recaptcha-checkbox'>I'm not a robot</div></body></html>")
        elif url.path == "/":
            signed = "session=ok" in (self.headers.get("Cookie") or "")
            self._send((PAGES / "home.html").read_text() if signed else "<html><body>Welcome</body></html>")
        else:
            self._send("not found", 404)

    def do_POST(self) -> None:
        self.server.requests.append(("POST", self.path))
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode())
        user = form.get("id_username", [""])[0]
        password = form.get("id_password", [""])[0]
        self.server.logins.append(user)
        if user == ROBOT_USER:
            self._send((PAGES / "captcha.html").read_text())
        elif user == GOOD_USER and password == GOOD_PASSWORD:
            self._send("", 302, {"Location": "/", "Set-Cookie": "session=ok; Path=/"})
        else:
            self._send((PAGES / "signin.html").read_text().replace("<!--ERROR-->", ERROR_HTML))


class _PagesServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str]] = []
        self.logins: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def pages_server() -> Iterator[_PagesServer]:
    srv = _PagesServer()
    t = threading.Thread(target=srv.serve_forever, name="tv-pages", daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)
