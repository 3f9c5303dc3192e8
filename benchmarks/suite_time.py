"""Time `make test` as BENCHMARKS.md reports it: a clean clone of HEAD, a warm uv cache.

Prints the wall-clock time, pytest's summary line and its slowest tests. Run it on a quiet
machine: other processes on the same cores make every figure longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 6 * 60


def fresh_env() -> dict[str, str]:
    """This environment without this checkout's venv: what a new shell in the clone would have."""
    venv_bin = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTEST"))}
    env["PATH"] = os.pathsep.join(part for part in env["PATH"].split(os.pathsep) if part != venv_bin)
    return env


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="suite-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.perf_counter()
        result = subprocess.run(
            ["make", "test"], cwd=clone, env=fresh_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        seconds = time.perf_counter() - started
    lines = result.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "slowest" in line and "durations" in line), len(lines))
    print("\n".join(lines[start:]))
    print(f"\nmake test: exit {result.returncode}, {seconds:.0f} s wall ({seconds / 60:.1f} min; budget 6 min)")
    return 0 if result.returncode == 0 and seconds < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
