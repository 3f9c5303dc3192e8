"""The shell examples of the README and docs/ marked `<!-- run -->`, run in a fresh copy of the project.

The copy is a new Git repository of the project's files with this environment
hard-linked as its `.venv` (as `make install` would have made it), run from a
shell without the test's environment on PATH, as a reader's would be. Each
example must exit 0 and leave the copy's tracked files as they were. Examples
that run the pipeline, start a server, or need a remote or GitHub are marked
`<!-- skip: why -->` instead, and the suite's other tests cover what they do.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO_ROOT, Project, copy_project, fresh_shell_env
from tests.docs.blocks import ShellBlock, all_shell_blocks
from tests.shared import link_environment

pytestmark = pytest.mark.integration

RUNNABLE = [block for block in all_shell_blocks(REPO_ROOT) if block.mark == "run"]


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the project as a new clone has it, with the environment `make install` would make."""
    project = copy_project(tmp_path_factory.mktemp("docs-examples"))
    assert link_environment(REPO_ROOT, project.root), "this checkout's .venv is not synced from uv.lock"
    return project


def test_there_are_examples_to_run() -> None:
    pages = {block.page for block in RUNNABLE}
    assert "README.md" in pages
    assert len(pages) >= 3


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.name)
def test_the_example_runs(fresh_copy: Project, block: ShellBlock) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        cwd=fresh_copy.root,
        env=fresh_shell_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{block.name} exited {result.returncode}:\n{block.text}\n{result.stdout[-4000:]}"
    assert result.stdout.strip(), f"{block.name} printed nothing"
    assert fresh_copy.git_status() == "", f"{block.name} changed tracked files:\n{fresh_copy.git_status()}"
