"""Trust: which libraries a config may build from and a model file may hold types of.

A config names its estimator by a dotted path, and a skops file names the types
it is made of. Both are checked against the trusted libraries *before* anything
is imported from them or constructed: scikit-learn, NumPy and SciPy (what a
scikit-learn Pipeline is made of), plus `extra_model_libraries` from the config.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ..errors import PipelineError

# What every scikit-learn Pipeline is made of; a model file may hold their types.
BASE_LIBRARIES = ("sklearn", "numpy", "scipy")
# Where `_target_` may take an estimator from, unless extra_model_libraries adds one.
ESTIMATOR_LIBRARIES = ("sklearn",)


def model_libraries(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The libraries a model file may hold types from: the base ones plus `extra`."""
    return BASE_LIBRARIES + tuple(name for name in extra if name not in BASE_LIBRARIES)


def library_of(dotted: str) -> str:
    """The top-level package of a dotted path: `sklearn.linear_model.Ridge` -> `sklearn`."""
    return dotted.split(".", 1)[0]


def resolve_trusted_class(dotted: str, libraries: Iterable[str], what: str) -> type:
    """Import the class at `dotted` if it lives in one of `libraries`; raise PipelineError otherwise.

    The library is checked on the name before any import, so a path outside the
    trusted libraries never runs module code. After the import, the object must
    be a class defined in a trusted library too: a trusted module may re-export
    something else (`numpy.distutils.fcompiler.gnu.Popen` is `subprocess.Popen`).
    """
    allowed = tuple(libraries)
    shown = ", ".join(allowed)
    if library_of(dotted) not in allowed:
        raise PipelineError(f"{what} {dotted!r} is not from a trusted library ({shown}); see extra_model_libraries")
    module_name, _, name = dotted.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        raise PipelineError(f"{what} {dotted!r} cannot be imported; fix the path, or install its library") from None
    if not isinstance(found, type):
        raise PipelineError(f"{what} {dotted!r} is a {type(found).__name__}, not a class; functions are never trusted")
    origin = f"{found.__module__}.{found.__qualname__}"
    if library_of(found.__module__) not in allowed:
        raise PipelineError(f"{what} {dotted!r} is {origin}, which is not from a trusted library ({shown})")
    return found
