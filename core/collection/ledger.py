"""What the scheduler has run, one JSON line per run under `<data dir>/collection/runs.jsonl`.

A restart reads it back and never repeats a run that already ran (ok, skipped or failed); the
captures themselves are also checked against their `snapshots` rows, so a run whose ledger line
was lost in a crash is still not captured twice."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

LEDGER_FILE = "collection/runs.jsonl"
STATUSES = ("ok", "skipped", "missed", "failed")


@dataclass(frozen=True, slots=True)
class RunRecord:
    key: str
    job: str
    symbol: str
    kind: str
    session_date: str
    interval_minutes: int | None
    scheduled_ns: int
    finished_ns: int        # clock time when it finished (replay time on the replay feed)
    status: str             # ok | skipped (fell behind) | missed (too late to capture) | failed
    detail: str
    snapshot_id: int | None = None

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["scheduled_utc"] = pd.Timestamp(self.scheduled_ns, tz="UTC").isoformat()
        d["finished_utc"] = pd.Timestamp(self.finished_ns, tz="UTC").isoformat()
        return d


class RunLedger:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LEDGER_FILE
        self._records: dict[str, RunRecord] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = RunRecord(**json.loads(line))
                except (json.JSONDecodeError, TypeError) as exc:
                    # A torn last line after a crash: that run is simply not recorded (and will not
                    # be captured twice either: the snapshots check catches it).
                    log.warning("%s line %d unreadable (%s); ignored", self.path, n, exc)
                    continue
                self._records[rec.key] = rec

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def get(self, key: str) -> RunRecord | None:
        return self._records.get(key)

    def records(self) -> list[RunRecord]:
        return sorted(self._records.values(), key=lambda r: (r.scheduled_ns, r.key))

    def add(self, rec: RunRecord) -> None:
        if rec.status not in STATUSES:
            raise ValueError(f"status: {rec.status!r} is not one of {STATUSES}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(rec), separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._records[rec.key] = rec
