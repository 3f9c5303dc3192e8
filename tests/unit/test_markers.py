"""Markers follow folders (tests/conftest.py), so that a minutes-long test cannot land in `make test` by accident."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import LONG_FOLDERS, REPO_ROOT, TESTS, folder_markers

MAKEFILES = [path for path in (REPO_ROOT / "Makefile", REPO_ROOT / ".copier" / "template.mk") if path.is_file()]
# The one long marker that a module of another folder may set by hand: its folder's own target then
# selects it by folder and marker (tests/benchmarks: `make test-bench-smoke`).
SET_BY_HAND_ELSEWHERE = {"slow"}


def long_markers() -> set[str]:
    """The markers `make test` leaves out: LONG_TESTS in the Makefile."""
    found = re.search(r"(?m)^LONG_TESTS := (.+)$", (REPO_ROOT / "Makefile").read_text())
    assert found, "the Makefile has no LONG_TESTS"
    return set(found.group(1).split(" or "))


def hand_set_markers(module: Path) -> set[str]:
    """The names of `pytest.mark.<name>` a module uses, in a decorator or a `pytestmark`."""
    return {
        node.attr
        for node in ast.walk(ast.parse(module.read_text(), str(module)))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "pytest"
    }


def test_make_test_leaves_out_every_long_folder() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert '-m "not ($(LONG_TESTS))"' in makefile
    assert set(LONG_FOLDERS.values()) <= long_markers()


@pytest.mark.parametrize(("folder", "marker"), sorted(LONG_FOLDERS.items()))
def test_each_long_folder_has_a_target_that_runs_it(folder: str, marker: str) -> None:
    if folder == "template" and not (REPO_ROOT / ".copier").is_dir():
        pytest.skip("a project made from the template has no tests/template")
    assert (TESTS / folder).is_dir()
    recipes = "\n".join(path.read_text() for path in MAKEFILES)
    assert re.search(rf"(?m)^\t\$\(BIN\)/pytest .*-m {marker}\b", recipes), f"no make target runs -m {marker}"


@pytest.mark.parametrize(
    ("path", "markers"),
    [
        ("tests/load/test_serving_load.py", ["load"]),
        ("tests/workflows/test_promote.py", ["integration", "workflow"]),
        ("tests/template/test_copier.py", ["integration", "slow"]),
        ("tests/integration/test_pipeline.py", ["integration"]),
        ("tests/unit/serving/test_api.py", []),
        ("tests/docs/test_docs_site.py", []),
        ("benchmarks/pipeline.py", []),
    ],
)
def test_a_module_gets_the_markers_of_its_folder(path: str, markers: list[str]) -> None:
    assert folder_markers(REPO_ROOT / path) == markers


def test_no_module_sets_a_marker_that_contradicts_its_folder() -> None:
    wrong = []
    for module in sorted(TESTS.rglob("*.py")):
        own = set(folder_markers(module))
        for marker in hand_set_markers(module) & (set(LONG_FOLDERS.values()) | {"integration"}):
            if marker in own:
                wrong.append(f"{module.relative_to(REPO_ROOT)}: {marker} is its folder's already (tests/conftest.py)")
            elif own & set(LONG_FOLDERS.values()) and marker in LONG_FOLDERS.values():
                wrong.append(f"{module.relative_to(REPO_ROOT)}: {marker} in a folder of {' and '.join(sorted(own))}")
            elif marker in LONG_FOLDERS.values() and marker not in SET_BY_HAND_ELSEWHERE:
                folder = next(name for name, long in LONG_FOLDERS.items() if long == marker)
                wrong.append(f"{module.relative_to(REPO_ROOT)}: a {marker} test belongs in tests/{folder}/")
    assert not wrong, "\n".join(wrong)
