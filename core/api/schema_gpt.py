"""`/openapi.json` (everything) and `/openapi-gpt.json` (the operations a custom GPT imports):
an https `servers` URL (PUBLIC_BASE_URL), bearer auth, `x-openai-isConsequential` false on reads and
true on writes, descriptions within ChatGPT's limits."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

PLACEHOLDER_SERVER = "https://your-tunnel-host.example"  # until PUBLIC_BASE_URL is set
# The GPT's subset (≤ 30): the coach, plans, predictor, notes and jobs.
GPT_OPERATIONS = (
    "health", "scanSetups", "savePlan", "getContext", "getMultiContext", "rankContracts", "chartUrl",
    "getPlan", "getPlanVersion", "followPlan", "unfollowPlan", "predictFromScreenshot", "predictionHistory",
    "startTraining", "trainingStatus", "learningStatus", "bestModel", "captureNow", "collectionSchedule",
    "livePrices", "listNotes", "createNote", "getNote", "updateNote", "deleteNote", "listJobs", "getJob",
    "cancelJob")
# POSTs that only read (the GPT may "always allow" them); every other non-GET asks first.
READ_POSTS = {"scanSetups", "getMultiContext", "rankContracts", "chartUrl"}
METHODS = ("get", "post", "put", "patch", "delete")


def full_schema(app: FastAPI, base_url: str | None) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema["servers"] = [{"url": base_url or PLACEHOLDER_SERVER}]
        for _path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                if method not in METHODS:
                    continue
                consequential = method != "get" and op.get("operationId") not in READ_POSTS
                op["x-openai-isConsequential"] = consequential
                if "summary" in op:
                    op["summary"] = op["summary"][:300]
                if "description" in op:
                    op["description"] = op["description"][:300]
                for p in op.get("parameters", []):
                    if "description" in p:
                        p["description"] = p["description"][:700]
        app.openapi_schema = schema
    return app.openapi_schema


def gpt_schema(app: FastAPI, base_url: str | None) -> dict[str, Any]:
    full = copy.deepcopy(full_schema(app, base_url))
    paths: dict[str, Any] = {}
    for path, item in full["paths"].items():
        kept = {m: op for m, op in item.items() if m in METHODS and op.get("operationId") in GPT_OPERATIONS}
        if kept:
            paths[path] = kept
    full["paths"] = paths
    full["info"]["description"] = ("The trader's workstation for a custom GPT: scan setups, plans, context, "
                                   "contracts, chart links, screenshot forecasts, notes and jobs.")
    full["security"] = [{"HTTPBearer": []}]
    return full


def register(app: FastAPI, deps: Any) -> None:
    base = deps.options.base_url
    app.openapi = lambda: full_schema(app, base)  # type: ignore[method-assign]

    @app.get("/openapi-gpt.json", include_in_schema=False)
    async def openapi_gpt() -> JSONResponse:
        return JSONResponse(gpt_schema(app, base))
