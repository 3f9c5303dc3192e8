"""Micro-batching: requests that arrive together are checked and scored in one call.

The contract's row checks and a model call each cost about as much for one row
as for a few hundred, so the requests waiting when the batcher is free share
them: one `check_requests` and one `ModelVersion.predict`. This is safe because
`predict_columns` gives each row the same bits whatever it is scored with, and
a request refused by the contract is answered alone (422) without touching the
others. Requests made under different model versions (a hot swap in progress)
are never mixed in one call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..modeling.linear import LinearScorer
from ..registry.store import ModelVersion
from .requests import check_requests

Outputs = dict[str, list[Any]]  # one list per output column (`score`..., `label`), row-aligned


@dataclass(frozen=True)
class _Job:
    loaded: ModelVersion
    records: list[dict[str, Any]]
    future: asyncio.Future[Outputs]


class MicroBatcher:
    """One background task that checks and scores everything waiting, up to `max_rows` rows at a time."""

    def __init__(self, max_rows: int = 4096) -> None:
        self.max_rows = max_rows
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task (in the running event loop)."""
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the task once every queued request has been answered."""
        await self.queue.join()
        if self.task:
            self.task.cancel()

    async def predict(self, loaded: ModelVersion, records: list[dict[str, Any]]) -> Outputs:
        """The outputs for `records`, or the BadRequestError naming their problems."""
        future: asyncio.Future[Outputs] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Job(loaded, records, future))
        return await future

    async def _run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            rows = len(jobs[0].records)
            while not self.queue.empty() and rows < self.max_rows:
                jobs.append(self.queue.get_nowait())
                rows += len(jobs[-1].records)
            for version in {id(job.loaded): job.loaded for job in jobs}.values():
                await self._score([job for job in jobs if job.loaded is version])
            for _ in jobs:
                self.queue.task_done()

    @staticmethod
    async def _score(jobs: list[_Job]) -> None:
        loaded = jobs[0].loaded
        try:
            checked = check_requests([job.records for job in jobs], loaded.contract)
            if not checked.rows:
                scored = {}
            elif isinstance(loaded.scorer, LinearScorer):  # well under a millisecond: a thread would cost more
                scored = loaded.predict(checked.columns)
            else:  # a Pipeline's call may be long: the event loop keeps reading requests meanwhile
                scored = await asyncio.to_thread(loaded.predict, checked.columns)
        except Exception as exc:  # the task itself keeps serving
            if len(jobs) > 1:  # one request must not fail the others: score each alone to find which
                for job in jobs:
                    await MicroBatcher._score([job])
                return
            if not jobs[0].future.done():  # a request whose client went away is cancelled
                jobs[0].future.set_exception(exc)
            return
        outputs = {name: values.tolist() for name, values in scored.items()}
        for job, outcome in zip(jobs, checked.outcomes, strict=True):
            if job.future.done():
                continue
            if isinstance(outcome, slice):
                job.future.set_result({name: values[outcome] for name, values in outputs.items()})
            else:
                job.future.set_exception(outcome)
