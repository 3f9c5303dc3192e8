"""The model contract: everything serving needs that is not in the model file.

`train` writes it next to the model, from the feature description that
prepare wrote and from the same `data.schema.columns` the training-time
pandera schema is built from; the bundle carries it, and the one loader of a
model version (`registry/store.py`) returns it with the model. Nothing a server
needs lives only in params.yaml.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import ColumnRule, DType, Params, Task
from ..errors import PipelineError
from .features import FeatureSpec
from .trust import model_libraries

CONTRACT_FORMAT = 1


class InputColumn(ColumnRule):
    """One input column of the model: its name and the row-level part of its rule (`data.schema.columns`)."""

    name: str

    def to_dict(self) -> dict[str, Any]:
        """The contract file's entry: the rules that apply to one value (not uniqueness nor missing shares)."""
        return {key: getattr(self, key) for key in ROW_RULE_KEYS}


# The keys of a contract column: what serving checks in each row.
ROW_RULE_KEYS = ("name", "dtype", "min", "max", "allowed", "nullable")


@dataclass(frozen=True)
class ModelContract:
    """What a served model promises and expects."""

    task: str
    target: str
    id_column: str | None
    columns: list[InputColumn]
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
        return {**asdict(self), "columns": [column.to_dict() for column in self.columns]}

    @classmethod
    def from_dict(cls, raw: Any, source: str = "contract") -> ModelContract:
        """Check a parsed contract file and return it typed; a bad file raises PipelineError."""
        if not isinstance(raw, dict) or raw.get("format") != CONTRACT_FORMAT:
            raise PipelineError(f"{source} is not a format-{CONTRACT_FORMAT} model contract: retrain the model")
        try:
            columns = [_input_column(rule, source) for rule in raw["columns"]]
            return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name != "columns"}, columns=columns)
        except (KeyError, TypeError) as exc:
            raise PipelineError(f"{source} is malformed ({exc}): retrain the model") from None


def _input_column(raw: Any, source: str) -> InputColumn:
    try:
        return InputColumn.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        name = raw.get("name") if isinstance(raw, dict) else None
        raise PipelineError(
            f"{source}: column {name!r} has a bad {where} ({error['msg']}): retrain the model"
        ) from None


def input_column(name: str, rule: ColumnRule | None, numeric: bool) -> InputColumn:
    """The contract's column `name`: its schema rule, or just its kind (missing values allowed) if it has none."""
    if rule is None:
        return InputColumn(name=name, dtype=DType.FLOAT if numeric else DType.STRING, nullable=True)
    return InputColumn(name=name, **rule.model_dump(include=set(ROW_RULE_KEYS)))


def build_contract(features: FeatureSpec, cfg: Params, trusted_types: list[str]) -> ModelContract:
    """The contract of a model trained on `features` with `cfg`, whose file holds `trusted_types`."""
    specs = cfg.data.schema.columns
    numeric = set(features.numeric)
    return ModelContract(
        task=features.task,
        target=features.target,
        id_column=features.id_column,
        columns=[input_column(name, specs.get(name), name in numeric) for name in features.columns],
        classes=features.classes,
        positive_class=features.positive_class,  # data.positive_class, or the last label in sorted order
        decision_threshold=cfg.evaluate.decision_threshold if features.task == Task.BINARY else None,
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
