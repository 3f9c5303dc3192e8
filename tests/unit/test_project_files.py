"""The project's own files agree with each other: dvc.yaml, paths.py, params.yaml, Makefile."""

from __future__ import annotations

import re

import yaml

from lockstep import paths
from tests.conftest import REPO_ROOT

DVC_YAML = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())
PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def _path_of(entry: str | dict) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


def test_stage_outputs_are_the_paths_the_code_writes() -> None:
    outs = {_path_of(out) for stage in DVC_YAML["stages"].values() for out in stage["outs"]}
    written = {
        paths.RAW_DATASET,
        paths.TRAIN_SET,
        paths.TEST_SET,
        paths.FEATURES_FILE,
        paths.DATA_METRICS,
        paths.MODEL_FILE,
        paths.EVAL_METRICS,
        paths.SLICE_METRICS,
        paths.PLOTS_DIR,
        paths.PREDICTIONS,
        paths.MODEL_CARD,
    }
    assert outs == {p.as_posix() for p in written}


def test_every_stage_param_exists_in_params_yaml() -> None:
    for stage in DVC_YAML["stages"].values():
        for key in stage["params"]:
            node = PARAMS
            for part in key.split("."):
                assert part in node, f"{key} is not in params.yaml"
                node = node[part]


def test_every_stage_dependency_exists() -> None:
    for name, stage in DVC_YAML["stages"].items():
        for dep in stage["deps"]:
            produced = any(_path_of(out) == dep for s in DVC_YAML["stages"].values() for out in s["outs"])
            assert produced or (REPO_ROOT / dep).exists(), f"stage {name}: {dep} does not exist"


def test_metrics_files_are_kept_in_git_and_the_model_is_an_artifact() -> None:
    cached = {
        _path_of(out): (out[_path_of(out)].get("cache", True) if isinstance(out, dict) else True)
        for stage in DVC_YAML["stages"].values()
        for out in stage["outs"]
    }
    for metrics_file in DVC_YAML["metrics"]:
        assert cached[metrics_file] is False
    assert DVC_YAML["artifacts"]["model"]["path"] == paths.MODEL_FILE.as_posix()
    assert DVC_YAML["artifacts"]["model"]["type"] == "model"


def test_every_make_target_has_a_description() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.MULTILINE)
    described = re.findall(r"^## ([a-z0-9-]+): \S", makefile, flags=re.MULTILINE)
    assert set(targets) == set(described)
    assert {"repro", "test", "help"} <= set(targets)
    assert ".DEFAULT_GOAL := help" in makefile


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make repro" in readme
    assert "make test" in readme
