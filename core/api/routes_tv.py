"""The /tv chart page (offline: lightweight-charts vendored under resources/tv/vendor), its data,
and the live streams: `WS /stream/{symbol}` (primary), `GET /stream/{symbol}` (SSE), and
`WS /ws/plans/{plan_id}` (`plan_full`, then `plan_delta`s from the follower, with sequence numbers).

Streams accept a bearer token (Authorization header, or `{"token": ...}` as the first WebSocket
message) or a chart link's signature for that symbol — never a token in the URL."""


import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, StreamingResponse

from core.api.auth import Principal
from core.api.errors import ApiError
from core.api.routes_coach import jsonable, visible_plan
from core.errors import InputError
from core.events import BarClosed, BarUpdated, FeedHealthChanged
from core.market.intervals import parse_interval
from core.paths import resources_dir
from core.scanner.events import FollowerEvent, PlanIssued, SetupChanged

log = logging.getLogger(__name__)
HEARTBEAT_S = 5.0
STALE_MS = 120_000
TV_FILES = {"": "index.html", "tv.js": "tv.js", "vendor/lightweight-charts.standalone.production.js":
            "vendor/lightweight-charts.standalone.production.js", "vendor/LICENSE": "vendor/LICENSE",
            "vendor/NOTICE": "vendor/NOTICE"}


def _tv_dir() -> Any:
    return resources_dir() / "tv"


def _event_message(env: Any, symbol: str, interval: str) -> dict[str, Any] | None:
    ev = env.event
    base = {"seq": env.seq, "missed": env.missed, "ts_ns": env.ts_ns}
    if isinstance(ev, (BarUpdated, BarClosed)):
        if ev.symbol != symbol:
            return None
        bar = {"ts": ev.bar.ts, "open": ev.bar.open, "high": ev.bar.high, "low": ev.bar.low,
               "close": ev.bar.close, "volume": ev.bar.volume}
        if ev.interval.name != interval:
            return {**base, "type": "tick", "price": ev.bar.close, "ts": ev.bar.ts} if ev.interval.name == "1m" \
                and isinstance(ev, BarUpdated) else None
        return {**base, "type": "bar", "closed": isinstance(ev, BarClosed), "bar": bar, "source": ev.source}
    if isinstance(ev, FeedHealthChanged):
        return {**base, "type": "market_status", "capability": ev.capability, "state": ev.status.state.value,
                "replayed": ev.status.replayed, "detail": ev.status.detail}
    if isinstance(ev, FollowerEvent):
        return {**base, "type": "plan_state", "plan_id": ev.plan_id, "kind": ev.kind, "state": ev.state,
                "price": ev.price}
    if isinstance(ev, SetupChanged):
        d = jsonable(ev.change.to_dict()) if hasattr(ev.change, "to_dict") else {}
        return {**base, "type": "plan_state", **d} if d.get("symbol") == symbol else None
    return None


