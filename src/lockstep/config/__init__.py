"""The one schema of `params.yaml` (a module per config group) and its one loader.

Import from here, the package's `config`: `Params`, `load_params`, `parse_rollout`, the enums.
"""

from .base import MAX_SEED, library_problem
from .compute import ClusterConfig, ComputeConfig
from .data import ColumnRule, DataConfig, IngestConfig, SchemaConfig
from .enums import (
    CANDIDATE_STAGES,
    DEFAULT_METRICS,
    NUMERIC_DTYPES,
    TEXT_DTYPES,
    DType,
    Engine,
    RolloutMode,
    Source,
    SplitStrategy,
    Stage,
    Task,
    TaskSetting,
    resolve_metric,
)
from .evaluate import EvaluateConfig
from .features import FeaturesConfig
from .gate import GateConfig
from .loader import (
    Params,
    compose_params,
    describe_yaml_error,
    load_cluster,
    load_params,
    load_rollout,
    parse_gate,
    parse_params,
)
from .monitor import MonitorConfig
from .retrain import RetrainConfig
from .rollout import RolloutConfig, parse_rollout
from .split import SplitConfig

__all__ = [
    "CANDIDATE_STAGES",
    "DEFAULT_METRICS",
    "MAX_SEED",
    "NUMERIC_DTYPES",
    "TEXT_DTYPES",
    "ClusterConfig",
    "ColumnRule",
    "ComputeConfig",
    "DType",
    "DataConfig",
    "Engine",
    "EvaluateConfig",
    "FeaturesConfig",
    "GateConfig",
    "IngestConfig",
    "MonitorConfig",
    "Params",
    "RetrainConfig",
    "RolloutConfig",
    "RolloutMode",
    "SchemaConfig",
    "Source",
    "SplitConfig",
    "SplitStrategy",
    "Stage",
    "Task",
    "TaskSetting",
    "compose_params",
    "describe_yaml_error",
    "library_problem",
    "load_cluster",
    "load_params",
    "load_rollout",
    "parse_gate",
    "parse_params",
    "parse_rollout",
    "resolve_metric",
]
