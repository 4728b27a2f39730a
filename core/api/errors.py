"""Kernel errors → HTTP answers with `{"error": {"field", "reason"}}`; never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ConflictError, DataError, FeedError, InputError
from core.store.validation import RecordNotFound

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """A capability that lands in another issue (or is off): 503 with the reason, never fake data."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


class ApiError(Exception):
    """An answer with a specific status (413 upload too large, 415 not an image …)."""

    def __init__(self, status: int, field: str | None, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.field, self.reason, self.headers = status, field, reason, headers


def error_body(field: str | None, reason: str) -> dict[str, object]:
    return {"error": {"field": field, "reason": reason}}


def _json(status: int, field: str | None, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(field, reason), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_r: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        return _json(400, ".".join(loc) or None, str(err.get("msg", "invalid request")))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, None, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(ApiError)
    async def _api(_r: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.field, exc.reason, exc.headers)

    @app.exception_handler(Unavailable)
    async def _unavailable(_r: Request, exc: Unavailable) -> JSONResponse:
        return _json(503, exc.field, exc.reason)

    @app.exception_handler(RecordNotFound)
    async def _missing(_r: Request, exc: RecordNotFound) -> JSONResponse:
        return _json(404, exc.field, exc.reason)

    @app.exception_handler(InputError)
    async def _input(_r: Request, exc: InputError) -> JSONResponse:
        return _json(400, exc.field, exc.reason)

    @app.exception_handler(ConflictError)
    async def _conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return _json(409, None, str(exc))

    @app.exception_handler(DataError)
    async def _data(_r: Request, exc: DataError) -> JSONResponse:
        return _json(422, None, str(exc))

    @app.exception_handler(FeedError)
    async def _feed(_r: Request, exc: FeedError) -> JSONResponse:
        return _json(502, None, f"market data unavailable: {exc}")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        from core.workstation import KernelNotStarted

        if isinstance(exc, KernelNotStarted):
            return _json(503, None, str(exc))
        log.error("API %s %s failed", request.method, request.url.path, exc_info=exc)
        return _json(500, None, "internal error (logged on the workstation)")
