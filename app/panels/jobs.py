"""Jobs controller: the job table (progress, status, errors) from the job manager, refreshed on
JobProgress events (coalesced), and Cancel."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from app.panels.host import PanelHost
from core.events import JobProgress
from widgets.panels.jobs import JobRow, JobsPanel


class JobsController(QObject):
    def __init__(self, host: PanelHost, panel: JobsPanel) -> None:
        super().__init__()
        self._host, self._panel = host, panel
        self.live: dict[int, JobProgress] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(lambda: host._spawn(self.refresh(), "jobs"))
        panel.cancel_requested.connect(lambda jid: host._spawn(self.cancel(jid), "cancel job"))
        panel.refresh_requested.connect(lambda: host._spawn(self.refresh(), "jobs"))

    async def refresh(self) -> None:
        jobs = await self._host.call(self._host.kernel.jobs.list(limit=100))
        rows = []
        for j in jobs:
            ev = self.live.get(j.id)
            fraction = ev.fraction if ev is not None and not j.status.finished else j.progress
            message = (ev.message if ev is not None and not j.status.finished else j.message) or ""
            if j.error:
                message = f"{message} — {j.error[-200:]}".strip(" —")
            rows.append(JobRow(j.id, j.kind, j.status.value, fraction, message))
        self._panel.set_jobs(rows)

    async def cancel(self, job_id: int) -> None:
        await self._host.call(self._host.kernel.jobs.cancel(job_id))
        await self.refresh()

    def on_job_progress(self, event: JobProgress) -> None:
        self.live[int(event.job_id)] = event
        if not self._timer.isActive():
            self._timer.start()
