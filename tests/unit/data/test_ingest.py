from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lockstep.config import IngestConfig
from lockstep.data.ingest import load_raw_data, read_source_file, run_ingest
from lockstep.errors import PipelineError

from tests.shared import replace, shipped_params


def test_reads_csv_and_parquet_alike(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "label": ["a", "b"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    pd.testing.assert_frame_equal(read_source_file(tmp_path / "t.csv"), read_source_file(tmp_path / "t.parquet"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "data file not found"),
        ("empty.csv", "", "data file is empty"),
        ("header_only.csv", "a,b\n", "has no rows"),
        ("table.xlsx", "a,b\n1,2\n", "unsupported file type"),
        ("broken.parquet", "not parquet", "cannot read data file"),
    ],
)
def test_unusable_files_get_a_clear_error(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(PipelineError, match=message) as error:
        read_source_file(path)
    assert str(path) in str(error.value)


def test_file_source_must_live_under_data_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere.csv").write_text("a,b\n1,2\n")
    with pytest.raises(PipelineError, match="must live under data/source"):
        load_raw_data(_ingest(source="file", path="elsewhere.csv"))


def test_run_ingest_writes_the_synthetic_table(tmp_path: Path) -> None:
    output = tmp_path / "raw" / "dataset.parquet"
    frame = run_ingest(_ingest(source="synthetic", n_rows=500, seed=1), output)
    assert len(frame) == 500
    pd.testing.assert_frame_equal(pd.read_parquet(output), frame, check_dtype=False)
    assert [p.name for p in output.parent.iterdir()] == ["dataset.parquet"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "age;group;label\n30;a;1\n",
            "one column named 'age;group;label': the file looks separated by semicolons, not commas; "
            "save it comma-separated",
        ),
        (
            "age\tgroup\tlabel\n30\ta\t1\n",
            "one column named 'age\\tgroup\\tlabel': the file looks separated by tabs, not commas; "
            "save it comma-separated",
        ),
        ("age,group,age\n30,a,31\n", "column 'age' appears more than once in the header; rename the copies"),
    ],
)
def test_csv_files_pandas_would_misread(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(PipelineError) as error:
        read_source_file(path)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize("folder", ["data/source", "data/source/loans.csv"])
def test_a_folder_is_named_as_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / folder).mkdir(parents=True)
    with pytest.raises(PipelineError) as error:
        load_raw_data(_ingest(source="file", path=folder))
    assert str(error.value) == f"{folder}: is a folder; set data.ingest.path to a .csv or .parquet file in it"


def _ingest(**values: object) -> IngestConfig:
    return replace(shipped_params().data.ingest, **{k: str(v) if isinstance(v, Path) else v for k, v in values.items()})
