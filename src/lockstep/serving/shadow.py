"""The shadow: a candidate that scores what `prod` answers, off the request path, and is only logged.

A request puts its rows on a queue (`offer`) and is answered without waiting.
One background task takes what has gathered (for `LINGER_SECONDS`), and
scores it in one call with the shadow's version, in a thread of its own (never the batcher's, so a slow shadow cannot
hold up `prod`). When the queue is at the rollout's `shadow_queue`, new rows
are dropped and counted. Whatever the shadow does (raise, return garbage,
sleep) ends as a log line with an `error` and a count, never in a response.
A shadow that kills the process (a segfault in native code) is beyond this:
it runs in the server's process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..store import ModelVersion
from .observe import Metrics, PredictionLog
from .records import PredictionRecord
from .requests import check_requests

log = logging.getLogger(__name__)
SHADOW = "shadow"
# How long the shadow lets requests gather before scoring them in one call. A Pipeline call costs
# about the same for 1 row as for 64, and the shadow's CPU is taken from `prod`'s answers (one
# process): one call per 50 ms instead of one per request keeps that share small.
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
    """A bounded queue of requests and one task that scores them with the shadow, up to `max_rows` at a time."""

    def __init__(
        self, metrics: Metrics, log_: PredictionLog, max_rows: int = 4096, linger: float = LINGER_SECONDS
    ) -> None:
        self.metrics = metrics
        self.log = log_
        self.max_rows = max_rows
        self.linger = linger
        self.queue: asyncio.Queue[ShadowJob] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="shadow")
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task (in the running event loop)."""
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop scoring: what is still queued is dropped (a shadow never delays a shutdown)."""
        if self.task:
            self.task.cancel()
        self.metrics.shadow_dropped.inc(self.queue.qsize())
        self.executor.shutdown(wait=False, cancel_futures=True)

    def offer(self, job: ShadowJob, limit: int) -> bool:
        """Queue `job` unless `limit` jobs are waiting already (then count it as dropped); never blocks."""
        if self.queue.qsize() >= limit:
            self.metrics.shadow_dropped.inc()
            return False
        self.queue.put_nowait(job)
        return True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            await asyncio.sleep(self.linger)
            rows = len(jobs[0].records)
            while not self.queue.empty() and rows < self.max_rows:
                jobs.append(self.queue.get_nowait())
                rows += len(jobs[-1].records)
            try:
                await loop.run_in_executor(self.executor, self.score, jobs)
            except Exception:  # a bug here must not stop the shadow, nor reach a response
                log.exception("the shadow failed to score %d requests", len(jobs))

    def score(self, jobs: list[ShadowJob]) -> None:
        """Score `jobs` (each version's in one call) and log a line per job; runs in the shadow's thread."""
        for version in {id(job.loaded): job.loaded for job in jobs}.values():
            self._score_version(version, [job for job in jobs if job.loaded is version])

    def _score_version(self, loaded: ModelVersion, jobs: list[ShadowJob]) -> None:
        # prod's contract accepted these rows; the shadow's may not
        checked = check_requests([job.records for job in jobs], loaded.contract)
        valid: list[tuple[ShadowJob, slice]] = []
        for job, outcome in zip(jobs, checked.outcomes, strict=True):
            if isinstance(outcome, slice):
                valid.append((job, outcome))
            else:
                self._failed(job, f"contract: {outcome}", "contract")
        if not valid:
            return
        started = time.perf_counter()
        try:
            scored = loaded.predict(checked.columns)  # the path prod and batch score through
            wrong = [name for name, values in scored.items() if len(values) != checked.rows]
            if wrong or "label" not in scored:
                raise ValueError(f"the outputs {wrong or ['label']} do not hold one value per row")
        except Exception as exc:  # anything the candidate's model does wrong
            for job, _ in valid:
                self._failed(job, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", "model")
            return
        if (time.perf_counter() - started) * 1000 > valid[0][0].budget_ms:
            self.metrics.shadow_over_budget.inc(len(valid))
        outputs = {name: values.tolist() for name, values in scored.items()}
        for job, rows in valid:
            out = {name: values[rows] for name, values in outputs.items()}
            self.metrics.observe_predictions(loaded.version, out.get("score"), out["label"])
            self._write(job, out, None)

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
