"""A fast path for linear pipelines: the fitted Pipeline's own arithmetic, without its input validation.

A fitted Pipeline spends most of a small call checking and converting its
input (pandas string columns above all), not computing. For the preprocessor
`features.py` builds (imputers, a scaler, a one-hot encoder) followed by
LogisticRegression or Ridge, `LinearScorer` replays the fitted steps on NumPy
arrays, operation for operation. The store serves with it only when
`serving_scorer` finds it matches the Pipeline to 1e-12 on a reference sample
built from the contract; any other model, or any mismatch, is served by the
Pipeline itself. scikit-learn has no validation-free predict to use instead.

scikit-learn and SciPy are imported when a scorer is built, not with this
module: the server imports it, and they come with the model when it is loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import Task
from ..contract.model_contract import ModelContract
from ..contract.rows import VECTORISED_ROWS, check_rows

if TYPE_CHECKING:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

log = logging.getLogger(__name__)
TOLERANCE = 1e-12
SAMPLE_ROWS = 256
UNSEEN = "<a category the model never saw>"
Step = Callable[[np.ndarray], np.ndarray]
Frame = Mapping[str, np.ndarray] | pd.DataFrame  # the contract's columns, by name


class NotReplayableError(ValueError):
    """The model has a part the fast path does not replay."""


class LinearScorer:
    """`predict_proba`/`predict` and `classes_` of a fitted linear Pipeline, in plain NumPy.

    It takes a DataFrame or, cheaper, arrays by name (what the contract's row checks give).
    """

    def __init__(self, model: Any) -> None:
        from scipy.special import expit
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import Pipeline
        from sklearn.utils.extmath import softmax

        self._expit, self._softmax = expit, softmax
        if not isinstance(model, Pipeline) or len(model.steps) != 2:
            raise NotReplayableError("not a two-step Pipeline (preprocessor, estimator)")
        preprocess, estimator = model.steps[0][1], model.steps[1][1]
        if type(preprocess) is not ColumnTransformer or type(estimator) not in (LogisticRegression, Ridge):
            raise NotReplayableError(f"not a ColumnTransformer + LogisticRegression or Ridge ({type(estimator)})")
        if preprocess.sparse_output_:
            raise NotReplayableError("the preprocessor's output is sparse")
        self.model = model
        self.estimator = estimator
        self.blocks: list[tuple[list[str], list[Step]]] = []
        self.categories: dict[str, list[Any]] = {}
        for _, transformer, columns in preprocess.transformers_:
            if transformer == "drop" or not len(columns):
                continue
            steps = transformer.steps if isinstance(transformer, Pipeline) else [("", transformer)]
            self.blocks.append((list(columns), [self._step(step, list(columns)) for _, step in steps]))
        self.classes_ = getattr(estimator, "classes_", None)

    def __reduce__(self) -> tuple[type[LinearScorer], tuple[Any]]:
        """Pickled as its Pipeline and rebuilt from it (its steps are closures), for the shadow's process."""
        return LinearScorer, (self.model,)

    def _step(self, step: Any, columns: list[str]) -> Step:
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        if type(step) is SimpleImputer:
            return _imputer(step)
        if type(step) is StandardScaler:
            return _scaler(step)
        if type(step) is OneHotEncoder:
            self.categories |= {name: list(cats) for name, cats in zip(columns, step.categories_, strict=True)}
            return _one_hot(step)
        raise NotReplayableError(f"{type(step).__name__} is not replayed")

    def _features(self, frame: Frame) -> np.ndarray:
        parts = []
        for columns, steps in self.blocks:
            # Column by column: selecting a sub-frame costs pandas more than this whole computation.
            arrays = [np.asarray(frame[name]) for name in columns]
            dtype = np.float64 if all(a.dtype.kind == "f" for a in arrays) else object
            values = np.column_stack(arrays).astype(dtype, copy=False)
            for step in steps:
                values = step(values)
            parts.append(values)
        return np.hstack(parts)

    def _decision(self, frame: Frame) -> np.ndarray:
        # As LinearModel's decision_function: X @ coef.T + intercept (a column of one target flattened).
        coef = self.estimator.coef_
        scores = self._features(frame) @ (coef.T if coef.ndim == 2 else coef) + self.estimator.intercept_
        return scores.reshape(-1) if scores.ndim > 1 and scores.shape[1] == 1 else scores

    def predict_proba(self, frame: Frame) -> np.ndarray:
        """As LogisticRegression.predict_proba: expit for two classes, softmax for more."""
        decision = self._decision(frame)
        if decision.ndim == 1:
            positive = self._expit(decision, out=decision)
            return np.stack([1 - positive, positive], axis=1)
        return self._softmax(decision, copy=False)

    def predict(self, frame: Frame) -> np.ndarray:
        """As Ridge.predict."""
        return self._decision(frame)


def _imputer(imputer: SimpleImputer) -> Step:
    fill = imputer.statistics_
    if imputer.add_indicator or pd.isna(fill).any() or not _is_nan(imputer.missing_values):
        raise NotReplayableError("an imputer with an indicator, an empty column or a missing value other than NaN")

    def impute(values: np.ndarray) -> np.ndarray:
        if values.dtype.kind == "f":
            return np.where(np.isnan(values), fill, values)
        values = values.copy()
        missing = pd.isna(values)
        values[missing] = np.broadcast_to(fill, values.shape)[missing]
        return values

    return impute


def _scaler(scaler: StandardScaler) -> Step:
    def scale(values: np.ndarray) -> np.ndarray:
        values = values.astype(np.float64)  # a copy, as StandardScaler's transform makes
        if scaler.with_mean:
            values -= scaler.mean_
        if scaler.with_std:
            values /= scaler.scale_
        return values

    return scale


def _one_hot(encoder: OneHotEncoder) -> Step:
    if encoder.drop_idx_ is not None or encoder.dtype not in (np.float64, float) or encoder.sparse_output:
        raise NotReplayableError("a one-hot encoder that drops a category, is sparse, or is not float64")
    if encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise NotReplayableError(f"a one-hot encoder with handle_unknown={encoder.handle_unknown!r}")
    infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(encoder.categories_)
    tables, offsets, width = [], [], 0
    for categories, rare in zip(encoder.categories_, infrequent, strict=True):
        rare_set = set() if rare is None else set(rare)
        frequent = [c for c in categories if c not in rare_set]
        # Each known category's output column; an unseen or infrequent one goes to the infrequent column, if any.
        other = len(frequent) if rare is not None else -1
        table = {c: other if c in rare_set else frequent.index(c) for c in categories}
        tables.append((table, other, pd.Index(list(table), dtype=object), np.array([*table.values(), other])))
        offsets.append(width)
        width += len(frequent) + (rare is not None)

    def encode(values: np.ndarray) -> np.ndarray:
        out = np.zeros((len(values), width), dtype=np.float64)
        for feature, ((table, other, index, columns), offset) in enumerate(zip(tables, offsets, strict=True)):
            if len(values) > VECTORISED_ROWS:  # a hash lookup in C; not found (-1) -> the last entry, `other`
                column = columns[index.get_indexer(pd.Index(values[:, feature], dtype=object))]
            else:  # a few rows: pandas' per-call cost is more than the loop's
                column = np.fromiter((table.get(v, other) for v in values[:, feature]), np.int64, len(values))
            hit = np.flatnonzero(column >= 0)
            out[hit, offset + column[hit]] = 1.0
        return out

    return encode


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def reference_sample(
    contract: ModelContract, categories: dict[str, list[Any]], rows: int = SAMPLE_ROWS
) -> pd.DataFrame:
    """Rows that pass the contract, spread over its ranges and categories, with missing and unseen values.

    Categories come from the contract's allowed values, else from what the encoder learned, plus one unseen.
    """
    rng = np.random.default_rng(0)
    raw: dict[str, np.ndarray] = {}
    for rule in contract.columns:
        if rule.allowed is not None:
            values = np.array(rule.allowed, dtype=object)[rng.integers(0, len(rule.allowed), rows)]
        elif rule.numeric:
            low = rule.min if rule.min is not None else (rule.max - 1e3 if rule.max is not None else -1e3)
            high = rule.max if rule.max is not None else low + 2e3
            values = rng.uniform(low, high, rows)
            values = np.round(values) if rule.dtype == "int" else values
        elif rule.dtype == "bool":
            values = rng.random(rows) < 0.5
        else:
            known = [c for c in categories.get(rule.name, []) if isinstance(c, str)] + [UNSEEN]
            values = np.array(known, dtype=object)[rng.integers(0, len(known), rows)]
        if rule.nullable:
            values = values.astype(object)
            values[rng.random(rows) < 0.1] = None
        raw[rule.name] = values
    return check_rows(raw, contract).inputs


def serving_scorer(model: Any, contract: ModelContract) -> Any:
    """The LinearScorer of `model` if it matches the model to TOLERANCE on the reference sample, else `model`."""
    try:
        scorer = LinearScorer(model)
        sample = reference_sample(contract, scorer.categories)
        if contract.task == Task.REGRESSION:
            expected, actual = model.predict(sample), scorer.predict(sample)
        else:
            expected, actual = model.predict_proba(sample), scorer.predict_proba(sample)
            if not np.array_equal(scorer.classes_, model.classes_):
                raise NotReplayableError("the classes differ")
    except (NotReplayableError, AttributeError, KeyError, ValueError, TypeError, IndexError) as exc:
        log.info("serving with the Pipeline: %s", exc)
        return model
    if expected.shape != actual.shape or not np.allclose(actual, expected, rtol=0, atol=TOLERANCE):
        log.warning("serving with the Pipeline: the linear fast path differs from it by more than %g", TOLERANCE)
        return model
    log.info("serving with the linear fast path (it matches the Pipeline to %g on %d rows)", TOLERANCE, len(sample))
    return scorer
