"""The docs' batch-scoring stage (docs/serving.md), added to a reproduced project and run by `dvc repro`."""

from __future__ import annotations

import re

import pandas as pd
import yaml

from tests.conftest import REPO_ROOT, Project


def documented_score_stage() -> str:
    """The `score:` stage exactly as docs/serving.md documents it."""
    page = (REPO_ROOT / "docs" / "serving.md").read_text()
    return re.search(r"```yaml\n(  score:\n.*?)```", page, re.DOTALL).group(1)


def test_the_documented_score_stage_scores_a_dvc_tracked_input(reproduced: Project) -> None:
    rows = pd.read_parquet(reproduced.root / "data/prepared/test.parquet").head(100).drop(columns=["default"])
    rows.loc[rows.index[5], "loan_purpose"] = "spaceship"
    (reproduced.root / "data/score").mkdir()
    rows.to_csv(reproduced.root / "data/score/new.csv", index=False)
    reproduced.run("dvc", "add", "-q", "data/score")
    with (reproduced.root / "dvc.yaml").open() as handle:
        pipeline = handle.read()
    stages_end = pipeline.index("\nartifacts:")
    (reproduced.root / "dvc.yaml").write_text(
        pipeline[:stages_end] + "\n" + documented_score_stage() + pipeline[stages_end:]
    )
    out = reproduced.run("dvc", "repro", "score").stdout
    assert "Running stage 'score'" in out
    assert "Running stage 'train'" not in out
    assert "predict: 99 of 100 rows scored with workspace" in out
    scores = pd.read_parquet(reproduced.root / "data/scored/scores.parquet")
    rejects = pd.read_parquet(reproduced.root / "data/scored/rejects.parquet")
    assert len(scores) == 99
    assert rejects["reason"].tolist() == [
        "loan_purpose: 'spaceship' is not an allowed value (debt_consolidation, credit_card, home_improvement, car, "
        "medical, small_business, education, other)"
    ]
    assert "score" in yaml.safe_load(reproduced.read("dvc.lock"))["stages"]
    assert "Running stage" not in reproduced.run("dvc", "repro", "score").stdout
