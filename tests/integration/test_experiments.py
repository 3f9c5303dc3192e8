"""Experiments through DVC's built-in Hydra composition: `dvc exp run -S ...`."""

from __future__ import annotations

import json

import yaml

from tests.conftest import Project


def experiments(project: Project) -> dict[str, dict]:
    """Name -> {"params": params.yaml, "metrics": metrics.json} for every experiment."""
    found = {}
    for baseline in json.loads(project.run("dvc", "exp", "show", "--json").stdout):
        for experiment in baseline.get("experiments") or []:
            for rev in experiment["revs"]:
                if rev.get("data"):
                    data = rev["data"]
                    found[rev["name"]] = {
                        "params": data["params"]["params.yaml"]["data"],
                        "metrics": data["metrics"]["metrics/metrics.json"]["data"],
                    }
    return found


def test_switching_the_model_group(reproduced: Project) -> None:
    # 40 trees, not the group's 200: the group switch and an override of it are what is tested, in a fifth of the time.
    switch = ["-S", "model=random_forest", "-S", "model.n_estimators=40"]
    run = reproduced.run("dvc", "exp", "run", *switch, "-n", "forest").stdout
    assert "Running stage 'train'" in run
    assert "Running stage 'ingest'" not in run
    params = yaml.safe_load(reproduced.read("params.yaml"))
    assert params["model"]["_target_"] == "sklearn.ensemble.RandomForestClassifier"
    forest = experiments(reproduced)["forest"]
    assert forest["params"]["model"]["n_estimators"] == 40
    assert forest["params"]["model"]["max_depth"] == 12  # the rest of the group's defaults came with it
    assert 0.65 < forest["metrics"]["roc_auc"] < 0.85


def test_a_hyperparameter_reruns_only_train_and_evaluate(reproduced: Project) -> None:
    run = reproduced.run("dvc", "exp", "run", "-S", "model.C=0.05", "-n", "strong-l2").stdout
    assert "Running stage 'train'" in run
    assert "Running stage 'evaluate'" in run
    assert "Running stage 'ingest'" not in run
    assert "Running stage 'prepare'" not in run
    assert experiments(reproduced)["strong-l2"]["params"]["model"]["C"] == 0.05


def test_a_queued_sweep(reproduced: Project) -> None:
    queued = reproduced.run("dvc", "exp", "run", "-S", "model.C=range(0.5, 1.5, 0.5)", "--queue").stdout
    assert queued.count("Queued experiment") == 2
    # Starts the queue's worker, as `dvc queue start -j 1` does, and follows each experiment to its end.
    ran = reproduced.run("dvc", "exp", "run", "--run-all", "-j", "1").stdout
    assert ran.count("Reproducing experiment") == 2, ran
    status = reproduced.run("dvc", "queue", "status").stdout
    assert status.count("Success") == 2, status
    swept = sorted(e["params"]["model"]["C"] for e in experiments(reproduced).values())
    assert swept == [0.5, 1.0]
