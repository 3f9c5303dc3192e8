"""The shadow: a candidate that scores what `prod` answers, off the request path, and is only logged.

A request puts its rows on a queue (`offer`) and is answered without waiting.
One background task takes what has gathered (for `LINGER_SECONDS`) and has it
checked and scored in one call by the shadow's own process
(`shadow_process.py`): a slow shadow takes no time from `prod`, and one that
crashes its process loses only the requests it held, which are logged with
the error; the next batch starts a new process. When the queue is at the
rollout's `shadow_queue`, new requests are dropped and counted. Whatever the
shadow does (raise, return garbage, sleep, crash) ends as a log line with an
`error` and a count, never in a response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from ..store import ModelVersion
from .observe import Metrics, PredictionLog
from .records import PredictionRecord
from .shadow_process import ShadowProcess, ShadowProcessDiedError

log = logging.getLogger(__name__)
SHADOW = "shadow"
# How long the shadow lets requests gather before scoring them in one call. A call costs about the
# same for 1 row as for 64, and each one crosses a pipe: one call per 50 ms instead of one per
# request keeps the shadow's CPU, and the server's share of it (pickling), small.
LINGER_SECONDS = 0.05


@dataclass(frozen=True)
class ShadowJob:
    """One request's rows, for the shadow to score."""

    loaded: ModelVersion
    records: list[dict[str, Any]]
    ids: list[Any]  # as logged for prod: the id column's values, or `<request_id>:<i>`
    request_id: str
    arrived: float  # time.perf_counter() when the request came
    budget_ms: float


class ShadowScorer:
    """A bounded queue of requests and one task that has them scored by the shadow's process, `max_rows` at a time."""

    def __init__(
        self, metrics: Metrics, log_: PredictionLog, max_rows: int = 4096, linger: float = LINGER_SECONDS
    ) -> None:
        self.metrics = metrics
        self.log = log_
        self.max_rows = max_rows
        self.linger = linger
        self.queue: asyncio.Queue[ShadowJob] = asyncio.Queue()
        self.process: ShadowProcess | None = None  # started with the first job: most servers never run a shadow
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task (in the running event loop)."""
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop scoring: what is still queued is dropped (a shadow never delays a shutdown)."""
        if self.task:
            self.task.cancel()
        self.metrics.shadow_dropped.inc(self.queue.qsize())
        if self.process is not None:
            self.process.stop()

    def offer(self, job: ShadowJob, limit: int) -> bool:
        """Queue `job` unless `limit` jobs are waiting already (then count it as dropped); never blocks."""
        if self.queue.qsize() >= limit:
            self.metrics.shadow_dropped.inc()
            return False
        self.queue.put_nowait(job)
        return True

    async def _run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            await asyncio.sleep(self.linger)
            rows = len(jobs[0].records)
            while not self.queue.empty() and rows < self.max_rows:
                jobs.append(self.queue.get_nowait())
                rows += len(jobs[-1].records)
            for version in {id(job.loaded): job.loaded for job in jobs}.values():
                try:
                    await self._score_version(version, [job for job in jobs if job.loaded is version])
                except Exception:  # a bug here must not stop the shadow, nor reach a response
                    log.exception("the shadow failed to score %d requests", len(jobs))

    async def _score_version(self, loaded: ModelVersion, jobs: list[ShadowJob]) -> None:
        if self.process is None or not self.process.alive():
            self.process = await asyncio.to_thread(ShadowProcess)
        key = f"{loaded.version}:{loaded.sha256}:{id(loaded)}"
        try:
            result = await asyncio.to_thread(self.process.score, key, loaded, [job.records for job in jobs])
        except ShadowProcessDiedError as exc:
            for job in jobs:
                self._failed(job, str(exc), "crash")
            return
        if result.seconds * 1000 > jobs[0].budget_ms:
            self.metrics.shadow_over_budget.inc(sum(outcome.error is None for outcome in result.outcomes))
        for job, outcome in zip(jobs, result.outcomes, strict=True):
            if outcome.error is not None:
                self._failed(job, outcome.error, outcome.kind or "model")
            else:
                self.metrics.observe_predictions(loaded.version, outcome.outputs.get("score"), outcome.outputs["label"])
                self._write(job, outcome.outputs, None)

    def _failed(self, job: ShadowJob, error: str, kind: str) -> None:
        self._write(job, {}, error)
        self.metrics.shadow_errors.labels(kind).inc()

    def _write(self, job: ShadowJob, outputs: dict[str, list[Any]], error: str | None) -> None:
        latency = time.perf_counter() - job.arrived
        record = PredictionRecord(
            request_id=job.request_id,
            time=time.time(),
            arm=SHADOW,
            served=False,
            model_version=job.loaded.version,
            model_sha256=job.loaded.sha256,
            ids=job.ids,
            inputs=job.records,
            outputs=outputs,
            latency_ms=round(latency * 1000, 3),
            error=error,
        )
        self.log.write(record)  # before counting it: a count seen in /metrics is a line in the log
        self.metrics.arm_requests.labels(SHADOW, job.loaded.version).inc()
        self.metrics.arm_latency.labels(SHADOW).observe(latency)
