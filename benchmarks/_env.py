"""What every benchmark shares: the numerical environment it measures in, the commands' environment, the load.

Each benchmark starts with `pinned()`, which is `numerics.pin_process()`: the call
`lockstep`'s entry point makes before it runs a stage. So what a benchmark computes
in its own process (a model, scores, a bootstrap) is computed as the measured code
computes it, and a comparison of two ways of doing the same work compares the same
bytes. `LOCKSTEP_NUMERICS=native` turns the pin off here as it does for the command.

benchmarks/ is not a package: a script runs with this folder first on sys.path,
so it imports this module as `_env`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pinned() -> None:
    """Re-execute this benchmark in the pinned numerical environment, unless it already runs in it.

    The first call of every benchmark's entry point, before it measures anything.
    """
    from lockstep import numerics

    numerics.pin_process()


def clone(destination: Path, source: Path = REPO_ROOT) -> Path:
    """A Git clone of `source` (by default this checkout's HEAD) at `destination`."""
    subprocess.run(["git", "clone", "-q", str(source), str(destination)], check=True)
    return destination


def command_env(project: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment for a command a benchmark times, as a user's shell would start it.

    Without the pin's variables, so that each `lockstep` process pins itself (and pays its re-execution)
    as it does under `dvc repro` or in CI; with this environment's bin/ first on PATH and DVC's analytics off.
    With `project` (a clone), its src/ comes first on PYTHONPATH: the environment's install is editable and
    points at this checkout, whose work tree may differ from the commit the clone holds.
    """
    from lockstep import numerics

    pin = numerics.settings(os.environ)  # nothing in native mode: then the commands run native too
    env = {key: value for key, value in os.environ.items() if key not in pin}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    if project is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH")]))
    return env | {"DVC_NO_ANALYTICS": "1"} | extra


def load() -> str:
    """The load average (1, 5, 15 minutes) and the cores, to print with every figure: others share the machine."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def commit() -> str:
    """HEAD of this checkout, and whether src/ differs from it (a benchmark that clones HEAD measures HEAD)."""
    git = ["git", "-C", str(REPO_ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True).stdout
    return f"{head} (src/ has uncommitted changes)" if changed.strip() else head


def header(name: str) -> None:
    """One line before a benchmark's figures: what, which commit, the numerics (and whether in effect), the load."""
    from lockstep import numerics

    in_effect = all(os.environ.get(key) == value for key, value in numerics.settings(os.environ).items())
    mode = numerics.mode() if in_effect else f"{numerics.mode()} but NOT in effect"
    print(f"{name}: commit {commit()}, numerics {mode}, {load()}", flush=True)
