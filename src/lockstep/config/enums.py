"""The closed sets of the domain: tasks, column dtypes, rollout modes and registry stages.

Each is a `StrEnum`, so a value compares equal to its text ("binary" == Task.BINARY)
and reads back from YAML and JSON as plain text.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    """What a model learns: the target decides it (`data.task: auto` infers it)."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


# `data.task`: a task, or `auto` to infer it from the target.
TaskSetting = StrEnum("TaskSetting", {"AUTO": "auto", **{task.name: task.value for task in Task}})


class DType(StrEnum):
    """A column's type in `data.schema.columns` and in the model contract."""

    INT = "int"
    FLOAT = "float"
    CATEGORY = "category"
    STRING = "string"
    BOOL = "bool"


NUMERIC_DTYPES = frozenset({DType.INT, DType.FLOAT})
TEXT_DTYPES = frozenset({DType.CATEGORY, DType.STRING})


class SplitStrategy(StrEnum):
    """How `prepare` picks the test rows: at random (seeded), the latest by a time column, or by a hash of the id."""

    RANDOM = "random"
    TIME = "time"
    HASH = "hash"


class Engine(StrEnum):
    """What runs the pipeline's stages: this process (`local`) or a Dask cluster (`dask`)."""

    LOCAL = "local"
    DASK = "dask"


class Source(StrEnum):
    """Where `ingest` takes the raw table from."""

    SYNTHETIC = "synthetic"
    FILE = "file"


class RolloutMode(StrEnum):
    """How `serve` routes between `prod` and a candidate."""

    NONE = "none"
    SHADOW = "shadow"
    CANARY = "canary"
    AB = "ab"


class Stage(StrEnum):
    """The GTO stages a model version moves through (`.gto` lists them); a dataset's are DEV and PROD."""

    DEV = "dev"
    STAGING = "staging"
    SHADOW = "shadow"
    CANARY = "canary"
    PROD = "prod"


# The stage whose version a rollout's candidate is, per mode; `prod` is always the primary.
CANDIDATE_STAGES = {RolloutMode.SHADOW: Stage.SHADOW, RolloutMode.CANARY: Stage.CANARY, RolloutMode.AB: Stage.CANARY}
# The metric `auto` stands for, per task.
DEFAULT_METRICS = {Task.BINARY: "roc_auc", Task.MULTICLASS: "f1_macro", Task.REGRESSION: "r2"}


def resolve_metric(name: str, task: str) -> str:
    """The metric `name` stands for in `task`: "auto" is the task's default."""
    return DEFAULT_METRICS[Task(task)] if name == "auto" else name
