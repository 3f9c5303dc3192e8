"""Simulated traffic with known drift: rows from the synthetic generator, sent to a running server like users would.

Each row is one `POST /v1/predict` request, sent over a few keep-alive
connections; each answered row's outcome (its generated label) is posted to
`/v1/feedback` once `outcome_delay` seconds have passed since its answer. The
rows' ids are `S<seed>-<loan id>`, so the same seed sends the same rows again.
Only the standard library speaks HTTP here: this is a client of the server.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .synthetic import Drift, generate_credit_data

OUTCOMES_PER_POST = 1_000
# What a request on a keep-alive connection that the server has closed meanwhile raises: it is sent again.
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
TARGET = "default"
ID_COLUMN = "loan_id"


@dataclass(frozen=True)
class TrafficSummary:
    """What a simulation sent and what came back."""

    sent: int
    answered: int
    refused: int  # a 4xx: the server's contract refused the row
    failed: int  # a 5xx, or no answer at all
    outcomes_posted: int
    first_error: str | None = None

    def line(self, url: str) -> str:
        """The one-line summary."""
        errors = f"{self.refused + self.failed:,} errors ({self.refused:,} refused, {self.failed:,} failed)"
        text = f"sent {self.sent:,} rows to {url}: {self.answered:,} answered, {errors}"
        text += f"; {self.outcomes_posted:,} outcomes posted"
        return text + (f"; first error: {self.first_error}" if self.first_error else "")


def parse_drift(
    shift: Sequence[str], new_category: Sequence[str], missing: Sequence[str], prior: str | None, concept: str | None
) -> Drift:
    """The drift the options ask for; a ValueError names the option and the value when one is wrong.

    `--shift FEATURE=K`, `--new-category FEATURE=VALUE:SHARE`, `--missing FEATURE=SHARE`, `--prior RATE`,
    `--concept TERM`.
    """
    shifts = dict(_pair("--shift", text, "FEATURE=K") for text in shift)
    categories = {}
    for text in new_category:
        name, value = _split("--new-category", text, "=", "FEATURE=VALUE:SHARE")
        category, share = _split("--new-category", text, ":", "FEATURE=VALUE:SHARE", value)
        categories[name] = (category, _number("--new-category", text, share))
    shares = dict(_pair("--missing", text, "FEATURE=SHARE") for text in missing)
    rate = None if prior is None else _number("--prior", prior, prior)
    settings = {"shift": shifts, "new_category": categories, "missing": shares, "prior": rate, "concept": concept}
    try:
        return Drift(**settings)
    except ValueError as exc:
        setting, _, reason = str(exc).partition(": ")
        raise ValueError(f"--{setting.replace('_', '-')}: {reason}") from None


def _split(option: str, text: str, sep: str, syntax: str, part: str | None = None) -> tuple[str, str]:
    left, found, right = (text if part is None else part).rpartition(sep)
    if not found or not left or not right:
        raise ValueError(f"{option} {text}: write {syntax}")
    return left, right


def _pair(option: str, text: str, syntax: str) -> tuple[str, float]:
    name, value = _split(option, text, "=", syntax)
    return name, _number(option, text, value)


def _number(option: str, text: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{option} {text}: {value!r} is not a number") from None


def simulated_rows(rows: int, seed: int, drift: Drift) -> tuple[list[dict[str, Any]], list[int]]:
    """`rows` requests' records (JSON-ready, missing values as None) and their outcomes."""
    frame = generate_credit_data(rows, seed, drift)
    frame[ID_COLUMN] = f"S{seed}-" + frame[ID_COLUMN].astype(str)
    outcomes = [int(value) for value in frame.pop(TARGET)]
    columns = {name: frame[name].astype(object).where(frame[name].notna(), None).tolist() for name in frame}
    records = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return records, outcomes


def send_traffic(
    url: str,
    records: list[dict[str, Any]],
    outcomes: list[Any] | None,
    concurrency: int = 4,
    outcome_delay: float = 1.0,
    timeout: float = 30.0,
) -> TrafficSummary:
    """Send each record to `url`'s /v1/predict; post each answered row's outcome after `outcome_delay` seconds.

    `outcomes` None: post none.
    """
    traffic = _Traffic(url, records, outcomes, outcome_delay, timeout)
    senders = [threading.Thread(target=traffic.send, daemon=True) for _ in range(concurrency)]
    poster = threading.Thread(target=traffic.post_outcomes, daemon=True)
    for thread in [*senders, poster]:
        thread.start()
    for thread in senders:
        thread.join()
    with traffic.due_changed:
        traffic.sending = False
        traffic.due_changed.notify()
    poster.join()
    return traffic.summary()


