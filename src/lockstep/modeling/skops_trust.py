"""What skops trusts by default, decided for each file's own types instead of listed when skops is imported.

skops trusts some types without being told: builtins, NumPy dtypes and bit
generators, every NumPy and SciPy ufunc, and every scikit-learn estimator. It
lists them all when `skops.io` is first imported, by importing every module of
scikit-learn (pytest too) and searching every loaded module for each ufunc: most
of the time a server takes to load its model.

`import_skops` imports skops with a stand-in for the module that holds those
lists (`skops.io._trusted_types`): the cheap lists built as skops builds them, the
ufunc and estimator lists empty. Before skops judges a file, `add_default_trust`
adds to them the file's types that skops' own lists hold, so skops judges that
file exactly as with its full lists. The lists only ever gain types that skops
itself trusts, so skops never trusts more than it would on its own. The ufuncs
stay out: a ufunc is a function, and `persistence` refuses every function before
skops sees the file. tests/unit/modeling/test_skops_trust.py compares the stand-in
with skops' own lists.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
import warnings
from collections.abc import Iterable
from typing import Any

STAND_IN = "skops.io._trusted_types"
# The scikit-learn types that skops trusts although they are not estimators (gradient boosting's losses,
# links and bins), by module; as skops' _trusted_types lists them.
SKLEARN_INTERNAL = {
    "sklearn._loss.link": ("HalfLogitLink", "IdentityLink", "Interval", "LogitLink", "LogLink", "MultinomialLogit"),
    "sklearn._loss.loss": (
        "AbsoluteError",
        "ExponentialLoss",
        "HalfBinomialLoss",
        "HalfGammaLoss",
        "HalfMultinomialLoss",
        "HalfPoissonLoss",
        "HalfSquaredError",
        "HuberLoss",
        "PinballLoss",
    ),
    "sklearn.ensemble._hist_gradient_boosting.binning": ("_BinMapper",),
}


def import_skops() -> Any:
    """`skops.io`, with the stand-in for its lists of trusted types unless skops was imported before."""
    if "skops.io" not in sys.modules:
        sys.modules.setdefault(STAND_IN, stand_in())
    try:
        import skops.io
    except ImportError:  # a skops that needs more than the stand-in gives: its own lists then (slower)
        sys.modules.pop(STAND_IN, None)
        import skops.io
    return skops.io


def add_default_trust(flagged: Iterable[str]) -> bool:
    """Add to the stand-in's lists those of `flagged` (types skops found untrusted) that skops' own lists hold.

    Returns whether any was added: then skops must judge the file again.
    Without the stand-in (skops imported before), skops' lists are full and nothing is added.
    """
    lists = sys.modules.get(STAND_IN)
    if not getattr(lists, "IS_STAND_IN", False):
        return False
    added = False
    for name in flagged:
        if name in lists.SKLEARN_ESTIMATOR_TYPE_NAMES or name in lists.SKLEARN_INTERNAL_TYPE_NAMES:
            continue
        if _is_sklearn_internal(name):
            lists.SKLEARN_INTERNAL_TYPE_NAMES.append(name)
            added = True
        elif _is_listed_estimator(name):
            lists.SKLEARN_ESTIMATOR_TYPE_NAMES.append(name)
            added = True
    return added


def stand_in() -> types.ModuleType:
    """A module with the names skops imports from `skops.io._trusted_types`; the ufunc and estimator lists empty."""
    import numpy as np

    module = types.ModuleType(STAND_IN, f"skops' lists of trusted types, filled per file by {__name__}")
    module.IS_STAND_IN = True
    module.PRIMITIVE_TYPE_NAMES = [f"builtins.{kind.__name__}" for kind in (int, float, str, bool)]
    module.CONTAINER_TYPE_NAMES = [f"builtins.{kind.__name__}" for kind in (list, set, map, tuple)]
    module.NUMPY_DTYPE_TYPE_NAMES = sorted(
        {name for kind in np.sctypeDict.values() if (name := _type_name(kind)).startswith("numpy")}
    )
    module.NUMPY_RANDOM_BIT_GENERATOR_TYPE_NAMES = sorted(
        f"numpy.random.{attr}"
        for attr in dir(np.random)
        if isinstance(found := getattr(np.random, attr), type)
        and issubclass(found, np.random.BitGenerator)
        and found is not np.random.BitGenerator
    )
    module.NUMPY_UFUNC_TYPE_NAMES = []
    module.SCIPY_UFUNC_TYPE_NAMES = []
    module.SKLEARN_ESTIMATOR_TYPE_NAMES = []
    module.SKLEARN_INTERNAL_TYPE_NAMES = []
    return module


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__name__}"


def _is_sklearn_internal(name: str) -> bool:
    module_name, _, class_name = name.rpartition(".")
    if class_name not in SKLEARN_INTERNAL.get(module_name, ()):
        return False
    found = getattr(importlib.import_module(module_name), class_name, None)
    return isinstance(found, type) and _type_name(found) == name


def _is_listed_estimator(name: str) -> bool:
    """Whether scikit-learn's `all_estimators` lists the class `name` (skops trusts exactly those).

    all_estimators imports every public module of scikit-learn and keeps the
    concrete BaseEstimator subclasses they hold under public names. A public
    package above the class's module that holds it (`sklearn.linear_model` holds
    `LogisticRegression`) answers yes without that, and a class already imported
    that is no concrete estimator answers no. Otherwise the full listing answers.
    Only modules that all_estimators imports are imported here.
    """
    module_name, _, class_name = name.rpartition(".")
    parts = module_name.split(".")
    if parts[0] != "sklearn" or class_name.startswith("_") or class_name == "BaseEstimator":
        return False
    from sklearn.base import BaseEstimator
    from sklearn.utils.discovery import _MODULE_TO_IGNORE  # the packages all_estimators does not look in

    def estimator(found: Any) -> bool:
        return issubclass(found, BaseEstimator) and not getattr(found, "__abstractmethods__", None)

    for depth in range(2, len(parts) + 1):
        if parts[depth - 1].startswith("_") or parts[depth - 1] in _MODULE_TO_IGNORE:
            break  # all_estimators skips a private module or an ignored package, and everything below it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # as all_estimators does
            try:
                found = getattr(importlib.import_module(".".join(parts[:depth])), class_name, None)
            except ImportError:
                break
        if isinstance(found, type) and _type_name(found) == name and estimator(found):
            return True
    found = getattr(sys.modules.get(module_name), class_name, None)
    if isinstance(found, type) and _type_name(found) == name and not estimator(found):
        return False  # e.g. gradient boosting's TreePredictor, imported with sklearn.ensemble just above
    return name in _all_listed_estimators()


@functools.cache
def _all_listed_estimators() -> frozenset[str]:
    """The estimator list of skops itself: what all_estimators lists, by type name, from scikit-learn only."""
    from sklearn.utils import all_estimators

    return frozenset(name for _, kind in all_estimators() if (name := _type_name(kind)).startswith("sklearn."))
