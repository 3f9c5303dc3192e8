"""compute=dask through real `dvc repro`: one dvc.lock for any number of workers and partitions.

The pipeline runs on a real LocalCluster (worker processes standing in for
nodes), in a fresh Git copy of the project, at a small size.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import PACKAGE, Project, copy_project

ROWS = 12_000
# (workers, partitions of the one 12,000-row block): every worker count at 4 partitions, every partition count at 2.
MATRIX = [(1, 4), (2, 4), (4, 4), (2, 1), (2, 16), (2, 64)]
# What the two engines write differently: the model card hashes the data files, one file or a folder of blocks.
LAYOUT_ONLY = {"models/model_card.json"}
SAME_BYTES = [
    "data/prepared/features.json",
    "metrics/data.json",
    "models/model.skops",
    "models/contract.json",
    "models/reference.json",
    "metrics/metrics.json",
    "metrics/slices.json",
    "metrics/predictions.parquet",
]


def partition_rows(rows: int, partitions: int) -> int:
    return -(-rows // partitions)


def reproduce(
    project: Project, *overrides: str, workers: int = 2, partition_rows: int = 1_000_000, check: bool = True
) -> str:
    """Compose the params with `overrides`, set the cluster, run every stage again (no run-cache): the log."""
    project.run(PACKAGE, "params", *overrides)
    cluster = project.root / "conf" / "cluster.yaml"
    settings = yaml.safe_load(cluster.read_text(encoding="utf-8"))
    settings.update(n_workers=workers, partition_rows=partition_rows)
    cluster.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = project.run("dvc", "repro", "--force", "--no-run-cache", check=check)
    assert check or result.returncode != 0, "dvc repro passed"
    return result.stdout


@pytest.fixture(scope="module")
def dask_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return copy_project(tmp_path_factory.mktemp("dask"))


@pytest.fixture(scope="module")
def locks(dask_project: Project) -> dict[tuple[int, int], str]:
    """dvc.lock after reproducing with each (workers, partitions) of MATRIX."""
    found = {}
    for workers, partitions in MATRIX:
        log = reproduce(
            dask_project,
            "compute=dask",
            f"data.ingest.n_rows={ROWS}",
            workers=workers,
            partition_rows=partition_rows(ROWS, partitions),
        )
        assert f"Dask: {workers} workers, dashboard at http://" in log
        assert f"check: {partitions}/{partitions} partitions" in log
        found[workers, partitions] = dask_project.read("dvc.lock")
    return found


def test_dvc_lock_is_the_same_for_every_worker_and_partition_count(locks: dict[tuple[int, int], str]) -> None:
    first = locks[MATRIX[0]]
    assert "compute.engine: dask" in first
    differing = [setting for setting, lock in locks.items() if lock != first]
    assert not differing, f"dvc.lock differs from {MATRIX[0]} (workers, partitions) for {differing}"


def test_the_tables_are_partitioned_parquet_that_dask_and_pandas_read(dask_project: Project, locks: dict) -> None:
    import dask.dataframe as dd

    raw = dask_project.root / "data" / "raw" / "dataset.parquet"
    assert sorted(path.name for path in raw.iterdir()) == ["part-00000.parquet"]
    train = dask_project.root / "data" / "prepared" / "train.parquet"
    read = dd.read_parquet(str(train)).compute()
    pd.testing.assert_frame_equal(read.reset_index(drop=True), pd.read_parquet(train), check_dtype=False)
    data = json.loads(dask_project.read("metrics/data.json"))
    assert data["rows"] == ROWS
    assert data["train_rows"] + data["test_rows"] == ROWS
    assert 0.18 < data["test_rows"] / ROWS < 0.22  # the hash split's share: split.test_size


def test_blocks_make_no_difference_to_partitions_either(tmp_path: Path) -> None:
    """Three file blocks: one partition per block, or sixteen in each, give the same dvc.lock."""
    project = copy_project(tmp_path)
    settings = ("compute=dask", f"data.ingest.n_rows={ROWS}", "compute.block_rows=4000")
    reproduce(project, *settings, partition_rows=4000)
    coarse = project.read("dvc.lock")
    assert len(list((project.root / "data" / "prepared" / "test.parquet").iterdir())) == 3
    log = reproduce(project, *settings, workers=3, partition_rows=250)
    assert "check: 48/48 partitions" in log
    assert project.read("dvc.lock") == coarse


@pytest.mark.parametrize(
    "settings",
    [
        ("data=synthetic",),
        ("data=file",),
        ("data=synthetic", "data.task=regression", "data.positive_class=null", "model=ridge"),
    ],
    ids=["binary", "file-multiclass", "regression"],
)
def test_at_the_default_size_the_dask_path_writes_what_the_local_path_does(make_project, settings: tuple) -> None:
    """With the hash split on both, every output is the same but the card (it hashes one file, or blocks)."""
    local, dask = make_project("local"), make_project("dask")
    reproduce(local, *settings, "split.strategy=hash")
    reproduce(dask, *settings, "compute=dask")
    differing = [name for name in SAME_BYTES if local.read_bytes(name) != dask.read_bytes(name)]
    assert not differing, f"compute=dask wrote other bytes than compute=local for {differing}"
    for name in LAYOUT_ONLY:
        local_card, dask_card = json.loads(local.read(name)), json.loads(dask.read(name))
        for card in (local_card, dask_card):
            card["data"].pop("files")
        assert local_card == dask_card


def test_batch_scoring_reads_the_blocks_and_gives_evaluate_s_bits_in_any_batch_size(
    dask_project: Project, locks: dict
) -> None:
    scores = []
    for batch_rows in ("100", "65536"):
        output = dask_project.root / "build" / f"scores-{batch_rows}.parquet"
        dask_project.run(
            PACKAGE, "predict", "--model", "workspace", "--input", "data/prepared/test.parquet",
            "--output", str(output), "--batch-rows", batch_rows,
        )  # fmt: skip
        scores.append(pd.read_parquet(output))
    evaluated = pd.read_parquet(dask_project.root / "metrics" / "predictions.parquet")
    for scored in scores:
        assert scored["loan_id"].tolist() == evaluated["id"].tolist()
        assert scored["score"].to_numpy().tobytes() == evaluated["score"].to_numpy().tobytes()


def test_bad_rows_stop_prepare_with_the_local_message_and_where_they_are(tmp_path: Path) -> None:
    from lockstep.data.synthetic import generate_credit_data

    project = copy_project(tmp_path)
    source = project.root / "data" / "source" / "loans.parquet"
    loans = generate_credit_data(ROWS, 7)
    settings = ("compute=dask", "data.ingest.source=file", "data.ingest.path=data/source/loans.parquet")
    lock_before = project.read("dvc.lock")

    bad_age = loans.copy()
    bad_age.loc[7000, "age"] = 7
    bad_age.to_parquet(source, index=False)
    failed = reproduce(project, *settings, partition_rows=3000, check=False)
    assert "invalid data: column 'age': values outside [18, 100] in 1 row (e.g. 7) (first at row 7000)" in failed
    assert "Traceback" not in failed
    assert not (project.root / "data" / "prepared" / "train.parquet").exists()
    recorded = yaml.safe_load(project.read("dvc.lock"))["stages"]
    for stage in ("prepare", "train", "evaluate"):  # what failed, and what never ran, stays as it was
        assert recorded[stage] == yaml.safe_load(lock_before)["stages"][stage]

    repeated = loans.copy()
    repeated.loc[9000, "loan_id"] = repeated.loc[41, "loan_id"]
    repeated.to_parquet(source, index=False)
    failed = reproduce(project, *settings, partition_rows=3000, check=False)
    assert "invalid data: column 'loan_id' should be unique but repeats 'L000000042' (rows 41 and 9000)" in failed

    loans.to_parquet(source, index=False)
    refused = reproduce(project, *settings, "split.strategy=random", check=False)
    assert "split.strategy random needs the whole table in one process" in refused
    assert "set split.strategy: hash (compute=dask does)" in refused
