"""The feature spec: what the prepare stage learned about the table, handed to train, evaluate and serving."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FeatureSpec:
    """What the prepare stage learned about the table, for train and evaluate."""

    task: str
    target: str
    id_column: str | None
    numeric: list[str]
    categorical: list[str]
    # Binary: [negative, positive]; multiclass: sorted. None for regression.
    classes: list[Any] | None
    positive_class: Any = None
    # Columns of the data that the model does not use (datetime columns).
    dropped: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The model's input columns, in order."""
        return self.numeric + self.categorical

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)
