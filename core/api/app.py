"""The FastAPI application: routes call the kernel's services (one kernel, two faces).

Every route but `/gpt/health` (and the /tv page's static files) needs a bearer token once any is
configured; the token names the user whose notes, plans, predictions and jobs the request sees.
Routes run on the kernel loop: store, file and CPU work happens in the services' pools.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api import errors
from core.api.auth import LOCAL_USER, Authenticator, Principal, RateLimiter, clean_user
from core.api.errors import ApiError, error_body
from core.api.settings import ApiOptions
from core.workstation import Workstation

log = logging.getLogger(__name__)
_bearer = HTTPBearer(auto_error=False, description="The token from `python -m app tokens add USER` "
                                                   "(or BACKEND_API_KEY).")


class RequestActivity:
    """When each user last made an authenticated request (wall-clock epoch seconds): what the window's
    "Connect your GPT" pane shows as "a GPT called N min ago". Written on the kernel loop, read from
    the GUI thread, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[str, float] = {}

    def record(self, user: str, at: float | None = None) -> None:
        with self._lock:
            self._by_user[user] = time.time() if at is None else at

    @property
    def last_at(self) -> float | None:
        with self._lock:
            return max(self._by_user.values(), default=None)

    def by_user(self) -> dict[str, float]:
        with self._lock:
            return dict(self._by_user)


class Deps:
    """What every route shares: the kernel, the options, who is asking."""

    def __init__(self, kernel: Workstation, options: ApiOptions, auth: Authenticator, limiter: RateLimiter) -> None:
        self.kernel, self.options, self.auth, self.limiter = kernel, options, auth, limiter
        from core.api.links import LinkSigner

        self.links = LinkSigner()
        self.activity = RequestActivity()

    async def identify(self, token: str | None, x_user_id: str | None = None) -> Principal | None:
        """The user of a bearer token (None when it is wrong); anyone is "local" when no token exists."""
        if self.auth.needs_reload():
            await self.kernel.runtime.run_io(self.auth.reload)
        if not self.auth.configured:
            return Principal(LOCAL_USER, "anonymous")
        if not token:
            return None
        who = self.auth.check(token)
        if who is not None and who.admin and x_user_id:
            who = Principal(clean_user(x_user_id, "X-User-Id"), who.key, admin=True)
        return who

    async def principal(self, request: Request,
                        cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        token = cred.credentials if cred is not None and cred.scheme.lower() == "bearer" else None
        who = await self.identify(token, request.headers.get("x-user-id"))
        if who is None:
            raise ApiError(401, "Authorization", "missing or invalid bearer token",
                           headers={"WWW-Authenticate": "Bearer"})
        self.rate_limit(who.key)
        self.activity.record(who.user)
        return who

    def rate_limit(self, key: str) -> None:
        wait = self.limiter.take(key)
        if wait > 0:
            raise ApiError(429, None, f"too many requests; retry in {math.ceil(wait)} s",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def link_base(self, request: Request) -> str:
        """Generated links only ever point at the configured host (PUBLIC_BASE_URL), or at this
        server on loopback when none is configured."""
        base = self.options.base_url
        if base:
            return base
        host = request.url.hostname or ""
        if host in ("127.0.0.1", "localhost", "::1"):
            return f"{request.url.scheme}://{request.url.netloc}"
        return ""


class BodyLimit:
    """Refuse request bodies over a cap while they stream in (413), so a 100 MB upload is never held
    in memory; Content-Length is checked first when the client sends it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, error_body("file", f"request too large ({int(value):,} bytes, "
                                                                f"limit {self.max_bytes:,})"))
                return
        seen = 0
        started = False

        async def guarded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, error_body("file", f"request too large (limit {self.max_bytes:,} bytes)"))


class _TooLarge(Exception):
    pass


class Deadline:
    """ChatGPT gives up after 45 s: answer 504 before that instead of holding the request (streams,
    which are long by design, are exempt)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/stream/"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking_send), self.seconds)
        except TimeoutError:
            log.warning("API %s took longer than %.0f s; answered 504", scope.get("path"), self.seconds)
            if not started:
                await _send_json(send, 504, error_body(None, f"took longer than {self.seconds:.0f} s; "
                                                             "long work runs as a job — try again or use a job"))


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    import json

    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def build_app(kernel: Workstation, options: ApiOptions | None = None, auth: Authenticator | None = None) -> FastAPI:
    options = options or ApiOptions.from_env(kernel.settings.public_base_url)
    if auth is None:
        key = kernel.settings.backend_api_key
        auth = Authenticator(kernel.store, key.get_secret_value() if key is not None else None)
    deps = Deps(kernel, options, auth, RateLimiter(options.rate_per_s, options.burst))
    app = FastAPI(title="Trading Coach Workstation", version="0.2.0",
                  description="The trader's workstation as GPT Actions: the same services the window uses.",
                  servers=[{"url": options.base_url}] if options.base_url else None,
                  docs_url=None, redoc_url=None)
    app.state.deps = deps
    errors.install(app)

    from core.api import routes_coach, routes_data, routes_follow, routes_scanner, routes_tv, schema_gpt

    routes_coach.register(app, deps)
    routes_data.register(app, deps)
    routes_tv.register(app, deps)
    routes_scanner.register(app, deps)
    routes_follow.register(app, deps)
    schema_gpt.register(app, deps)
    # Outermost: the body cap (uploads allow a little over the image limit for the form fields).
    app.add_middleware(Deadline, seconds=options.deadline_s)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, max_bytes=options.max_upload_bytes + 64 * 1024)  # type: ignore[arg-type]
    return app
