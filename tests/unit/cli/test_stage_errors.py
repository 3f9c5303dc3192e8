"""Bad input through a stage's command, in-process: the one error line DVC shows, and no output left behind.

tests/integration/test_bad_input.py runs one such case per stage through real DVC, and checks there
what only DVC can show (the exit code it passes on, dvc.lock untouched). These are its other cases:
the same data files and overrides, the same stage commands, without a DVC process each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from lockstep.cli import main

from tests.conftest import PACKAGE, REPO_ROOT, stage_outputs
from tests.integration.test_bad_input import (
    BAD_VALUES,
    BAD_VALUES_END_TO_END,
    CASES,
    DATA_END_TO_END,
    GOOD_ROWS,
    HEADER,
    file_overrides,
)

STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the project's conf/ and an empty data/source/, as the working directory."""
    shutil.copytree(REPO_ROOT / "conf", tmp_path / "conf")
    (tmp_path / "data" / "source").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_failing_stage(stage: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `stage` as DVC would (its outputs removed first); return its one error line."""
    for path in stage_outputs(STAGES[stage]):
        Path(path).unlink(missing_ok=True)
    capsys.readouterr()
    assert main([stage]) == 2
    stderr = capsys.readouterr().err
    error_lines = [line for line in stderr.splitlines() if line.startswith(f"{PACKAGE} {stage}: error:")]
    assert len(error_lines) == 1, stderr
    assert "Traceback" not in stderr
    for path in stage_outputs(STAGES[stage]):
        assert not Path(path).exists(), f"{path} left behind by the failed {stage} stage"
    return error_lines[0]


def run_stages_before(stage: str) -> None:
    for earlier in list(STAGES)[: list(STAGES).index(stage)]:
        command = STAGES[earlier]["cmd"].split()[1:]  # as dvc.yaml runs it, e.g. `params --validate`
        assert main(command) == 0, f"{earlier} failed before {stage}"


@pytest.mark.parametrize("case", [case for case in CASES if case not in DATA_END_TO_END])
def test_bad_data_file(project: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    content, target, failing_stage, message = CASES[case]
    if content is not None:
        (project / "data" / "source" / "loans.csv").write_text(content)
    listed = "inferred" not in case
    assert main(["params", *file_overrides("loans.csv", target, listed)]) == 0
    run_stages_before(failing_stage)
    assert message in run_failing_stage(failing_stage, capsys)


@pytest.mark.parametrize(
    ("override", "stage", "message"),
    [(override, *BAD_VALUES[override]) for override in BAD_VALUES if override not in BAD_VALUES_END_TO_END],
)
def test_override_with_a_bad_value(
    project: Path, override: str, stage: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "data" / "source" / "loans.csv").write_text("\n".join([HEADER, *GOOD_ROWS]))
    assert main(["params", *file_overrides("loans.csv")]) == 0
    run_stages_before(stage)
    # What `dvc exp run -S <override>` writes before it runs the stages whose params changed.
    compose_and_dump(
        project / "params.yaml",
        config_dir=str(project / "conf"),
        config_module=None,
        config_name="config",
        plugins_path=str(project),
        overrides=[*file_overrides("loans.csv"), override],
    )
    error = run_failing_stage(stage, capsys)
    assert f"{PACKAGE} {stage}: error: invalid params: {message}" in error or (
        f"{PACKAGE} {stage}: error: {message}" in error
    ), error
