"""The typed schema of `params.yaml`, and the loader every stage calls.

`conf/` is composed by Hydra (`dvc exp run` does it, `make params` does it by
hand) into `params.yaml`; stages read `params.yaml` through `load_params`, which
checks it against the dataclasses below and fails with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import paths
from .errors import PipelineError
from .modeling.trust import library_problem

TASKS = ("auto", "binary", "multiclass", "regression")
DTYPES = ("int", "float", "category", "string", "bool")
SOURCES = ("synthetic", "file")
# The metric "auto" stands for, per task.
DEFAULT_METRICS = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}
# Seeds reach NumPy and scikit-learn, which take 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1
# The synthetic generator holds its table in memory: about 165 bytes a row, twice over while it is assembled.
MAX_SYNTHETIC_ROWS = 20_000_000
# A test set larger than the training set is almost always a mistake.
MAX_TEST_SIZE = 0.5


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise PipelineError(f"invalid params: {key} {message}")


@dataclass
class IngestConfig:
    """Where the raw table comes from."""

    source: str = "synthetic"
    path: str | None = None
    n_rows: int | None = None
    seed: int = 0

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(self.source in SOURCES, "data.ingest.source", f"must be one of {SOURCES}")
        if self.source == "file":
            _require(bool(self.path), "data.ingest.path", "is required when source is 'file'")
        if self.source == "synthetic":
            _require((self.n_rows or 0) > 0, "data.ingest.n_rows", "must be a positive integer")
        _require(
            (self.n_rows or 0) <= MAX_SYNTHETIC_ROWS,
            "data.ingest.n_rows",
            f"must be at most {MAX_SYNTHETIC_ROWS:,} (the table is built in memory, about 165 bytes a row)",
        )
        _check_seed(self.seed, "data.ingest.seed")


@dataclass
class ColumnSpec:
    """What one column of the raw table must look like."""

    dtype: str = "float"
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    nullable: bool = False
    unique: bool = False
    max_missing_fraction: float | None = None

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(self.dtype in DTYPES, "data.schema.columns.*.dtype", f"must be one of {DTYPES}")


@dataclass
class SchemaConfig:
    """Table-level checks, plus optional per-column specs."""

    min_rows: int = 100
    min_class_rows: int = 10
    max_missing_fraction: float = 0.3
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    # True: a column the data has and `columns` does not list is an error (once any is listed).
    # False: listed columns are checked, the others inferred.
    strict: bool = True

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(0 <= self.max_missing_fraction <= 1, "data.schema.max_missing_fraction", "must be in [0, 1]")
        _require(self.min_rows >= 2, "data.schema.min_rows", "must be at least 2")


@dataclass
class DataConfig:
    """The dataset: its source, target, task and schema."""

    name: str | None = None
    ingest: IngestConfig = field(default_factory=IngestConfig)
    target: str = "target"
    id_column: str | None = None
    task: str = "auto"
    positive_class: Any = None
    schema: SchemaConfig = field(default_factory=SchemaConfig)

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(self.task in TASKS, "data.task", f"must be one of {TASKS}")
        _require(
            self.positive_class is None or isinstance(self.positive_class, str | int | bool),
            "data.positive_class",
            "must be one label of the target (text, integer or bool), or null",
        )

    @property
    def dataset_name(self) -> str:
        """`name`, or else the data file's name without its suffix (the source's name for synthetic data)."""
        if self.name:
            return self.name
        return Path(self.ingest.path).stem if self.ingest.path else self.ingest.source


@dataclass
class SplitConfig:
    """The train/test split."""

    test_size: float = 0.2
    stratify: bool = True
    min_rows: int = 20
    min_class_rows: int = 5

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(
            0 < self.test_size <= MAX_TEST_SIZE,
            "split.test_size",
            f"must be above 0 and at most {MAX_TEST_SIZE} (the test set should not outgrow the training set)",
        )
        _require(self.min_rows >= 1, "split.min_rows", "must be at least 1")
        _require(self.min_class_rows >= 1, "split.min_class_rows", "must be at least 1")


@dataclass
class FeaturesConfig:
    """How the ColumnTransformer prepares columns."""

    numeric_imputer: str = "median"
    scale_numeric: bool = True
    categorical_imputer: str = "most_frequent"
    min_category_frequency: float = 0.01

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(
            self.numeric_imputer in ("mean", "median", "most_frequent"),
            "features.numeric_imputer",
            "must be mean, median or most_frequent",
        )
        _require(
            self.categorical_imputer in ("most_frequent", "constant"),
            "features.categorical_imputer",
            "must be most_frequent or constant",
        )
        _require(0 <= self.min_category_frequency < 1, "features.min_category_frequency", "must be in [0, 1)")


@dataclass
class EvaluateConfig:
    """What the evaluate stage computes and how much of it it keeps."""

    importance_metric: str = "auto"
    decision_threshold: float = 0.5
    curve_points: int = 101
    calibration_bins: int = 10
    scatter_points: int = 1000
    histogram_bins: int = 30
    slice_min_rows: int = 30
    importance_repeats: int = 5
    importance_max_rows: int = 5000

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(0 < self.decision_threshold < 1, "evaluate.decision_threshold", "must be between 0 and 1")
        _require(self.curve_points >= 2, "evaluate.curve_points", "must be at least 2")
        _require(self.calibration_bins >= 2, "evaluate.calibration_bins", "must be at least 2")
        _require(self.scatter_points >= 1, "evaluate.scatter_points", "must be at least 1")
        _require(self.histogram_bins >= 1, "evaluate.histogram_bins", "must be at least 1")
        _require(self.importance_repeats >= 1, "evaluate.importance_repeats", "must be at least 1")
        _require(self.importance_max_rows >= 1, "evaluate.importance_max_rows", "must be at least 1")
        _require(self.slice_min_rows >= 1, "evaluate.slice_min_rows", "must be at least 1")


@dataclass
class GateConfig:
    """The metric a model is judged on, and the thresholds it must meet to be merged and promoted."""

    metric: str = "auto"
    threshold: float = 0.7
    max_regression: float = 0.01
    confidence: float = 0.95
    bootstrap_resamples: int = 1000

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        _require(self.max_regression >= 0, "gate.max_regression", "must not be negative")
        _require(0 < self.confidence < 1, "gate.confidence", "must be between 0 and 1")
        _require(self.bootstrap_resamples >= 100, "gate.bootstrap_resamples", "must be at least 100")


# The GTO stage whose version a rollout's candidate is, per mode; `prod` is always the primary.
CANDIDATE_STAGES = {"shadow": "shadow", "canary": "canary", "ab": "canary"}
Percent = Annotated[float, Field(ge=0, le=100)]


class RolloutConfig(BaseModel):
    """How `serve` routes between `prod` and a candidate (`conf/rollout/`; also `POST /admin/rollout`'s body)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # strict: "10" is not a number

    mode: Literal["none", "shadow", "canary", "ab"] = "none"
    # The candidate's GTO stage, which names its arm: shadow for shadow mode, canary for canary and ab.
    candidate_stage: Literal["shadow", "canary"] | None = None
    # What to load as the candidate if not the version in candidate_stage: a version (v1.2.0) or a bundle folder.
    candidate: str | None = None
    percent: Percent = 10  # canary: the share of traffic the candidate answers
    steps: list[Annotated[float, Field(gt=0, le=100)]] = Field(default_factory=lambda: [10, 25, 50, 100])
    split: Percent = 50  # ab: the candidate's share
    sticky_key: str | None = None  # a contract column; null: each request is assigned by its request id
    salt: str = Field("rollout", min_length=1)
    shadow_queue: int = Field(1000, ge=1, le=1_000_000)  # requests waiting for the shadow; more are dropped
    shadow_budget_ms: float = Field(5.0, gt=0)  # what a shadow may add to a response's latency
    min_outcomes: int = Field(200, ge=1)  # per arm, before the rollout report decides
    max_error_rate: float = Field(0.01, ge=0, le=1)  # the candidate's share of failed requests that rolls it back
    max_p99_ms: float | None = Field(None, gt=0)  # the candidate's p99 latency that rolls it back (null: no limit)

    @model_validator(mode="before")
    @classmethod
    def _default_stage(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("candidate_stage") is None:
            return {**raw, "candidate_stage": CANDIDATE_STAGES.get(raw.get("mode", "none"))}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> RolloutConfig:
        if self.steps != sorted(set(self.steps)):
            raise ValueError("steps must rise strictly, e.g. [10, 25, 50, 100]")
        expected = CANDIDATE_STAGES.get(self.mode)
        if self.candidate_stage != expected:
            raise ValueError(f"candidate_stage must be {expected or 'null'} when mode is {self.mode}")
        return self

    @property
    def candidate_share(self) -> float:
        """The percentage of requests the candidate answers (0 for shadow and none: it never answers)."""
        return {"canary": self.percent, "ab": self.split}.get(self.mode, 0.0)


def parse_rollout(raw: Any, where: str = "rollout") -> RolloutConfig:
    """Check a rollout mapping (params.yaml's `rollout:`, or an admin request's body); one-line errors."""
    try:
        return RolloutConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join([where, *(str(part) for part in error["loc"])])
        message = error["msg"].removeprefix("Value error, ")
        raise PipelineError(f"invalid params: {key}: {message}") from None


@dataclass
class Config:
    """The whole of `params.yaml`."""

    seed: int = 42
    extra_model_libraries: list[str] = field(default_factory=list)
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: dict[str, Any] = field(default_factory=dict)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    # A RolloutConfig, checked by pydantic in parse_params (OmegaConf holds only plain values, so it sees Any).
    rollout: Any = None

    def check(self) -> None:
        """Raise PipelineError if a value is out of its allowed range."""
        for part in (
            self.data.ingest,
            self.data.schema,
            self.data,
            self.split,
            self.features,
            self.evaluate,
            self.gate,
        ):
            part.check()
        for column in self.data.schema.columns.values():
            column.check()
        _check_seed(self.seed, "seed")
        for library in self.extra_model_libraries:
            problem = library_problem(library)
            _require(problem is None, "extra_model_libraries", f"entry {library!r} {problem}")
        target = self.model.get("_target_")
        _require(isinstance(target, str) and "." in target, "model._target_", "must name an estimator class")


def _check_seed(seed: int, key: str) -> None:
    _require(0 <= seed <= MAX_SEED, key, f"must be an integer from 0 to {MAX_SEED} (2**32 - 1)")


def resolve_metric(name: str, task: str) -> str:
    """The metric `name` stands for in `task`: "auto" is the task's default."""
    return DEFAULT_METRICS[task] if name == "auto" else name


def parse_params(raw: Any) -> Config:
    """Check a parsed `params.yaml` against the schema and return it typed."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(raw, dict):
        raise PipelineError("invalid params: params.yaml must hold a mapping; run `make params`")
    raw = dict(raw)
    rollout = parse_rollout(raw.pop("rollout", None) or {})
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), raw)
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "params"
        message = str(getattr(exc, "msg", exc)).splitlines()[0]
        raise PipelineError(f"invalid params: {key}: {message}") from None
    assert isinstance(config, Config)
    config.rollout = rollout
    config.check()
    return config


def parse_gate(raw: Any) -> GateConfig:
    """Check a `gate:` mapping on its own (the base branch's, in a review)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        gate = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(GateConfig), raw))
    except OmegaConfBaseException as exc:
        message = str(getattr(exc, "msg", exc)).splitlines()[0]
        raise PipelineError(f"invalid params: gate: {message}") from None
    assert isinstance(gate, GateConfig)
    gate.check()
    return gate


def load_params(path: Path = paths.PARAMS_FILE) -> Config:
    """Load and check `params.yaml`."""
    import yaml

    if not path.is_file():
        raise PipelineError(f"{path} not found: run `make params` to compose it from conf/")
    try:
        with path.open(encoding="utf-8") as handle:  # from a file, an error names it
            raw = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {describe_yaml_error(exc)}") from None
    return parse_params(raw)


def load_rollout(path: Path = paths.PARAMS_FILE, section: str | None = "rollout") -> RolloutConfig:
    """The rollout in `path`: its `section` (params.yaml's `rollout:`), or the whole file if `section` is None.

    Reads only this part, with PyYAML alone, so the server needs neither Hydra
    nor the rest of the params to be valid.
    """
    import yaml

    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except FileNotFoundError:
        raise PipelineError(f"{path} not found: give a rollout file, or run `make params`") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {describe_yaml_error(exc)}") from None
    if section is not None:
        raw = raw.get(section) if isinstance(raw, dict) else None
    return parse_rollout(raw or {}, section or path.name)


def describe_yaml_error(exc: Exception) -> str:
    """A YAML error in one line, naming the file and the line where the parser stopped."""
    mark = getattr(exc, "problem_mark", None)
    what = ": ".join(str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
    what = what or str(exc).splitlines()[0]
    if mark is None:
        return what
    name = Path(mark.name)
    if name.is_absolute() and name.is_relative_to(Path.cwd()):
        name = name.relative_to(Path.cwd())
    return f"{name}, line {mark.line + 1}: {what}"


def compose_params(overrides: list[str] | None = None, output: Path = paths.PARAMS_FILE) -> Config:
    """Compose `conf/` into `output` exactly as `dvc exp run` does, and check it."""
    import yaml
    from dvc.utils.hydra import compose_and_dump
    from hydra.errors import HydraException

    from .io import atomic_path

    with atomic_path(output) as tmp:
        try:
            compose_and_dump(
                tmp,
                config_dir=str(paths.CONF_DIR.resolve()),
                config_module=None,
                config_name="config",
                plugins_path=str(paths.PROJ_ROOT.resolve()),
                overrides=overrides or [],
            )
        except HydraException as exc:
            raise PipelineError(f"cannot compose conf/: {str(exc).splitlines()[0]}") from None
        except yaml.YAMLError as exc:
            raise PipelineError(f"cannot compose conf/: {describe_yaml_error(exc)}; fix the YAML") from None
        config = load_params(tmp)
    return config
