"""The names of a model's outputs: what `predict_columns`, batch files, the API and the prediction log call them."""

from __future__ import annotations

from ..config import Task
from .model_contract import ModelContract

LABEL = "label"  # the prediction: a class, or a regression's value
SCORE = "score"  # binary: the probability of the positive class
PROBA_PREFIX = "proba_"  # multiclass: one probability per class, proba_<class>


def proba_column(label: object) -> str:
    """The multiclass probability column of class `label`."""
    return f"{PROBA_PREFIX}{label}"


def score_columns(contract: ModelContract) -> list[str]:
    """The score columns a model with this contract outputs besides `label`: score, proba_<class>..., or none."""
    if contract.task == Task.BINARY:
        return [SCORE]
    if contract.task == Task.MULTICLASS:
        return [proba_column(label) for label in contract.classes or []]
    return []