class _Traffic:
    """The state the sending threads and the outcome poster share."""

    def __init__(
        self, url: str, records: list[dict[str, Any]], outcomes: list[Any] | None, delay: float, timeout: float
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url}: give the server's base URL, such as http://127.0.0.1:8080")
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.records, self.outcomes, self.delay = records, outcomes, delay
        self.lock = threading.Lock()
        self.due_changed = threading.Condition(self.lock)
        self.next_row = 0
        self.sending = True
        self.due: deque[tuple[float, Any, Any]] = deque()  # (when, id, outcome), oldest first
        self.counts = {"answered": 0, "refused": 0, "failed": 0, "posted": 0}
        self.first_error: str | None = None

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _note(self, count: str, amount: int = 1, error: str | None = None) -> None:
        with self.lock:
            self.counts[count] += amount
            if error and self.first_error is None:
                self.first_error = error[:200]

    def send(self) -> None:
        """Send rows until none are left (one thread of several)."""
        connection = self._connect()
        while True:
            with self.lock:
                row, self.next_row = self.next_row, self.next_row + 1
            if row >= len(self.records):
                break
            try:
                status, raw = post_json(connection, "/v1/predict", self.records[row])
                row_id = json.loads(raw)["predictions"][0]["id"] if status == 200 else None
            except (OSError, http.client.HTTPException, ValueError, LookupError, TypeError) as exc:
                connection.close()
                self._note("failed", error=f"{type(exc).__name__}: {exc}")
                continue
            if status != 200:
                self._note(
                    "refused" if status < 500 else "failed", error=f"HTTP {status} {raw.decode(errors='replace')}"
                )
                continue
            self._note("answered")
            if self.outcomes is not None:
                with self.due_changed:
                    self.due.append((time.monotonic() + self.delay, row_id, self.outcomes[row]))
                    self.due_changed.notify()
        connection.close()

    def post_outcomes(self) -> None:
        """Post the outcomes as they fall due, in lists, until the senders are done and none are left."""
        connection = self._connect()
        while batch := self._next_due():
            try:
                status, raw = post_json(connection, "/v1/feedback", [{"id": i, "outcome": o} for i, o in batch])
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                status, raw = 0, f"{type(exc).__name__}: {exc}".encode()
            if status == 200:
                self._note("posted", len(batch))
            else:
                self._note("posted", 0, f"/v1/feedback: HTTP {status} {raw.decode(errors='replace')}")
        connection.close()

    def _next_due(self) -> list[tuple[Any, Any]]:
        """The outcomes due now (waiting for them), or [] when there will be no more."""
        with self.due_changed:
            while True:
                now = time.monotonic()
                if self.due and self.due[0][0] <= now:
                    batch = []
                    while self.due and self.due[0][0] <= now and len(batch) < OUTCOMES_PER_POST:
                        batch.append(self.due.popleft()[1:])
                    return batch
                if not self.due and not self.sending:
                    return []
                self.due_changed.wait(self.due[0][0] - now if self.due else None)

    def summary(self) -> TrafficSummary:
        """The counts so far."""
        counts = self.counts
        return TrafficSummary(
            len(self.records),
            counts["answered"],
            counts["refused"],
            counts["failed"],
            counts["posted"],
            self.first_error,
        )


def post_json(connection: http.client.HTTPConnection, path: str, body: Any) -> tuple[int, bytes]:
    """POST `body` as JSON: the status and the body's bytes.

    Sent once more, on a new connection, if the server had closed the idle keep-alive one.
    """
    data = json.dumps(body)
    try:
        return _post_once(connection, path, data)
    except STALE:
        connection.close()  # the next request opens a new connection
        return _post_once(connection, path, data)


def _post_once(connection: http.client.HTTPConnection, path: str, data: str) -> tuple[int, bytes]:
    connection.request("POST", path, body=data, headers={"content-type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()
