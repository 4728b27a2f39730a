"""Storage: SQLite by default, PostgreSQL via DB_URL; schema managed by the bundled Alembic migrations.

    store = open_ready_store(data_dir / "tradecoach.db")   # mkdir + open + migrate (if behind)
    NotesRepo(store).add("faded the gap", symbol="SPY")

Names are imported on first use so `import core.store.engine` stays light (no numpy/pandas): short-lived
processes such as the durability test's writer start in a fraction of a second.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.store.engine import (
        Store,
        StoreBusyError,
        StoreUnavailableError,
        open_ready_store,
        open_store,
        sqlite_url,
    )
    from core.store.imported_bars import Coverage, ImportedBarsRepo, ImportResult, import_bars_file
    from core.store.iv_history import IVHistoryRepo, IVPoint
    from core.store.jobs import JobRow, JobsRepo
    from core.store.notes import UNCHANGED, Note, NotesRepo
    from core.store.plans import MAX_PLAN_VERSIONS, PlansRepo, PlanVersion
    from core.store.predictions import PredictionRecord, PredictionsRepo
    from core.store.samples import Sample, TrainingSamplesRepo
    from core.store.snapshots import SnapshotRecord, SnapshotsRepo
    from core.store.training import Checkpoint, MetricPoint, TrainingRepo
    from core.store.validation import RecordNotFound
    from core.store.watchlists import WatchlistsRepo

_HOME = {
    "Store": "engine", "open_store": "engine", "sqlite_url": "engine", "open_ready_store": "engine",
    "StoreBusyError": "engine",
    "StoreUnavailableError": "engine",
    "Coverage": "imported_bars", "ImportedBarsRepo": "imported_bars", "ImportResult": "imported_bars",
    "import_bars_file": "imported_bars",
    "IVHistoryRepo": "iv_history", "IVPoint": "iv_history",
    "JobRow": "jobs", "JobsRepo": "jobs",
    "UNCHANGED": "notes", "Note": "notes", "NotesRepo": "notes",
    "MAX_PLAN_VERSIONS": "plans", "PlansRepo": "plans", "PlanVersion": "plans",
    "PredictionRecord": "predictions", "PredictionsRepo": "predictions",
    "Sample": "samples", "TrainingSamplesRepo": "samples",
    "SnapshotRecord": "snapshots", "SnapshotsRepo": "snapshots",
    "Checkpoint": "training", "MetricPoint": "training", "TrainingRepo": "training",
    "RecordNotFound": "validation",
    "WatchlistsRepo": "watchlists",
}

__all__ = [
    "MAX_PLAN_VERSIONS",
    "UNCHANGED",
    "Checkpoint",
    "Coverage",
    "IVHistoryRepo",
    "IVPoint",
    "ImportResult",
    "ImportedBarsRepo",
    "JobRow",
    "JobsRepo",
    "MetricPoint",
    "Note",
    "NotesRepo",
    "PlanVersion",
    "PlansRepo",
    "PredictionRecord",
    "PredictionsRepo",
    "RecordNotFound",
    "Sample",
    "SnapshotRecord",
    "SnapshotsRepo",
    "Store",
    "StoreBusyError",
    "StoreUnavailableError",
    "TrainingRepo",
    "TrainingSamplesRepo",
    "WatchlistsRepo",
    "import_bars_file",
    "open_ready_store",
    "open_store",
    "sqlite_url",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'core.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f"core.store.{module}"), name)
