"""The whole of `params.yaml`, and the one loader of it.

`conf/` is composed by Hydra (`dvc exp run` does it, `make params` does it by
hand) into `params.yaml`; every stage, the review, the rollout and the server
read it through `load_params`, which checks all of it against `Params` and
fails with a one-line message. The YAML in `conf/` holds the values; the schema
holds the types and the constraints (rollout aside: see config/rollout.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from .. import paths
from ..errors import PipelineError
from .base import Section, Seed, library_problem, one_line
from .compute import ClusterConfig, ComputeConfig, parse_cluster
from .data import DataConfig
from .enums import Engine
from .evaluate import EvaluateConfig
from .features import FeaturesConfig
from .gate import GateConfig
from .model import ModelConfig
from .monitor import MonitorConfig
from .retrain import RetrainConfig
from .rollout import RolloutConfig, parse_rollout
from .split import SplitConfig

# The local engine holds the whole table in one process.
MAX_LOCAL_ROWS = 20_000_000


class Params(Section):
    """Every key of `params.yaml`; an unknown key or a bad value is an error, even one no stage reads."""

    seed: Seed
    extra_model_libraries: list[str]
    data: DataConfig
    split: SplitConfig
    features: FeaturesConfig
    model: ModelConfig
    evaluate: EvaluateConfig
    gate: GateConfig
    rollout: RolloutConfig
    monitor: MonitorConfig
    retrain: RetrainConfig
    compute: ComputeConfig

    @model_validator(mode="after")
    def _fits_in_memory(self) -> Params:
        if self.compute.engine == Engine.LOCAL and (self.data.ingest.n_rows or 0) > MAX_LOCAL_ROWS:
            raise ValueError(
                f"data.ingest.n_rows must be at most {MAX_LOCAL_ROWS:,} (the table is built in memory, about 165 "
                "bytes a row); compute=dask builds it partition by partition, with no such limit"
            )
        return self

    @field_validator("extra_model_libraries")
    @classmethod
    def _trustable(cls, libraries: list[str]) -> list[str]:
        for library in libraries:
            problem = library_problem(library)
            if problem:
                raise ValueError(f"must list package names: entry {library!r} {problem}")
        return libraries


def parse_params(raw: Any) -> Params:
    """Check a parsed `params.yaml` against the schema and return it typed."""
    if not isinstance(raw, dict):
        raise PipelineError("invalid params: params.yaml must hold a mapping; run `make params`")
    if raw.get("rollout") is None:
        raw = {**raw, "rollout": {}}
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise one_line(exc) from None


def parse_gate(raw: Any) -> GateConfig:
    """Check a `gate:` mapping on its own (the base branch's, in a review)."""
    try:
        return GateConfig.model_validate(raw)
    except ValidationError as exc:
        raise one_line(exc, "gate") from None


def read_yaml(path: Path, missing: str) -> Any:
    """The parsed YAML file at `path`; `missing` says what to do when there is none."""
    import yaml

    try:
        with path.open(encoding="utf-8") as handle:  # from a file, an error names it
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise PipelineError(f"{path} not found: {missing}") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {describe_yaml_error(exc)}") from None


def load_params(path: Path = paths.PARAMS_FILE) -> Params:
    """Load and check the whole of `params.yaml`."""
    return parse_params(read_yaml(path, "run `make params` to compose it from conf/"))


def load_rollout(path: Path = paths.PARAMS_FILE, section: str | None = "rollout") -> RolloutConfig:
    """The rollout in `path`: its `section` (params.yaml's `rollout:`), or the whole file if `section` is None.

    For params.yaml, the whole file is checked, as everywhere else: a server does
    not start on params that no stage would accept.
    """
    if section is not None and path.name == paths.PARAMS_FILE.name:
        return load_params(path).rollout
    raw = read_yaml(path, "give a rollout file, or run `make params`")
    if section is not None:
        raw = raw.get(section) if isinstance(raw, dict) else None
    return parse_rollout(raw, section or path.name)


def load_cluster(path: Path = paths.CLUSTER_FILE) -> ClusterConfig:
    """Load and check conf/cluster.yaml, the Dask cluster's settings (not in params.yaml: they change no output)."""
    return parse_cluster(read_yaml(path, "restore it from the template (`git checkout conf/cluster.yaml`)"), path.name)


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


def compose_params(overrides: list[str] | None = None, output: Path = paths.PARAMS_FILE) -> Params:
    """Compose `conf/` into `output` exactly as `dvc exp run` does, and check it."""
    import yaml
    from dvc.utils.hydra import compose_and_dump
    from hydra.errors import HydraException

    from ..io import atomic_path

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