class _Feed:
    """One stream subscriber: market subscription + bus subscription → an asyncio queue."""

    def __init__(self, kernel: Any, symbol: str, interval: str) -> None:
        self.kernel, self.symbol, self.interval = kernel, symbol, interval
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self.handle: Any = None
        self.sub: Any = None

    async def __aenter__(self) -> "_Feed":
        self.handle = await self.kernel.market.subscribe(self.symbol, self.interval)

        def on(env: Any) -> None:
            msg = _event_message(env, self.symbol, self.interval)
            if msg is not None and not self.queue.full():
                self.queue.put_nowait(msg)

        self.sub = self.kernel.bus.subscribe((BarUpdated, BarClosed, FeedHealthChanged, FollowerEvent, SetupChanged),
                                             on, name=f"api:stream:{self.symbol}", envelope=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.sub is not None:
            self.sub.cancel()
        if self.handle is not None:
            self.handle.release()

    def status(self) -> dict[str, Any]:
        st = self.kernel.market.status()
        age_ms = None if st.data_age_s is None else int(st.data_age_s * 1000)
        return {"type": "heartbeat", "market_status": st.state.value, "replayed": st.replayed,
                "source": st.source, "data_age_ms": age_ms, "degraded": age_ms is not None and age_ms > STALE_MS,
                "clock": self.kernel.clock.now().isoformat()}

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        yield self.status()
        while True:
            try:
                yield await asyncio.wait_for(self.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield self.status()


def register(app: FastAPI, deps: Any) -> None:
    kernel = deps.kernel

    async def stream_allowed(symbol: str, token: str | None, exp: str | None, sig: str | None) -> Principal | None:
        if deps.links.verify(symbol, exp, sig):
            return Principal("link", f"link:{symbol}")
        return await deps.identify(token)

    # -- the page ----------------------------------------------------------------------------------
    @app.get("/tv", include_in_schema=False)
    async def tv_page() -> FileResponse:
        return FileResponse(_tv_dir() / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/tv/{name:path}", include_in_schema=False)
    async def tv_file(name: str) -> FileResponse:
        rel = TV_FILES.get(name)
        if rel is None:
            raise ApiError(404, "name", "no such file")
        media = "application/javascript" if rel.endswith(".js") else "text/plain; charset=utf-8"
        return FileResponse(_tv_dir() / rel, media_type=media)

    @app.get("/tv-data/{symbol}", include_in_schema=False)
    async def tv_data(request: Request, symbol: Annotated[str, Path(max_length=32)],
                      interval: Annotated[str, Query(max_length=8)] = "5m",
                      bars: Annotated[int, Query(ge=10, le=2000)] = 500,
                      exp: str | None = None, sig: str | None = None) -> dict[str, Any]:
        from core.chartdata import chart_lines

        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        who = await stream_allowed(symbol.upper(), token, exp, sig)
        if who is None:
            raise ApiError(401, "sig", "the chart link is invalid or expired; ask for a new one")
        deps.rate_limit(who.key)
        iv = parse_interval(interval)
        data = await kernel.market.bars(symbol, iv, limit=bars)
        lines = await kernel.runtime.run_cpu(chart_lines, data, symbol.upper(), iv)
        st = kernel.market.status()
        age_ms = None if st.data_age_s is None else int(st.data_age_s * 1000)
        return jsonable({"symbol": symbol.upper(), "interval": iv.name, "ts": data.ts // 1_000_000_000,
                         "open": data.open, "high": data.high, "low": data.low, "close": data.close,
                         "volume": data.volume, "lines": lines, "replayed": st.replayed, "source": st.source,
                         "data_age_ms": age_ms})

    # -- streams ---------------------------------------------------------------------------------
    async def ws_principal(ws: WebSocket, symbol: str | None) -> Principal | None:
        auth = ws.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        if symbol is not None:
            who = await stream_allowed(symbol, token, ws.query_params.get("exp"), ws.query_params.get("sig"))
        else:
            who = await deps.identify(token)
        if who is None and token is None:
            try:   # browsers cannot set headers on a WebSocket: the token may come as the first message
                first = json.loads(await asyncio.wait_for(ws.receive_text(), 5.0))
                who = await deps.identify(str(first.get("token", ""))) if isinstance(first, dict) else None
            except (TimeoutError, ValueError, WebSocketDisconnect):
                who = None
        return who

    @app.websocket("/stream/{symbol}")
    async def stream_ws(ws: WebSocket, symbol: str, interval: str = "1m") -> None:
        await ws.accept()
        sym = symbol.strip().upper()
        try:
            iv = parse_interval(interval).name
        except InputError as exc:
            await ws.close(code=1008, reason=str(exc)[:120])
            return
        who = await ws_principal(ws, sym)
        if who is None or not sym or len(sym) > 32:
            await ws.close(code=1008, reason="missing or invalid token")
            return
        try:
            async with _Feed(kernel, sym, iv) as feed:
                async for msg in feed.messages():
                    await ws.send_text(json.dumps(jsonable(msg)))
        except WebSocketDisconnect:
            pass
        except Exception as exc:
            log.error("stream %s: %s", sym, exc, exc_info=exc)
            await ws.close(code=1011, reason="stream failed")

    @app.get("/stream/{symbol}", operation_id="streamSse", tags=["plans"],
             summary="Server-sent events: ticks, bars, plan state, market status, heartbeat every 5 s.")
    async def stream_sse(symbol: Annotated[str, Path(min_length=1, max_length=32)],
                         who: Annotated[Principal, Depends(deps.principal)],
                         interval: Annotated[str, Query(max_length=8)] = "1m",
                         max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> StreamingResponse:
        sym = symbol.strip().upper()
        iv = parse_interval(interval).name

        async def events() -> AsyncIterator[bytes]:
            sent = 0
            async with _Feed(kernel, sym, iv) as feed:
                async for msg in feed.messages():
                    yield f"event: {msg['type']}\ndata: {json.dumps(jsonable(msg))}\n\n".encode()
                    sent += 1
                    if max_events is not None and sent >= max_events:
                        return

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.websocket("/ws/plans/{plan_id}")
    async def plan_ws(ws: WebSocket, plan_id: str) -> None:
        await ws.accept()
        if not plan_id.strip():
            await ws.close(code=1008, reason="plan_id is required")
            return
        who = await ws_principal(ws, None)
        if who is None:
            await ws.close(code=1008, reason="missing or invalid token")
            return
        try:
            plan = await visible_plan(deps, who, plan_id)
        except InputError as exc:
            await ws.close(code=1008, reason=str(exc)[:120])
            return
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

        def on(env: Any) -> None:
            ev = env.event
            if isinstance(ev, FollowerEvent) and ev.plan_id == plan.plan_id:
                delta = {"kind": ev.kind, "state": ev.state, "ts": ev.ts, "price": ev.price}
            elif isinstance(ev, PlanIssued) and ev.plan.plan_id == plan.plan_id:
                delta = {"kind": "new_version", "plan": ev.plan.to_dict()}
            else:
                return
            if not queue.full():
                queue.put_nowait({"type": "plan_delta", "seq": env.seq, "missed": env.missed, **delta})

        sub = kernel.bus.subscribe((FollowerEvent, PlanIssued), on, name=f"api:plan:{plan.plan_id}", envelope=True)
        try:
            await ws.send_text(json.dumps(jsonable({"type": "plan_full", "seq": 0, "plan": plan.to_dict(),
                                                    "following": kernel.plans.following().get(plan.plan_id)})))
            while True:
                try:
                    msg = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    msg = {"type": "heartbeat", "clock": kernel.clock.now().isoformat()}
                await ws.send_text(json.dumps(jsonable(msg)))
        except WebSocketDisconnect:
            pass
        finally:
            sub.cancel()
