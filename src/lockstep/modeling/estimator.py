"""Estimator: build the model named by `model._target_` in params.yaml."""

from __future__ import annotations

import importlib
from typing import Any

from sklearn.base import BaseEstimator, is_classifier, is_regressor

from ..errors import PipelineError


def import_estimator_class(target: str) -> type:
    """Import the class at dotted path `target`."""
    module_name, _, class_name = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise PipelineError(
            f"model._target_ {target!r} cannot be imported; choose a model from conf/model/ or fix the class path"
        ) from None


def build_estimator(model_cfg: dict[str, Any], task: str) -> BaseEstimator:
    """Instantiate the estimator, check its hyperparameters and that it fits `task`."""
    target = str(model_cfg["_target_"])
    cls = import_estimator_class(target)
    kwargs = {key: value for key, value in model_cfg.items() if not key.startswith("_")}
    name = cls.__name__
    try:
        estimator = cls(**kwargs)
    except TypeError as exc:
        raise PipelineError(f"model: {name} rejects its parameters: {exc}") from None
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise PipelineError(f"model._target_ {target!r} is not an estimator (it needs fit and predict)")
    validate = getattr(estimator, "_validate_params", None)
    if validate is not None:
        try:
            validate()
        except ValueError as exc:
            raise PipelineError(f"model: {str(exc).splitlines()[0]}") from None
    if task == "regression" and not is_regressor(estimator):
        raise PipelineError(f"model {name} is not a regressor but the task is regression; try -S model=ridge")
    if task != "regression" and not is_classifier(estimator):
        raise PipelineError(f"model {name} is not a classifier but the task is {task}; choose a classifier model")
    return estimator
