"""The predictor's and the data collector's routes (DT's `/api/v1` surface), notes and jobs.
Long work (training, collection, captures) returns a job id at once."""


from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.api.auth import Principal
from core.api.download import download
from core.api.errors import ApiError, Unavailable
from core.api.routes_coach import jsonable
from core.errors import InputError
from core.jobs import JobContext

DT_INTERVALS = {1: "1m", 5: "5m", 15: "15m", 60: "1h", 240: "4h", 1440: "1D"}


class FileRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field("", max_length=300)
    id: str = Field("", max_length=300)
    mime_type: str | None = Field(None, max_length=100)
    download_link: str = Field(..., min_length=8, max_length=4000)


class PredictJson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field("", max_length=32, description="Optional: read off the chart's legend when left out.")
    expected_price: float | None = Field(None, gt=0, lt=1e7, description="The level the trader expects.")
    openaiFileIdRefs: list[FileRef] = Field(..., min_length=1, max_length=1,
                                            description="The chart screenshot from the chat.")


TagList = Annotated[list[Annotated[str, Field(min_length=1, max_length=33)]], Field(max_length=20)]
PLAN_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(..., min_length=1, max_length=20_000)
    title: str | None = Field(None, max_length=200)
    symbol: str | None = Field(None, max_length=32)
    tags: TagList = Field(default_factory=list, description="Lower-case words, e.g. [\"orb\", \"fade\"].")
    plan_id: str | None = Field(None, pattern=PLAN_ID, description="Link the note to this plan.")
    plan_version: int | None = Field(None, ge=1, le=2**31 - 1, description="That plan's version (default: newest).")
    prediction_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Or link it to a prediction.")
    capture_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Or link it to a chart capture.")


LINK_FIELDS = ("plan_id", "plan_version", "prediction_id", "capture_id")


class NotePatch(BaseModel):
    """Only the fields sent change; null clears title, symbol or the link (any link field sent
    replaces the whole link)."""

    model_config = ConfigDict(extra="forbid")
    content: str | None = Field(None, min_length=1, max_length=20_000)
    title: str | None = Field(None, max_length=200)
    symbol: str | None = Field(None, max_length=32)
    tags: TagList | None = Field(None, description="The note's new tags (replaces them).")
    plan_id: str | None = Field(None, pattern=PLAN_ID)
    plan_version: int | None = Field(None, ge=1, le=2**31 - 1)
    prediction_id: int | None = Field(None, ge=1, le=2**31 - 1)
    capture_id: int | None = Field(None, ge=1, le=2**31 - 1)


def _note(n: Any) -> dict[str, Any]:
    return {"id": n.id, "title": n.title, "content": n.content, "symbol": n.symbol, "tags": list(n.tags),
            "link": n.link.to_json() if n.link else None, "prediction_id": n.prediction_id,
            "created_at": n.created_at.isoformat(), "updated_at": n.updated_at.isoformat()}


def _prediction(r: Any) -> dict[str, Any]:
    return jsonable({"prediction_id": r.prediction_id, "symbol": r.symbol,
                     "user_expected_price": r.user_expected_price, "model_predicted_price": r.model_predicted_price,
                     "probability_hit": r.probability_hit, "model_confidence": r.model_confidence,
                     "learning_score": r.learning_score, "timestamp": r.timestamp,
                     "horizon_end": r.horizon_end, "model_version": r.model_version,
                     "actual_price": r.actual_price, "was_hit": r.was_hit})


def _image_error(exc: InputError) -> ApiError:
    """The safe loader's reasons → 413 (too big), 415 (not an image), 422 (broken)."""
    reason = exc.reason
    if reason.startswith("too large"):
        return ApiError(413, "file", reason)
    if reason.startswith("not an image") or reason.startswith("empty"):
        return ApiError(415, "file", reason)
    return ApiError(422, "file", reason)


PREDICT_BODY = {
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": PredictJson.model_json_schema(ref_template="#/components/schemas/{model}")},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file", "symbol"], "properties": {
            "file": {"type": "string", "format": "binary"}, "symbol": {"type": "string", "maxLength": 32},
            "expected_price": {"type": "number", "exclusiveMinimum": 0}}}}}}}


