"""The project's own files agree with each other: dvc.yaml, paths.py, params.yaml, Makefile."""

from __future__ import annotations

import re

import yaml

from lockstep import paths
from lockstep.evaluation.evaluate import PLOT_STYLES

from tests.conftest import REPO_ROOT, stage_outputs

DVC_YAML = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())
PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


OUTPUTS = {path: options for stage in DVC_YAML["stages"].values() for path, options in stage_outputs(stage).items()}


def test_stage_outputs_are_the_paths_the_code_writes() -> None:
    outs = set(OUTPUTS)
    written = {
        paths.RAW_DATASET,
        paths.TRAIN_SET,
        paths.TEST_SET,
        paths.FEATURES_FILE,
        paths.DATA_METRICS,
        paths.MODEL_FILE,
        paths.MODEL_TYPES,
        paths.MODEL_CONTRACT,
        paths.EVAL_METRICS,
        paths.SLICE_METRICS,
        paths.PREDICTIONS,
        paths.MODEL_CARD,
        paths.MONITORING_REFERENCE,
        *(paths.plot_file(name).parent for name in PLOT_STYLES),
    }
    assert outs == {p.as_posix() for p in written}


def test_every_stage_param_exists_in_params_yaml() -> None:
    for stage in DVC_YAML["stages"].values():
        for key in stage["params"]:
            if isinstance(key, dict):  # `- params.yaml:`: the whole file (check_params)
                assert list(key) == ["params.yaml"]
                continue
            node = PARAMS
            for part in key.split("."):
                assert part in node, f"{key} is not in params.yaml"
                node = node[part]


def test_every_stage_dependency_exists() -> None:
    for name, stage in DVC_YAML["stages"].items():
        for dep in stage["deps"]:
            produced = dep in OUTPUTS
            assert produced or (REPO_ROOT / dep).exists(), f"stage {name}: {dep} does not exist"


def test_metrics_and_plots_are_kept_in_git_and_the_model_is_an_artifact() -> None:
    in_git = {path for path, options in OUTPUTS.items() if options.get("cache", True) is False}
    assert in_git == {path for path, options in OUTPUTS.items() if options["kind"] in ("metrics", "plots")}
    assert paths.EVAL_METRICS.as_posix() in in_git
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
