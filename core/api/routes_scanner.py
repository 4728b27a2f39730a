"""The scanner's calibration refit as an HTTP route (the window's Jobs button calls the same
`PlansService.refit_calibration`): POST /api/v1/scanner/calibration/refit → 202 with the job."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from core.api.auth import Principal


class RefitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(..., min_length=1, max_length=32, description="Whose bars to fit on (the feed's history).")
    interval: str = Field("5m", min_length=2, max_length=4, description="Scan interval the calibration is for.")
    style: str = Field("intraday", max_length=16)


def register(app: FastAPI, deps: Any) -> None:
    kernel = deps.kernel
    Who = Annotated[Principal, Depends(deps.principal)]

    @app.post("/api/v1/scanner/calibration/refit", operation_id="refitScannerCalibration", tags=["scanner"],
              status_code=202, summary="Refit the scanner's confidence calibration on a symbol's bars (a job).")
    async def refit(req: RefitRequest, who: Who) -> dict[str, Any]:
        info = await kernel.plans.refit_calibration(req.symbol, req.interval, style=req.style, owner=who.user)
        return info.to_dict()