def register(app: FastAPI, deps: Any) -> None:
    kernel = deps.kernel
    opts = deps.options
    Who = Annotated[Principal, Depends(deps.principal)]

    # -- predictor -------------------------------------------------------------------------------
    @app.post("/api/v1/predict", operation_id="predictFromScreenshot", tags=["predictor"],
              summary="Forecast from a chart screenshot (a chat file via openaiFileIdRefs, or multipart file).",
              openapi_extra=PREDICT_BODY)
    async def predict(request: Request, who: Who) -> dict[str, Any]:
        from core.images import load_image
        from core.services.predictor import PredictRequest

        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.form(max_files=1, max_fields=10, max_part_size=opts.max_upload_bytes)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InputError("file", "attach the screenshot as the multipart field 'file'")
            data = await upload.read(opts.max_upload_bytes + 1)
            symbol = str(form.get("symbol") or "")
            raw_level = form.get("expected_price")
            try:
                level = float(str(raw_level)) if raw_level not in (None, "") else None
            except ValueError:
                raise InputError("expected_price", "must be a number") from None
        elif ctype.startswith("application/json"):
            try:
                body = PredictJson.model_validate_json(await request.body())
            except ValidationError as exc:
                err = exc.errors()[0]
                raise InputError(".".join(str(p) for p in err["loc"]) or "body", err["msg"]) from None
            data = await download(body.openaiFileIdRefs[0].download_link, max_bytes=opts.max_upload_bytes,
                                  timeout_s=opts.download_timeout_s,
                                  allow_http_loopback=opts.test_only_allow_http_loopback_downloads)
            symbol, level = body.symbol, body.expected_price
        else:
            raise ApiError(415, "Content-Type", "send application/json (openaiFileIdRefs) or multipart/form-data")
        if len(data) > opts.max_upload_bytes:
            raise ApiError(413, "file", f"too large (limit {opts.max_upload_bytes:,} bytes)")
        # No symbol: it is read off the chart's legend (the predictor says so, or asks for it).
        try:
            await kernel.runtime.run_io(lambda: load_image(data, max_pixels=opts.max_image_pixels,
                                                           max_bytes=opts.max_upload_bytes, target=(64, 64)))
        except InputError as exc:
            raise _image_error(exc) from None
        result = await kernel.predictor.predict(PredictRequest(image=data, symbol=symbol, level=level,
                                                               owner=who.user))
        f = jsonable(result.to_dict())
        return {"prediction_id": result.prediction_id, "symbol": f.get("symbol", symbol.upper()),
                "user_expected_price": level, "model_predicted_price": f.get("close"),
                "probability_hit": f.get("probability_hit", f.get("p_touch")),
                "model_confidence": f.get("model_confidence", f.get("confidence")),
                "learning_score": f.get("learning_score"), "timestamp": f.get("at", f.get("timestamp")),
                "path": f.get("path"), "inputs": f.get("inputs"), "reading": f.get("reading"),
                "forecast": f}

    @app.get("/api/v1/predict/history", operation_id="predictionHistory", tags=["predictor"],
             summary="Your past predictions, newest first, with outcomes once resolved.")
    async def predict_history(who: Who, symbol: Annotated[str | None, Query(max_length=32)] = None,
                              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
        rows = await kernel.predictor.history(symbol, limit, owner=who.user)
        return {"predictions": [_prediction(r) for r in rows]}

    @app.post("/api/v1/train", operation_id="startTraining", tags=["predictor"], status_code=202,
              summary="Start training the predictor as a job (one at a time); returns the job.")
    async def train(who: Who, epochs: Annotated[int | None, Query(ge=1, le=1000)] = None,
                    max_minutes: Annotated[float | None, Query(gt=0, le=24 * 60)] = None) -> dict[str, Any]:
        info = await kernel.predictor.train(epochs=epochs, max_minutes=max_minutes, owner=who.user)
        return info.to_dict()

    @app.get("/api/v1/train/status", operation_id="trainingStatus", tags=["predictor"],
             summary="Your latest training job and whether one is running.")
    async def train_status(who: Who) -> dict[str, Any]:
        jobs = await kernel.jobs.list(owner=who.user, kind="train", limit=1)
        return {"running": bool(kernel.jobs.running("train")), "latest": jobs[0].to_dict() if jobs else None}

    async def _training_repo() -> Any:
        from core.store.training import TrainingRepo

        if kernel.store is None:
            raise Unavailable("the database is not open")
        return TrainingRepo(kernel.store)

    @app.get("/api/v1/evaluation/learning-status", operation_id="learningStatus", tags=["predictor"],
             summary="Training progress so far: runs, best validation loss, latest metrics.")
    async def learning_status(who: Who) -> dict[str, Any]:
        repo = await _training_repo()
        best = await kernel.runtime.run_io(repo.best_checkpoint)
        cps = await kernel.runtime.run_io(repo.checkpoints)
        return jsonable({"checkpoints": len(cps), "best": best,
                         "runs": sorted({c.run_id for c in cps}), "trained": best is not None})

    @app.get("/api/v1/evaluation/learning-curve", operation_id="learningCurve", tags=["predictor"],
             summary="One metric per epoch over the last days (DT learning-curve).")
    async def learning_curve(who: Who, metric_type: Annotated[str, Query(max_length=64)] = "val_loss",
                             days_back: Annotated[int, Query(ge=1, le=3650)] = 30) -> dict[str, Any]:
        repo = await _training_repo()
        since = kernel.clock.now() - timedelta(days=days_back)
        points = await kernel.runtime.run_io(lambda: repo.metrics(metric_type, since=since))
        return jsonable({"metric_type": metric_type, "points": points[-2000:]})

    @app.get("/api/v1/evaluation/best-model", operation_id="bestModel", tags=["predictor"],
             summary="The checkpoint with the lowest validation loss.")
    async def best_model(who: Who) -> dict[str, Any]:
        repo = await _training_repo()
        best = await kernel.runtime.run_io(repo.best_checkpoint)
        if best is None:
            from core.store.validation import RecordNotFound

            raise RecordNotFound("model", "no model has been trained yet: POST /api/v1/train")
        return jsonable({"best": best})

    # -- collection --------------------------------------------------------------------------------
    def _collection() -> Any:
        try:
            return kernel.collection
        except Exception as exc:  # KernelNotStarted: no store, no collection
            raise Unavailable(f"collection is unavailable: {exc}") from exc

    @app.post("/api/v1/collection/run", operation_id="startCollection", tags=["collection"], status_code=202,
              summary="Start the exchange-calendar capture scheduler as a job (one at a time).")
    async def collection_run(who: Who) -> dict[str, Any]:
        return (await _collection().start(owner=who.user)).to_dict()

    @app.post("/api/v1/collection/capture-now", operation_id="captureNow", tags=["collection"], status_code=202,
              summary="Capture the app's chart of a symbol now, as a job.")
    async def capture_now(who: Who, symbol: Annotated[str, Query(min_length=1, max_length=32)] = "MNQ1!",
                          interval: Annotated[int, Query(description="Minutes: 1 5 15 60 240 1440")] = 15
                          ) -> dict[str, Any]:
        if interval not in DT_INTERVALS:
            raise InputError("interval", "must be one of 1, 5, 15, 60, 240, 1440")
        coll = _collection()
        iv = DT_INTERVALS[interval]

        async def runner(ctx: JobContext) -> dict[str, object]:
            res = await coll.capture_now("chart", symbol, iv)
            return res.to_json()

        info = await kernel.jobs.submit("capture", runner, owner=who.user, params={"symbol": symbol, "interval": iv})
        return info.to_dict()

    @app.post("/api/v1/collection/run-session-candles", operation_id="runSessionCandles", tags=["collection"],
              status_code=202, summary="Capture a session's candles (the chart at each bar close) as a job.")
    async def run_session_candles(who: Who, symbol: Annotated[str, Query(min_length=1, max_length=32)],
                                  session_date: Annotated[date | None, Query()] = None,
                                  interval: Annotated[str, Query(max_length=8)] = "15m") -> dict[str, Any]:
        coll = _collection()
        day = session_date or kernel.clock.now().date()
        job = await coll.session_candles(symbol, day, interval, owner=who.user)
        return jsonable(job.to_dict())

    @app.post("/api/v1/collection/process-training-data", operation_id="processTrainingData", tags=["collection"],
              status_code=202,
              summary="Turn stored captures into training samples (features before, labels after) as a job.")
    async def process_training_data(who: Who, symbol: Annotated[str | None, Query(max_length=32)] = None,
                                    ) -> dict[str, Any]:
        coll = _collection()
        job = await coll.process_training_data([symbol] if symbol else None, owner=who.user)
        return jsonable(job.to_dict())

    @app.get("/api/v1/collection/schedule", operation_id="collectionSchedule", tags=["collection"],
             summary="The scheduler's state and the planned capture runs of the next days.")
    async def schedule(who: Who, days: Annotated[int, Query(ge=1, le=14)] = 2) -> dict[str, Any]:
        coll = _collection()
        today = kernel.clock.now().date()
        runs = coll.schedule(today, today + timedelta(days=days - 1))
        return jsonable({"snapshot": coll.snapshot().to_json(),
                         "planned": [{"at_ns": r.at_ns, "symbol": r.symbol, "kind": r.kind,
                                      "session_date": r.session_date, "interval_minutes": r.interval_minutes}
                                     for r in runs[:500]]})

    @app.get("/api/v1/live/prices", operation_id="livePrices", tags=["market"],
             summary="The latest price of each symbol (the feed's, live or replayed).")
    async def live_prices(who: Who, symbols: Annotated[str | None, Query(max_length=2000)] = None) -> dict[str, Any]:
        names = [s for s in (symbols.split(",") if symbols else kernel.market.symbols()) if s.strip()][:100]
        prices, errors = [], {}
        for sym in names:
            try:
                prices.append((await kernel.market.last_price(sym)).to_dict())
            except InputError as exc:
                errors[sym.strip().upper()] = exc.reason
        st = kernel.market.status()
        return {"prices": prices, "errors": errors, "replayed": st.replayed, "source": st.source}

    # -- notes -----------------------------------------------------------------------------------
    @app.get("/api/v1/notes", operation_id="listNotes", tags=["notes"],
             summary="Your notes: q= full-text search (best match first; \"phrase\", prefix*, -word, OR), "
                     "symbol= and tag= filter; without q, newest first.")
    async def list_notes(who: Who, q: Annotated[str | None, Query(max_length=200)] = None,
                         symbol: Annotated[str | None, Query(max_length=32)] = None,
                         tag: Annotated[str | None, Query(max_length=33)] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100,
                         offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
        notes = await kernel.notes.search(q, symbol or None, tag or None, limit=limit, offset=offset, owner=who.user)
        return {"notes": [_note(n) for n in notes]}

    @app.post("/api/v1/notes", operation_id="createNote", tags=["notes"], status_code=201,
              summary="Write a note (Markdown) with tags, optionally for a symbol and linked to one plan, "
                      "prediction or capture.")
    async def create_note(body: NoteIn, who: Who) -> dict[str, Any]:
        n = await kernel.notes.create(body.content, title=body.title, symbol=body.symbol, tags=body.tags,
                                      plan_id=body.plan_id, plan_version=body.plan_version,
                                      prediction_id=body.prediction_id, capture_id=body.capture_id, owner=who.user)
        return _note(n)

    NoteId = Annotated[int, Path(ge=1, le=2**31 - 1)]

    @app.get("/api/v1/notes/{note_id}", operation_id="getNote", tags=["notes"], summary="One of your notes.")
    async def get_note(note_id: NoteId, who: Who) -> dict[str, Any]:
        return _note(await kernel.notes.get(note_id, owner=who.user))

    @app.patch("/api/v1/notes/{note_id}", operation_id="updateNote", tags=["notes"],
               summary="Change a note: text, title, symbol, tags or its link (only the fields sent change).")
    async def update_note(note_id: NoteId, body: NotePatch, who: Who) -> dict[str, Any]:
        from core.store.notes import UNCHANGED, LinkIn

        sent = body.model_fields_set
        link = LinkIn(body.plan_id, body.plan_version, body.prediction_id, body.capture_id) \
            if sent & set(LINK_FIELDS) else UNCHANGED
        return _note(await kernel.notes.update(
            note_id, content=body.content if "content" in sent else UNCHANGED,
            title=body.title if "title" in sent else UNCHANGED, symbol=body.symbol if "symbol" in sent else UNCHANGED,
            tags=body.tags if "tags" in sent and body.tags is not None else UNCHANGED, link=link, owner=who.user))

    @app.delete("/api/v1/notes/{note_id}", operation_id="deleteNote", tags=["notes"], status_code=204,
                summary="Delete one of your notes.")
    async def delete_note(note_id: NoteId, who: Who) -> Response:
        await kernel.notes.delete(note_id, owner=who.user)
        return Response(status_code=204)

    # -- jobs ------------------------------------------------------------------------------------
    JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]

    @app.get("/api/v1/jobs", operation_id="listJobs", tags=["jobs"], summary="Your jobs, newest first.")
    async def list_jobs(who: Who, kind: Annotated[str | None, Query(max_length=32)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
        return {"jobs": [j.to_dict() for j in await kernel.jobs.list(owner=who.user, kind=kind, limit=limit)]}

    @app.get("/api/v1/jobs/{job_id}", operation_id="getJob", tags=["jobs"],
             summary="One job: status, progress, result or error.")
    async def get_job(job_id: JobId, who: Who) -> dict[str, Any]:
        return (await kernel.jobs.get(job_id, owner=who.user)).to_dict()

    @app.post("/api/v1/jobs/{job_id}/cancel", operation_id="cancelJob", tags=["jobs"],
              summary="Cancel one of your running jobs.")
    async def cancel_job(job_id: JobId, who: Who) -> dict[str, Any]:
        return (await kernel.jobs.cancel(job_id, owner=who.user)).to_dict()

