"""Report generation as background jobs the page can poll by id.

A job is a coroutine (the reporter runner waits on a subprocess; blocking reads go to a
worker thread inside it) that reports progress through a callback. Jobs are owned by ``ReportJobs``:
``aclose`` cancels and awaits every task, so none outlives Control. Finished jobs are kept
(bounded) so the page can still fetch their result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import msgspec

from mimolo.errors import MimoloError

log = logging.getLogger(__name__)

JobState = Literal["running", "done", "failed"]
Progress = Callable[[float, str], None]
JobFn = Callable[[Progress], Awaitable[Path]]


class ReportJob(msgspec.Struct, kw_only=True):
    """What the page sees of a job."""

    job_id: str
    state: JobState = "running"
    progress: float = 0.0
    message: str = "starting"
    file_name: str | None = None
    error: str | None = None


class ReportJobs:
    """Running and recent report jobs, at most ``keep`` remembered."""

    def __init__(self, *, keep: int = 50) -> None:
        self._jobs: OrderedDict[str, ReportJob] = OrderedDict()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._keep = keep

    def get(self, job_id: str) -> ReportJob | None:
        return self._jobs.get(job_id)

    def submit(self, fn: JobFn) -> ReportJob:
        """Start ``fn`` as a task owned by this object; return its job at once."""
        job = ReportJob(job_id=secrets.token_hex(8))
        self._jobs[job.job_id] = job
        while len(self._jobs) > self._keep:
            old_id, _ = self._jobs.popitem(last=False)
            self._tasks.pop(old_id, None)

        def progress(fraction: float, message: str) -> None:
            job.progress = max(job.progress, min(1.0, fraction))
            job.message = message

        task = asyncio.create_task(self._run(job, fn, progress))
        self._tasks[job.job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job.job_id, None))
        return job

    async def _run(self, job: ReportJob, fn: JobFn, progress: Progress) -> None:
        try:
            path = await fn(progress)
        except MimoloError as exc:
            job.state, job.error, job.message = "failed", exc.message, "failed"
            log.warning("report job %s failed: %s", job.job_id, exc)
        except Exception as exc:
            job.state, job.error, job.message = "failed", f"{type(exc).__name__}: {exc}", "failed"
            log.exception("report job %s crashed", job.job_id)
        else:
            job.state, job.progress, job.message = "done", 1.0, "done"
            job.file_name = path.name

    async def aclose(self) -> None:
        """Cancel and await every running job."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = ["JobFn", "Progress", "ReportJob", "ReportJobs"]
