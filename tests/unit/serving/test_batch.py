"""Batch scoring through the real loader, on Parquet and CSV files, with rejects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lockstep.cli import main
from lockstep.data.prepare import PreparedData
from lockstep.errors import PipelineError
from lockstep.modeling.predict import predict_frame
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.batch import arrow_to_numpy, score_files

from tests.conftest import PACKAGE


@pytest.fixture
def loaded(checked_out: Path) -> ModelVersion:
    return load_version("workspace")


def test_a_parquet_file_is_scored_in_batches_exactly_as_in_one_call(
    loaded: ModelVersion, prepared: PreparedData, tmp_path: Path
) -> None:
    prepared.test.to_parquet("test.parquet", index=False)
    summary = score_files(Path("test.parquet"), loaded, Path("out.parquet"), Path("rejects.parquet"), batch_rows=300)
    assert (summary.rows, summary.scored, summary.rejected) == (len(prepared.test), len(prepared.test), 0)
    out = pd.read_parquet("out.parquet")
    assert list(out.columns) == ["loan_id", "score", "label", "model_version", "model_sha256"]
    expected = predict_frame(loaded.model, prepared.test.reset_index(drop=True), loaded.contract)
    np.testing.assert_array_equal(out["score"].to_numpy(), expected["score"].to_numpy())
    np.testing.assert_array_equal(out["label"].to_numpy(), expected["label"].to_numpy())
    assert out["loan_id"].tolist() == prepared.test["loan_id"].tolist()
    assert set(out["model_version"]) == {"workspace"}
    assert set(out["model_sha256"]) == {loaded.sha256}
    assert pd.read_parquet("rejects.parquet").empty


def test_bad_csv_rows_go_to_the_rejects_file_with_their_reason(loaded: ModelVersion, prepared: PreparedData) -> None:
    frame = prepared.test.head(50).drop(columns=["default"]).astype(object)
    frame.loc[frame.index[3], "age"] = "forty"
    frame.loc[frame.index[10], "employment_type"] = "astronaut"
    frame.loc[frame.index[10], "age"] = 17
    frame.to_csv("score.csv", index=False)
    summary = score_files(Path("score.csv"), loaded, Path("out.csv"), Path("rejects.csv"), batch_rows=8)
    assert (summary.rows, summary.scored, summary.rejected) == (50, 48, 2)
    rejects = pd.read_csv("rejects.csv")
    assert rejects["row"].tolist() == [3, 10]
    assert rejects["rules"].tolist() == ["type", "range,category"]
    assert rejects["reason"][0] == "age: 'forty' is not an integer"
    assert "employment_type: 'astronaut' is not an allowed value" in rejects["reason"][1]
    out = pd.read_csv("out.csv")
    assert len(out) == 48
    assert frame["loan_id"].iloc[3] not in set(out["loan_id"])


def test_a_folder_is_scored_file_by_file(loaded: ModelVersion, prepared: PreparedData) -> None:
    Path("in").mkdir()
    prepared.test.head(30).to_parquet("in/a.parquet", index=False)
    prepared.test.iloc[30:50].drop(columns=["default"]).to_csv("in/b.csv", index=False)
    summary = score_files(Path("in"), loaded, Path("out.parquet"), Path("rejects.parquet"))
    assert (summary.files, summary.scored) == (2, 50)
    out = pd.read_parquet("out.parquet")
    expected = predict_frame(loaded.model, prepared.test.head(50).reset_index(drop=True), loaded.contract)
    np.testing.assert_array_equal(out["score"].to_numpy(), expected["score"].to_numpy())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: t.drop(columns=["age"]).to_parquet("bad.parquet"), r"lacks the model's columns \['age'\]"),
        (lambda t: t.assign(extra=1).to_parquet("bad.parquet"), r"has columns the model does not know \['extra'\]"),
        (lambda t: Path("bad.parquet").write_text("not parquet"), "cannot be read as parquet"),
        (lambda t: None, "bad.parquet not found"),
    ],
)
def test_a_bad_file_is_a_one_line_error_and_writes_nothing(
    loaded: ModelVersion, prepared: PreparedData, make: object, message: str
) -> None:
    make(prepared.test.head(20))  # type: ignore[operator]
    with pytest.raises(PipelineError, match=message):
        score_files(Path("bad.parquet"), loaded, Path("out.parquet"), Path("rejects.parquet"))
    assert not Path("out.parquet").exists()
    assert not Path("rejects.parquet").exists()


def test_the_command_reports_counts_and_refuses_a_bad_model(
    checked_out: Path, prepared: PreparedData, capsys: pytest.CaptureFixture[str]
) -> None:
    prepared.test.head(40).to_parquet("in.parquet", index=False)
    assert main(["predict", "--model", "workspace", "--input", "in.parquet", "--output", "out.parquet"]) == 0
    assert "predict: 40 of 40 rows scored with workspace" in capsys.readouterr().out
    assert Path("out.rejects.parquet").is_file()
    Path("models/model.skops").write_bytes(b"tampered")
    assert main(["predict", "--model", "workspace", "--input", "in.parquet", "--output", "again.parquet"]) == 2
    assert "does not match its dvc.lock" in capsys.readouterr().err
    assert not Path("again.parquet").exists()


def test_a_column_the_model_dropped_is_read_past(loaded: ModelVersion, prepared: PreparedData) -> None:
    from dataclasses import replace

    dated = prepared.test.head(20).assign(applied_on=pd.Timestamp("2024-01-31"))
    dated.to_parquet("dated.parquet", index=False)
    with pytest.raises(PipelineError, match=r"has columns the model does not know \['applied_on'\]"):
        score_files(Path("dated.parquet"), loaded, Path("out.parquet"), Path("rejects.parquet"))
    dropped = replace(loaded, contract=replace(loaded.contract, dropped=["applied_on"]))
    summary = score_files(Path("dated.parquet"), dropped, Path("out.parquet"), Path("rejects.parquet"))
    assert (summary.scored, summary.rejected) == (20, 0)


def test_batch_scoring_without_pyarrow_says_where_to_run_it(
    checked_out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    # As in the serving image, which leaves pyarrow out: importing it fails.
    monkeypatch.delitem(sys.modules, f"{PACKAGE}.serving.batch", raising=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert main(["predict", "--model", "workspace", "--input", "in.parquet", "--output", "out.parquet"]) == 2
    assert "batch scoring needs pyarrow, which the serving image leaves out" in capsys.readouterr().err
    assert not Path("out.parquet").exists()


@pytest.mark.parametrize(
    "column",
    [
        pa.array(["b", None, "a", "b", ""]),
        pa.array([None, None], pa.string()),
        pa.array([], pa.string()),
        pa.array(["x", None], pa.large_string()),
        pa.array([1, None, 3]),
        pa.array([1.5, 2.0]),
    ],
    ids=["text with nulls", "all null", "empty", "large text", "ints with nulls", "floats"],
)
def test_arrow_columns_become_the_arrays_to_numpy_gives(column: pa.Array) -> None:
    """Text goes through a dictionary (one Python string per distinct value): the values must not change."""
    expected = column.to_numpy(zero_copy_only=False)
    got = arrow_to_numpy(column)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
