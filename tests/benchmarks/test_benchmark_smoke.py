"""Every benchmark still runs, in the environment of the code it measures, and still compares the same work.

Each script's `--smoke` run is its real run at a tiny size: the same processes, the
same comparisons and the same checks that both sides did the same work (bytes of a
model, scores), in seconds instead of minutes. They are marked `slow` (about three
minutes together on 2 cores): `make test-bench-smoke` runs them, and so does CI.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from lockstep import numerics

from tests.conftest import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"
SMOKED = (
    "datasets",
    "monitor",
    "monitor_command",
    "monitor_estimate",
    "numerics",
    "pipeline",
    "pr_loop",
    "rollout",
    "rollout_ab",
    "scale",
    "serving",
    "shadow",
)
# Seconds. Each takes 2 to 110 s on 2 cores at a load average of 6 (other test suites running).
SMOKE_TIMEOUT = 600
# Not benchmarks of the code: the shared helper, and make test's wall time from a user's shell.
NOT_MEASURED = {"_env", "suite_time"}


def entry_point_calls(name: str) -> list[str]:
    """The functions called, in order, by the script's `if __name__ == "__main__":` block."""
    tree = ast.parse((BENCHMARKS / f"{name}.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and ast.unparse(node.test).startswith("__name__")
    )
    return [
        ast.unparse(call.func) for statement in block.body for call in ast.walk(statement) if isinstance(call, ast.Call)
    ]


def test_every_benchmark_has_a_smoke_run() -> None:
    scripts = {path.stem for path in BENCHMARKS.glob("*.py")} - NOT_MEASURED
    assert scripts == set(SMOKED)
    for name in scripts:
        assert '"--smoke"' in (BENCHMARKS / f"{name}.py").read_text(), name


@pytest.mark.parametrize("name", SMOKED)
def test_a_benchmark_pins_its_numerics_before_anything_else(name: str) -> None:
    # _env.pinned is numerics.pin_process, the call `lockstep`'s entry point makes before a stage runs.
    assert entry_point_calls(name) == ["pinned", "main"]


def a_users_shell() -> dict[str, str]:
    """This environment as an unpinned shell has it, with a variable that steers OpenBLAS as an old CPU would.

    The pin must override it (as in .ci/run), or the smoke run's comparisons of bytes fail.
    """
    pinned = numerics.settings(os.environ)
    env = {key: value for key, value in os.environ.items() if key not in pinned and not key.startswith("PYTEST")}
    return env | {"OPENBLAS_CORETYPE": "Prescott"}


@pytest.mark.slow
@pytest.mark.parametrize("name", SMOKED)
def test_a_benchmark_runs_at_a_tiny_size_and_compares_the_same_work(name: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--smoke"],
        cwd=REPO_ROOT,
        env=a_users_shell(),
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    header = done.stdout.splitlines()[0]
    assert header.startswith(f"{name}: commit ")
    assert "numerics pinned," in header  # and in effect
    assert done.stdout.splitlines()[-1].startswith("at the end: load average")
