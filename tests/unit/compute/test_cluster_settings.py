"""conf/cluster.yaml: checked by its own schema, with one-line errors; the stages on Dask by their own modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.cli.stages import STAGES
from lockstep.config import load_cluster
from lockstep.errors import PipelineError

from tests.conftest import REPO_ROOT


def test_the_shipped_cluster_is_a_local_one() -> None:
    cluster = load_cluster(REPO_ROOT / "conf" / "cluster.yaml")
    assert cluster.scheduler is None
    assert cluster.n_workers >= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n_workers: 0", r"invalid params: cluster.yaml.n_workers must be at least 1"),
        ("memory_limit: lots", r"cluster.yaml.memory_limit must be an amount of memory such as 4GiB"),
        ("n_worker: 2", r"cluster.yaml.n_worker is not a key of cluster.yaml"),
    ],
)
def test_a_bad_setting_names_its_key(tmp_path: Path, text: str, message: str) -> None:
    settings = (REPO_ROOT / "conf" / "cluster.yaml").read_text(encoding="utf-8")
    key = text.split(":")[0]
    kept = [line for line in settings.splitlines() if not line.startswith(f"{key}:")]
    path = tmp_path / "cluster.yaml"
    path.write_text("\n".join([*kept, text]) + "\n", encoding="utf-8")
    with pytest.raises(PipelineError, match=message):
        load_cluster(path)


def test_a_missing_file_says_how_to_get_it_back(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"cluster.yaml not found: restore it from the template"):
        load_cluster(tmp_path / "cluster.yaml")


def test_each_stage_has_a_module_on_dask() -> None:
    assert {name: stage.dask_module for name, stage in STAGES.items()} == {
        "ingest": "compute.ingest",
        "prepare": "compute.prepare",
        "train": "compute.train",
        "evaluate": "compute.evaluate",
    }
