"""The shadow: a candidate that scores what `prod` answers, off the request path, and is only logged.

A request puts its body on a queue (`offer`) and is answered without waiting.
One background task takes what has gathered (for `LINGER_SECONDS`) and sends
it, in one batch, to the shadow's own process (`shadow_process.py`), which
decodes, checks, scores and logs it; the server only counts the outcomes in
/metrics. A slow shadow takes no time from `prod`, and one that crashes its
process loses only the requests it held, which the server logs with the error;
the next batch starts a new process. When the queue is at the rollout's
`shadow_queue` (or holds `MAX_QUEUED_BYTES` of bodies), new requests are dropped and counted; so are the requests of a
batch whose pipe failed while the process ran (then the next batch starts a
new process). Whatever the shadow does (raise, return garbage, sleep, crash)
ends as a log line with an `error` and a count, never in a response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from ..registry.store import ModelVersion
from .observe import Metrics
from .prediction_log import PredictionLog
from .shadow_process import SHADOW, ShadowJob, ShadowPipeError, ShadowProcess, ShadowProcessDiedError, shadow_record

log = logging.getLogger(__name__)
# How long the shadow lets requests gather before sending them in one batch: a model call costs
# about the same for 1 row as for 64, and each batch crosses a pipe.
LINGER_SECONDS = 0.05
# The most request bodies the queue holds, whatever `shadow_queue` says: a body may be 8 MB.
MAX_QUEUED_BYTES = 256 * 1024 * 1024
# The most requests in one batch: a shadow that lags sends what has gathered, in fewer, larger round trips.
MAX_BATCH_REQUESTS = 4096


class ShadowScorer:
    """A bounded queue of requests and one task that has them scored by the shadow's process, in batches."""

    def __init__(
        self,
        metrics: Metrics,
        log_: PredictionLog,
        shadow_log: Path,
        max_requests: int = MAX_BATCH_REQUESTS,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.metrics = metrics
        self.log = log_  # the server's log: for the lines of requests a crashed process took with it
        self.shadow_log = shadow_log  # the shadow process's own log
        self.max_requests = max_requests
        self.linger = linger
        self.queue: asyncio.Queue[tuple[ModelVersion, ShadowJob]] = asyncio.Queue()
        self.queued_bytes = 0
        self.process: ShadowProcess | None = None  # started with the first job: most servers never run a shadow
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task (in the running event loop)."""
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop scoring: what is still queued is dropped (a shadow never delays a shutdown)."""
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task  # off the pipe before it closes
        self.metrics.shadow_dropped.inc(self.queue.qsize())
        if self.process is not None:
            self.process.stop()

    def offer(self, loaded: ModelVersion, job: ShadowJob, limit: int) -> bool:
        """Queue `job` for `loaded` unless `limit` jobs (or `MAX_QUEUED_BYTES`) wait already, then count it dropped."""
        if self.queue.qsize() >= limit or self.queued_bytes + len(job.body) > MAX_QUEUED_BYTES:
            self.metrics.shadow_dropped.inc()
            return False
        self.queue.put_nowait((loaded, job))
        self.queued_bytes += len(job.body)
        return True

    async def _run(self) -> None:
        while True:
            waiting = [await self.queue.get()]
            await asyncio.sleep(self.linger)
            while not self.queue.empty() and len(waiting) < self.max_requests:
                waiting.append(self.queue.get_nowait())
            self.queued_bytes -= sum(len(job.body) for _, job in waiting)
            for version in {id(loaded): loaded for loaded, _ in waiting}.values():
                jobs = [job for loaded, job in waiting if loaded is version]
                try:
                    await self._score_version(version, jobs)
                except Exception:  # a bug here must not stop the shadow, nor reach a response
                    log.exception("the shadow failed to score %d requests", len(jobs))

    async def _score_version(self, loaded: ModelVersion, jobs: list[ShadowJob]) -> None:
        process = await self._usable_process()
        key = f"{loaded.version}:{loaded.sha256}:{id(loaded)}"
        try:
            result = await process.score(key, loaded, jobs)
        except ShadowPipeError as exc:  # the process runs: not a crash, and not the candidate's failure
            log.warning("%s; %d requests dropped, the next batch starts a new process", exc, len(jobs))
            self.metrics.shadow_dropped.inc(len(jobs))
            return
        except ShadowProcessDiedError as exc:
            for job in jobs:
                latency = time.time() - job.arrived
                self.log.write(shadow_record(loaded, job, [], {}, latency, str(exc)))
                self._count(loaded, latency, "crash")
            return
        if result.seconds * 1000 > jobs[0].budget_ms:
            self.metrics.shadow_over_budget.inc(sum(outcome.kind is None for outcome in result.outcomes))
        for outcome in result.outcomes:  # logged by the shadow's process already
            if outcome.kind is None:
                self.metrics.observe_predictions(loaded.version, outcome.scores, outcome.labels or [])
            self._count(loaded, outcome.latency, outcome.kind)

    async def _usable_process(self) -> ShadowProcess:
        """The running process, or a new one if it died or its pipe failed (the old one ended first)."""
        if self.process is not None and not self.process.usable():
            old, self.process = self.process, None
            await asyncio.to_thread(old.stop)
        if self.process is None:
            self.process = await asyncio.to_thread(ShadowProcess, self.shadow_log)
        return self.process

    def _count(self, loaded: ModelVersion, latency: float, error_kind: str | None) -> None:
        if error_kind is not None:
            self.metrics.shadow_errors.labels(error_kind).inc()
        self.metrics.arm_requests.labels(SHADOW, loaded.version).inc()
        self.metrics.arm_latency.labels(SHADOW).observe(latency)
