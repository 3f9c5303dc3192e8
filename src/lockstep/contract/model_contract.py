"""The model contract: everything serving needs that is not in the model file.

`train` writes it next to the model, from the feature description that
prepare wrote and from the same `data.schema.columns` the training-time
pandera schema is built from; the bundle carries it, and the one loader of a
model version (`store.py`) returns it with the model. Nothing a server
needs lives only in params.yaml.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..config import DTYPES, ColumnSpec, Config
from ..data.validate import NUMERIC_DTYPES, FeatureSpec
from ..errors import PipelineError
from ..modeling.trust import model_libraries

CONTRACT_FORMAT = 1


@dataclass(frozen=True)
class ColumnRule:
    """What one input value must be: the row-level part of a `data.schema.columns` entry."""

    name: str
    dtype: str
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    nullable: bool = True

    @property
    def numeric(self) -> bool:
        """Whether the value is a number (int or float)."""
        return self.dtype in NUMERIC_DTYPES


@dataclass(frozen=True)
class ModelContract:
    """What a served model promises and expects."""

    task: str
    target: str
    id_column: str | None
    columns: list[ColumnRule]
    classes: list[Any] | None  # binary: [negative, positive]
    positive_class: Any
    decision_threshold: float | None
    # The exact types the model file holds beyond skops' defaults (also in trusted_types.json, which loads it).
    trusted_types: list[str]
    # The libraries those types may come from at load time: scikit-learn, NumPy, SciPy and extra_model_libraries.
    model_libraries: list[str]
    # Columns of the data the model does not use (datetime columns): accepted in input, and ignored.
    dropped: list[str]
    format: int = CONTRACT_FORMAT

    @property
    def feature_names(self) -> list[str]:
        """The model's input columns, in the order it was trained on."""
        return [rule.name for rule in self.columns]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "contract") -> ModelContract:
        """Check a parsed contract file and return it typed; a bad file raises PipelineError."""
        if not isinstance(raw, dict) or raw.get("format") != CONTRACT_FORMAT:
            raise PipelineError(f"{source} is not a format-{CONTRACT_FORMAT} model contract: retrain the model")
        try:
            columns = [ColumnRule(**rule) for rule in raw["columns"]]
            contract = cls(**{f.name: raw[f.name] for f in fields(cls) if f.name != "columns"}, columns=columns)
        except (KeyError, TypeError) as exc:
            raise PipelineError(f"{source} is malformed ({exc}): retrain the model") from None
        for rule in columns:
            if rule.dtype not in DTYPES:
                raise PipelineError(f"{source}: column {rule.name!r} has unknown dtype {rule.dtype!r}")
        return contract


def column_rule(name: str, spec: ColumnSpec | None, numeric: bool) -> ColumnRule:
    """The row rule for column `name`: its schema entry, or just its kind if the schema has none."""
    if spec is None:
        return ColumnRule(name, "float" if numeric else "string")
    return ColumnRule(name, spec.dtype, spec.min, spec.max, spec.allowed, spec.nullable)


def build_contract(features: FeatureSpec, cfg: Config, trusted_types: list[str]) -> ModelContract:
    """The contract of a model trained on `features` with `cfg`, whose file holds `trusted_types`."""
    specs = cfg.data.schema.columns
    numeric = set(features.numeric)
    return ModelContract(
        task=features.task,
        target=features.target,
        id_column=features.id_column,
        columns=[column_rule(name, specs.get(name), name in numeric) for name in features.columns],
        classes=features.classes,
        positive_class=features.positive_class,  # data.positive_class, or the last label in sorted order
        decision_threshold=cfg.evaluate.decision_threshold if features.task == "binary" else None,
        trusted_types=list(trusted_types),
        model_libraries=list(model_libraries(cfg.extra_model_libraries)),
        dropped=list(features.dropped),
    )


def write_contract(contract: ModelContract, path: Path) -> None:
    """Write the contract as deterministic JSON, atomically."""
    from ..io import write_json

    write_json(contract.to_dict(), path)


def read_contract(path: Path) -> ModelContract:
    """Read and check a contract file (plain JSON: nothing in it can run code)."""
    import json

    if not path.is_file():
        raise PipelineError(f"{path} not found: run the train stage first (`dvc repro train`)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path} is not valid JSON ({exc}): retrain the model") from None
    return ModelContract.from_dict(raw, str(path))
