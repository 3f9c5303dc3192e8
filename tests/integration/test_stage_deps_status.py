"""A change to a module re-runs every stage that runs it, and no stage before the first of them.

The bug this guards against: prepare once reached column-type inference
(data/infer.py) only through data/validate.py and did not depend on it, so
`dvc repro` skipped prepare after inference changed.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import PACKAGE, REPO_ROOT, Project
from tests.imports import imports_of, module_file
from tests.unit.test_stage_deps import STAGES, stage_modules


def downstream(stage: str) -> set[str]:
    """`stage` and every stage after it (dvc.yaml lists them in pipeline order, each reading the one before)."""
    order = list(STAGES)
    return set(order[order.index(stage) :])


@pytest.mark.parametrize(
    ("module", "indirectly_by"),
    [
        (f"{PACKAGE}.modeling.predict", f"{PACKAGE}.evaluation.evaluate"),  # evaluate's alone, through metrics
        (f"{PACKAGE}.modeling.estimator", None),  # train's, and evaluate's (it hashes the whole package)
        (f"{PACKAGE}.data.infer", None),  # ingest's and prepare's (the bug's module)
    ],
)
def test_editing_a_module_re_runs_the_stages_that_run_it(
    reproduced: Project, module: str, indirectly_by: str | None
) -> None:
    if indirectly_by:
        assert module not in imports_of(indirectly_by), f"{indirectly_by} imports {module} directly: pick another"
    runs = [stage for stage, spec in STAGES.items() if module in stage_modules(spec["cmd"])]
    assert "Data and pipelines are up to date." in reproduced.run("dvc", "status").stdout

    source = reproduced.root / module_file(module).relative_to(REPO_ROOT)
    source.write_text(source.read_text(encoding="utf-8") + "\n# a change the pipeline must notice\n")
    changed = set(json.loads(reproduced.run("dvc", "status", "--json").stdout))

    # Every stage that runs it, and no stage before the first of them (evaluate depends on the whole package).
    assert set(runs) <= changed <= downstream(runs[0]), f"editing {module}: dvc status reports {sorted(changed)}"
