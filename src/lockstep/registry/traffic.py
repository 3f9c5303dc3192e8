"""Labelled traffic as a dataset: write the joined rows under data/source/, track them, keep their mix beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import paths
from ..config import load_params
from ..data.traffic import labelled_traffic
from ..errors import PipelineError
from ..io import write_json, write_parquet

MIX_SUFFIX = ".traffic.json"


def mix_file(data_file: Path) -> Path:
    """The mix of a traffic dataset, beside its file (Git-tracked; `data publish` puts it in the datasheet)."""
    return data_file.with_name(data_file.stem + MIX_SUFFIX)


def traffic_dataset(name: str, logs: str, start: float | None, end: float | None) -> tuple[Path, dict[str, Any]]:
    """Write the labelled traffic of `logs` to data/source/NAME.parquet with its mix, and `dvc add` it."""
    from dvc.repo import Repo

    data = load_params().data
    if not data.id_column:
        raise PipelineError("data.id_column is not set: the served rows cannot be joined with their outcomes")
    table, mix = labelled_traffic(logs, data.target, data.id_column, start, end)
    data_file = paths.SOURCE_DIR / f"{name}.parquet"
    write_parquet(table, data_file)
    write_json(mix, mix_file(data_file))
    with Repo(".") as repo:
        repo.scm_context.quiet = True  # the command says what to commit
        repo.add(data_file.as_posix())
    return data_file, mix
