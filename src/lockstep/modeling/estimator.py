"""Estimator: build the model named by `model._target_` in params.yaml.

Every `_target_` in the model config is checked before anything is built: it
must be a class from a trusted library (scikit-learn, or one added with
`extra_model_libraries`), and the outer one a scikit-learn estimator. Only then
does `hydra.utils.instantiate` build it, so a config can never call
`os.system` or `subprocess.Popen`, nor open a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sklearn.base import BaseEstimator, is_classifier, is_regressor

from ..config import Task
from ..contract.trust import ESTIMATOR_LIBRARIES, resolve_trusted_class
from ..errors import PipelineError


def estimator_libraries(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The libraries `_target_` may name a class from."""
    return ESTIMATOR_LIBRARIES + tuple(name for name in extra if name not in ESTIMATOR_LIBRARIES)


def _targets(node: Any, key: str = "model") -> Iterator[tuple[str, Any]]:
    """Every (config key, `_target_` value) in a model config, outermost first."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield f"{key}._target_", node["_target_"]
        for name, value in node.items():
            yield from _targets(value, f"{key}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _targets(value, f"{key}[{index}]")


def check_estimator_class(model_cfg: dict[str, Any], libraries: Iterable[str] = ESTIMATOR_LIBRARIES) -> type:
    """The estimator class `model_cfg` names, after checking every `_target_` in it; nothing is built."""
    allowed = tuple(libraries)
    classes = []
    for key, target in _targets(model_cfg):
        if not isinstance(target, str) or "." not in target:
            raise PipelineError(f"{key} must name a class by its dotted path, e.g. sklearn.linear_model.Ridge")
        classes.append(resolve_trusted_class(target, allowed, key))
    if not classes:
        raise PipelineError("model._target_ is missing; choose a model from conf/model/")
    outer = classes[0]
    if not (issubclass(outer, BaseEstimator) and hasattr(outer, "fit") and hasattr(outer, "predict")):
        raise PipelineError(
            f"model._target_ {model_cfg['_target_']!r} is not a scikit-learn estimator "
            "(it needs to subclass sklearn.base.BaseEstimator, with fit and predict)"
        )
    return outer


def build_estimator(model_cfg: dict[str, Any], task: str, extra_libraries: Iterable[str] = ()) -> BaseEstimator:
    """Check the config, instantiate the estimator, and check its hyperparameters and that it fits `task`."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    cls = check_estimator_class(model_cfg, estimator_libraries(extra_libraries))
    name = cls.__name__
    try:
        estimator = instantiate(model_cfg, _convert_="all")
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        first_line = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise PipelineError(f"model: {name} rejects its parameters: {first_line}") from None
    if not isinstance(estimator, BaseEstimator):
        raise PipelineError(f"model: {name} did not build an estimator; remove _partial_ and other special keys")
    validate = getattr(estimator, "_validate_params", None)
    if validate is not None:
        try:
            validate()
        except ValueError as exc:
            raise PipelineError(f"model: {str(exc).splitlines()[0]}") from None
    if task == Task.REGRESSION and not is_regressor(estimator):
        raise PipelineError(f"model {name} is not a regressor but the task is regression; try -S model=ridge")
    if task != Task.REGRESSION and not is_classifier(estimator):
        raise PipelineError(f"model {name} is not a classifier but the task is {task}; choose a classifier model")
    return estimator
