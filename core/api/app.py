"""The FastAPI application: routes call the kernel's services (one kernel, two faces)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from core.workstation import Workstation


def build_app(kernel: Workstation) -> FastAPI:
    app = FastAPI(title="Trading Coach Workstation", version="0.1.0",
                  description="The trader's workstation as GPT Actions: the same services the window uses.")

    @app.get("/gpt/health", operation_id="health", summary="Is the workstation up, and which data does it serve?")
    async def health() -> dict[str, Any]:
        status = kernel.market.status()
        return {"ok": True, "feed": {"source": status.source, "state": status.state.value,
                                     "detail": status.detail, "replayed": status.replayed},
                "as_of": kernel.clock.now().isoformat()}

    return app
