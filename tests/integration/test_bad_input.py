"""Bad input through the real pipeline: a one-line error, a non-zero exit,
no output of the failing stage, and nothing new in dvc.lock for it.

Real DVC runs one case per stage (and the overrides DVC itself refuses); the
other cases run the failing stage's command in-process (tests/unit/cli/test_stage_errors.py),
and tests/unit pins each message at the function that raises it.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import PACKAGE, Project, stage_outputs

GOOD_ROWS = [f"{i % 50 + 20},{'ab'[i % 2]},{i % 2}" for i in range(200)]
HEADER = "age,group,label"


LISTED_COLUMNS = (
    "+data.schema.columns.age={dtype: int, min: 18, max: 100}",
    "+data.schema.columns.group={dtype: category, allowed: [a, b]}",
    "+data.schema.columns.label={dtype: int}",
)


def file_overrides(name: str, target: str = "label", listed: bool = True) -> list[str]:
    """The overrides that point params.yaml at data/source/<name>, with its columns listed or inferred."""
    columns = LISTED_COLUMNS if listed else ()
    path, schema = f"data.ingest.path=data/source/{name}", "data.schema.min_class_rows=5"
    return ["data=file", path, f"data.target={target}", *columns, schema]


def use_file(project: Project, name: str, content: str | None, target: str = "label") -> None:
    """Write data/source/<name> and point params.yaml at it."""
    if content is not None:
        (project.root / "data" / "source" / name).write_text(content)
    project.run(PACKAGE, "params", *file_overrides(name, target))


def lock_entry(project: Project, stage: str) -> dict | None:
    return yaml.safe_load(project.read("dvc.lock"))["stages"].get(stage)


CASES = {
    "missing file": (None, "label", "ingest", "data/source/loans.csv: data file not found"),
    "empty file": ("", "label", "ingest", "data/source/loans.csv: data file is empty"),
    "missing target": (
        "\n".join([HEADER, *GOOD_ROWS]),
        "defaulted",
        "prepare",
        "target column 'defaulted' not in the data",
    ),
    "wrong dtype": (
        "\n".join([HEADER, "old,a,1", *GOOD_ROWS]),
        "label",
        "prepare",
        "column 'age' should be int but holds 'old'",
    ),
    "out of range": (
        "\n".join([HEADER, "130,a,1", *GOOD_ROWS]),
        "label",
        "prepare",
        "column 'age': values outside [18, 100] in 1 row (e.g. 130)",
    ),
    "unknown category": (
        "\n".join([HEADER, "30,z,1", *GOOD_ROWS]),
        "label",
        "prepare",
        "column 'group': unknown category (allowed: a, b) in 1 row (e.g. 'z')",
    ),
    "semicolon delimiter": (
        "\n".join([HEADER.replace(",", ";"), *(row.replace(",", ";") for row in GOOD_ROWS)]),
        "label",
        "ingest",
        "the file looks separated by semicolons, not commas; save it comma-separated",
    ),
    "stray label, inferred schema": (
        "\n".join([HEADER, *GOOD_ROWS[:-10], *(row[:-1] + "yes" for row in GOOD_ROWS[-10:])]),
        "label",
        "prepare",
        "target 'label' mixes numbers and text: 'yes' in 10 rows; fix those rows, or set data.task",
    ),
    "one class": (
        "\n".join([HEADER, *(r[:-1] + "0" for r in GOOD_ROWS)]),
        "label",
        "prepare",
        "target 'label' has a single class (0)",
    ),
}


# Through real DVC: one case per stage. The others run in-process (tests/unit/cli/test_stage_errors.py).
DATA_END_TO_END = ["missing file", "wrong dtype"]


@pytest.mark.parametrize("case", DATA_END_TO_END)
def test_bad_data_file(reproduced: Project, case: str) -> None:
    content, target, failing_stage, message = CASES[case]
    use_file(reproduced, "loans.csv", content, target)
    locked_before = lock_entry(reproduced, failing_stage)
    result = reproduced.run("dvc", "repro", check=False)
    assert result.returncode != 0
    error_lines = [line for line in result.stdout.splitlines() if line.startswith(f"{PACKAGE} {failing_stage}: error:")]
    assert len(error_lines) == 1, result.stdout
    assert message in error_lines[0]
    assert "Traceback" not in result.stdout
    assert lock_entry(reproduced, failing_stage) == locked_before
    stage = yaml.safe_load(reproduced.read("dvc.yaml"))["stages"][failing_stage]
    for path in stage_outputs(stage):
        assert not (reproduced.root / path).exists(), f"{path} left behind by the failed {failing_stage} stage"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model=xgboost", "Could not find 'model/xgboost'"),
        ("split.test_fraction=0.3", "Could not override 'split.test_fraction'"),
    ],
)
def test_override_that_does_not_compose(reproduced: Project, override: str, message: str) -> None:
    params_before, lock_before = reproduced.read("params.yaml"), reproduced.read("dvc.lock")
    result = reproduced.run("dvc", "exp", "run", "-S", override, check=False)
    assert result.returncode != 0
    assert message in result.stdout
    assert "Running stage" not in result.stdout
    assert reproduced.read("params.yaml") == params_before
    assert reproduced.read("dvc.lock") == lock_before


BAD_VALUES = {
    "model.C=abc": ("train", "model: The 'C' parameter of LogisticRegression must be a float"),
    "+model.depth=3": ("train", "model: LogisticRegression rejects its parameters"),
    "model._target_=sklearn.ensemble.NoSuchForest": (
        "train",
        "model._target_ 'sklearn.ensemble.NoSuchForest' cannot be imported",
    ),
    "split.test_size=0.9999": ("prepare", "split.test_size must be above 0 and at most 0.5"),
    "seed=abc": ("prepare", "seed: Input should be a valid integer"),
}
# Through real DVC: the train stage (prepare's bad input runs above). The others run in-process.
BAD_VALUES_END_TO_END = ["model.C=abc"]


@pytest.mark.parametrize(("override", "stage", "message"), [(o, *BAD_VALUES[o]) for o in BAD_VALUES_END_TO_END])
def test_override_with_a_bad_value(reproduced: Project, override: str, stage: str, message: str) -> None:
    locked_before = lock_entry(reproduced, stage)
    result = reproduced.run("dvc", "exp", "run", "-S", override, check=False)
    assert result.returncode != 0
    assert f"{PACKAGE} {stage}: error: invalid params: {message}" in result.stdout or (
        f"{PACKAGE} {stage}: error: {message}" in result.stdout
    ), result.stdout
    assert "Traceback" not in result.stdout
    assert lock_entry(reproduced, stage) == locked_before
    # What docs/troubleshooting.md says a failed `dvc exp run` leaves behind, and the way back it gives.
    # The -S value stays, and check_params (which it passed) is recorded; train's outputs are DVC's.
    assert reproduced.git_status() == " M dvc.lock\n M params.yaml\n"
    assert "deleted:" in reproduced.run("dvc", "status").stdout  # DVC removed train's outputs before it ran
    reproduced.run("git", "checkout", "--", "params.yaml", "dvc.lock", "metrics/")
    reproduced.run("dvc", "checkout")
    assert reproduced.git_status() == ""
    assert "Data and pipelines are up to date." in reproduced.run("dvc", "status").stdout


def test_a_target_that_would_run_a_command_is_refused_before_it_runs(reproduced: Project) -> None:
    marker = reproduced.root / "pwned"
    locked_before = lock_entry(reproduced, "train")
    overrides = ("model._target_=subprocess.Popen", f"+model.args=[touch,{marker}]")
    result = reproduced.run("dvc", "exp", "run", *(f"-S{override}" for override in overrides), check=False)
    assert result.returncode != 0
    assert (
        f"{PACKAGE} train: error: model._target_ 'subprocess.Popen' is not from a trusted library (sklearn); "
        "see extra_model_libraries"
    ) in result.stdout, result.stdout
    assert not marker.exists()
    assert lock_entry(reproduced, "train") == locked_before


def test_a_crafted_model_file_runs_nothing_in_evaluate(reproduced: Project) -> None:
    """The audit's exploit: a model file whose Popen (reached through numpy) runs a shell command when loaded."""
    from tests.unit.modeling.test_persistence import _popen_file

    marker = reproduced.root / "pwned"
    (reproduced.root / "models" / "model.skops").write_bytes(_popen_file(marker))
    locked_before = lock_entry(reproduced, "evaluate")
    result = reproduced.run("dvc", "repro", "--single-item", "evaluate", check=False)
    assert result.returncode != 0
    error_lines = [line for line in result.stdout.splitlines() if line.startswith(f"{PACKAGE} evaluate: error:")]
    assert error_lines == [
        f"{PACKAGE} evaluate: error: models/model.skops holds types that differ from those recorded in "
        "models/trusted_types.json at train time (e.g. numpy.distutils.fcompiler.gnu.Popen): restore both "
        "(`dvc checkout`) or retrain"
    ], result.stdout
    assert not marker.exists()
    assert lock_entry(reproduced, "evaluate") == locked_before


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+seeed=1", "invalid params: seeed is not a key of params.yaml; check its spelling against conf/"),
        ("gate.threshold=abc", "invalid params: gate.threshold: Input should be a valid number"),
    ],
)
def test_a_key_no_stage_reads_is_still_checked_by_dvc_exp_run(reproduced: Project, override: str, message: str) -> None:
    """No pipeline stage reads `seeed` or the gate, so only check_params can stop them."""
    lock_before = reproduced.read("dvc.lock")
    result = reproduced.run("dvc", "exp", "run", "-S", override, check=False)
    assert result.returncode != 0
    assert f"{PACKAGE} params: error: {message}" in result.stdout, result.stdout
    assert "Traceback" not in result.stdout
    assert reproduced.read("dvc.lock") == lock_before
