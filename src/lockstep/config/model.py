"""`model:`: the estimator, named by `_target_` (a class in a trusted library) and its keyword arguments.

Only the shape is checked here; `modeling/estimator.py` resolves `_target_`
against the trusted libraries and checks the arguments by building it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator


def _names_a_class(model: dict[str, Any]) -> dict[str, Any]:
    target = model.get("_target_")
    if not (isinstance(target, str) and "." in target):
        raise ValueError("model._target_ must name an estimator class")
    return model


ModelConfig = Annotated[dict[str, Any], AfterValidator(_names_a_class)]
