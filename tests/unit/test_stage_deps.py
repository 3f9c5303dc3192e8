"""dvc.yaml's code dependencies cover every module each stage runs, so `dvc repro` never skips a changed stage.

The modules a stage runs are computed from the code: what `lockstep <stage>`
imports on its way to the stage (the command's top-level imports), plus
everything the stage's own module imports, at any depth and in any function.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lockstep.cli.stages import STAGES as COMMANDS

from tests.conftest import PACKAGE, REPO_ROOT
from tests.imports import closure, imports_of, module_file

STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def stage_modules(command: str) -> set[str]:
    """The package's modules that running `command` (e.g. `lockstep prepare`) can execute."""
    name = command.split()[1]
    # The command's own modules run their top level only (a handler's lazy imports run for its subcommand);
    # the command imports its areas' modules when it builds its parser, whatever the subcommand.
    areas = [name for name in imports_of(f"{PACKAGE}.cli") if name.startswith(f"{PACKAGE}.cli.")]
    entry = closure([f"{PACKAGE}.cli", *areas], top_level_only=True)
    if name not in COMMANDS:  # `params --validate`: the command's own modules do the work
        return entry
    stage = COMMANDS[name]  # the stage's module, and its module on Dask (compute.engine)
    return entry | closure([f"{PACKAGE}.{stage.module}", f"{PACKAGE}.{stage.dask_module}"])


def uncovered(modules: set[str], deps: list[str]) -> list[str]:
    """The files of `modules` that no dependency (a file, or a folder above it) covers."""
    covered = [REPO_ROOT / dep for dep in deps]
    files = {module_file(module).relative_to(REPO_ROOT) for module in modules}
    return sorted(str(path) for path in files if not any((REPO_ROOT / path).is_relative_to(dep) for dep in covered))


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_stage_s_deps_cover_every_module_it_runs(stage: str) -> None:
    spec = STAGES[stage]
    missing = uncovered(stage_modules(spec["cmd"]), spec["deps"])
    assert not missing, f"dvc.yaml: stage {stage} runs {missing} but does not depend on them; add them to its deps"


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_stage_depends_on_no_code_it_does_not_run(stage: str) -> None:
    """A dependency on code the stage never runs re-runs it for nothing: each listed source must be run."""
    spec = STAGES[stage]
    runs = {module_file(module) for module in stage_modules(spec["cmd"])}
    for dep in spec["deps"]:
        path = REPO_ROOT / dep
        if path.is_relative_to(REPO_ROOT / "src"):
            assert any(file == path or file.is_relative_to(path) for file in runs), (
                f"dvc.yaml: stage {stage} depends on {dep}, which it never runs"
            )


def test_the_closure_follows_lazy_and_indirect_imports() -> None:
    """The closure is not just a module's own imports: prepare reaches column inference through validate."""
    modules = stage_modules(f"{PACKAGE} prepare")
    assert f"{PACKAGE}.data.infer" in modules  # prepare -> validate -> infer
    assert f"{PACKAGE}.config.loader" in modules  # every stage loads params.yaml
    assert Path(module_file(f"{PACKAGE}.data.infer")).is_file()
