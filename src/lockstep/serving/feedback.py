"""Late labels: `POST /v1/feedback` bodies, checked against the model contract, as `FeedbackRecord`s.

A body is `{"id": ..., "outcome": ...}` or a list of them. `id` is what the
prediction log (and the `/v1/predict` response) gave the row: its id column's
value, or `<request_id>:<i>`. `outcome` must be one of the contract's classes
(of the same JSON type: `1` is not `true`), or a finite number for regression.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ..config import Task
from ..contract.model_contract import ModelContract
from ..contract.prediction_log import FeedbackRecord
from ..contract.rows import Problem
from .requests import MAX_RECORDS, BadRequestError

FIELDS = ("id", "outcome")


def feedback_records(document: Any, contract: ModelContract) -> list[FeedbackRecord]:
    """The records a feedback body holds, or a 4xx listing each problem by field."""
    items = [document] if isinstance(document, dict) else document
    if not isinstance(items, list) or not items:
        raise BadRequestError.single("$", "type", 'the body must be {"id": ..., "outcome": ...} or a non-empty list')
    if len(items) > MAX_RECORDS:
        raise BadRequestError.single("$", "too_many", f"{len(items)} outcomes; send at most {MAX_RECORDS}", 413)
    problems = [problem for row, item in enumerate(items) for problem in _problems(row, item, contract)]
    if problems:
        raise BadRequestError(422, problems)
    now = time.time()
    return [FeedbackRecord(id=item["id"], outcome=item["outcome"], time=now) for item in items]


def _problems(row: int, item: Any, contract: ModelContract) -> list[Problem]:
    where = f"$[{row}]"
    if not isinstance(item, dict):
        return [Problem(row, where, "type", f"outcome {row} is not a JSON object")]
    problems = [Problem(row, name, "unknown_field", f"unknown field {name!r}") for name in item if name not in FIELDS]
    problems += [Problem(row, name, "missing", f"{name} is required") for name in FIELDS if name not in item]
    identifier = item.get("id")
    if "id" in item and (isinstance(identifier, bool) or not isinstance(identifier, str | int)):
        problems.append(Problem(row, "id", "type", "id must be a string or an integer (a prediction's id)"))
    if "outcome" in item and not _valid_outcome(item["outcome"], contract):
        problems.append(Problem(row, "outcome", "category", f"outcome must be {_expected(contract)}"))
    return problems


def _valid_outcome(outcome: Any, contract: ModelContract) -> bool:
    if contract.task == Task.REGRESSION:
        return isinstance(outcome, int | float) and not isinstance(outcome, bool) and _finite(outcome)
    return any(type(outcome) is type(label) and outcome == label for label in contract.classes or [])


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer beyond any float (JSON allows 10**400): not a number the readers can use
        return False


def _expected(contract: ModelContract) -> str:
    if contract.task == Task.REGRESSION:
        return "a finite number"
    return "one of the classes " + ", ".join(repr(label) for label in contract.classes or [])
