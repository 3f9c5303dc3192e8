"""What every config section shares: strict parsing, no unknown keys, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ..errors import PipelineError

# Seeds reach NumPy and scikit-learn, which take 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


class Section(BaseModel):
    """A mapping of params.yaml: its keys are exactly the fields, each of its type ("10" is not a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def rule(check: Callable[[Any], bool], message: str) -> AfterValidator:
    """A constraint whose error says `message` (e.g. "must be at least 1") after the key."""

    def validate(value: Any) -> Any:
        if not check(value):
            raise ValueError(message)
        return value

    return AfterValidator(validate)


def at_least(minimum: int) -> AfterValidator:
    """A constraint: the value is `minimum` or more."""
    return rule(lambda value: value >= minimum, f"must be at least {minimum}")


def closed_set(enum: type) -> Any:
    """A field that takes one of `enum`'s values as text (strict mode alone would want the enum object)."""
    return Annotated[enum, Field(strict=False)]


Seed = Annotated[int, rule(lambda seed: 0 <= seed <= MAX_SEED, f"must be an integer from 0 to {MAX_SEED} (2**32 - 1)")]


def library_problem(name: str) -> str | None:
    """Why `name` cannot be a trusted model library (`extra_model_libraries`), or None if it can."""
    if not name.isidentifier():
        return "is not a package name"
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return "is a standard-library module, not a model library"
    return None


def one_line(exc: ValidationError, where: str = "") -> PipelineError:
    """The first problem pydantic found, as `invalid params: <key> <what is wrong>`."""
    error = exc.errors()[0]
    key = ".".join(part for part in [where, *(str(part) for part in error["loc"])] if part) or "params"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        parent, _, name = key.rpartition(".")
        message = f"is not a key of {parent or 'params.yaml'}; check its spelling against conf/"
        return PipelineError(f"invalid params: {key} {message}" if name else f"invalid params: {message}")
    if error["type"] == "missing":
        return PipelineError(f"invalid params: {key} is missing; run `make params` to compose it from conf/")
    if message.startswith(f"{key}.") or key == "params":  # a rule across keys names the key itself
        return PipelineError(f"invalid params: {message}")
    if message.startswith(("must ", "is ")):
        return PipelineError(f"invalid params: {key} {message}")
    return PipelineError(f"invalid params: {key}: {message}")
