"""Following plans and armed setups over HTTP — the same `PlansService` methods as the Plan panel's
Arm/Disarm: POST /gpt/follow (a stored plan by id, or the live watch's setup by symbol + playbook)
and DELETE /gpt/follow/{plan_id}. Steps arrive on WS /ws/plans/{plan_id} and WS /stream/{symbol}."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path
from pydantic import BaseModel, ConfigDict, Field

from core.api.auth import Principal
from core.api.routes_coach import visible_plan
from core.errors import InputError


class FollowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: str | None = Field(None, min_length=1, max_length=64,
                                description="A stored plan to follow (from scanSetups or savePlan).")
    symbol: str | None = Field(None, min_length=1, max_length=32,
                               description="With playbook: the live watch's armed or triggered setup to follow.")
    playbook: str | None = Field(None, min_length=1, max_length=48, description="The setup's playbook (scanSetups).")


def register(app: FastAPI, deps: Any) -> None:
    kernel = deps.kernel
    Who = Annotated[Principal, Depends(deps.principal)]

    @app.post("/gpt/follow", operation_id="followPlan", tags=["plans"],
              summary="Follow a stored plan (plan_id) or the watchlist's armed/triggered setup (symbol + "
                      "playbook): entry, targets, stop and invalidation are tracked and notified.")
    async def follow(req: FollowRequest, who: Who) -> dict[str, Any]:
        if req.plan_id and (req.symbol or req.playbook):
            raise InputError("plan_id", "give either plan_id or symbol + playbook, not both")
        if req.plan_id:
            plan = await visible_plan(deps, who, req.plan_id)
            await kernel.plans.follow(plan.plan_id)
            fid = plan.plan_id
        elif req.symbol and req.playbook:
            fid = await kernel.plans.follow_setup(req.symbol, req.playbook)
        else:
            raise InputError("symbol" if req.playbook else "playbook" if req.symbol else "plan_id",
                             "is required (plan_id, or symbol + playbook)")
        state = kernel.plans.following().get(fid)
        return {"plan_id": fid, "following": state,
                "note": "armed: waiting for the trigger; the triggered plan is then followed" if state == "armed"
                else "followed on the live stream"}

    @app.delete("/gpt/follow/{plan_id}", operation_id="unfollowPlan", tags=["plans"],
                summary="Stop following a plan or an armed setup (idempotent).")
    async def unfollow(plan_id: Annotated[str, Path(min_length=1, max_length=64)], who: Who) -> dict[str, Any]:
        if kernel.plans.following().get(plan_id) != "armed":   # a watch's id is no stored plan
            await visible_plan(deps, who, plan_id)   # unknown or another user's plan: 404
        await kernel.plans.unfollow(plan_id)
        return {"plan_id": plan_id, "following": None}
