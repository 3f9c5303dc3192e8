"""Bit for bit on any machine: a CPU matrix simulated on this one (tests/cpu_matrix.py).

Under the pin (src/lockstep/numerics.py) every simulated machine must write the
same bytes; without it (the control) they must not, or the test proves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lockstep.numerics import SWITCH

from tests.conftest import PACKAGE, Project, tool_env
from tests.cpu_matrix import MACHINES, differing, run_matrix

MODELS = ("logistic_regression", "hist_gradient_boosting")
# The control: two of the machines, without the pin.
CONTROL = ("this CPU", "Prescott BLAS, no AVX2 or FMA, 4 threads")


@pytest.fixture(scope="module")
def model_dirs(reproduced_template: Project, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One folder per model: its composed params.yaml and the reproduced project's prepared data."""
    dirs = {}
    for model in MODELS:
        root = tmp_path_factory.mktemp(model)
        shutil.copytree(reproduced_template.root / "conf", root / "conf")
        shutil.copytree(reproduced_template.root / "data" / "prepared", root / "data" / "prepared")
        compose = [f"{Path(sys.executable).parent}/{PACKAGE}", "params", f"model={model}"]
        subprocess.run(compose, cwd=root, env=tool_env(), check=True, capture_output=True)
        dirs[model] = root
    return dirs


def test_every_simulated_machine_writes_the_same_bytes_under_the_pin(model_dirs: dict[str, Path], tmp_path: Path):
    results = run_matrix(model_dirs, MACHINES, tmp_path)
    for model in MODELS:
        assert len(results["this CPU"][model]) >= 10, "train and evaluate wrote fewer outputs than expected"
        assert differing(results, model) == {machine: [] for machine in MACHINES if machine != "this CPU"}
    card = json.loads((tmp_path / "this_CPU" / "logistic_regression" / "models" / "model_card.json").read_text())
    assert card["numerics"]["mode"] == "pinned"
    blas = [lib for lib in card["numerics"]["libraries"] if lib["internal_api"] == "openblas"]
    assert blas
    assert all(lib["architecture"] == "Nehalem" and lib["num_threads"] == 1 for lib in blas)


def test_control_without_the_pin_the_machines_write_different_bytes(model_dirs: dict[str, Path], tmp_path: Path):
    machines = {name: MACHINES[name] for name in CONTROL}
    results = run_matrix(
        {"logistic_regression": model_dirs["logistic_regression"]}, machines, tmp_path, **{SWITCH: "native"}
    )
    assert "models/model.skops" in differing(results, "logistic_regression")[CONTROL[1]]


def test_a_bad_switch_value_is_one_line(tmp_path: Path):
    result = subprocess.run(
        [f"{Path(sys.executable).parent}/lockstep", "--version"],
        env=tool_env(**{SWITCH: "fast"}),
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == f"{SWITCH}='fast' is not valid: use one of pinned, native (default: pinned)"


def test_pin_process_re_executes_once_overriding_the_environment(tmp_path: Path):
    probe = (
        "import os, sys; from lockstep import numerics; numerics.pin_process(); "
        "print(os.environ['OPENBLAS_CORETYPE'], os.environ['OMP_NUM_THREADS'], os.environ['GLIBC_TUNABLES'], "
        f"'{SWITCH}_REEXECUTED' in os.environ)"
    )
    env = tool_env(
        OPENBLAS_CORETYPE="Prescott",
        OMP_NUM_THREADS="8",
        GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072:glibc.cpu.hwcaps=-AVX2",
    )
    printed = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    coretype, threads, tunables, marker = printed.stdout.split()
    assert (coretype, threads, marker) == ("Nehalem", "1", "False")
    assert tunables.startswith("glibc.malloc.trim_threshold=131072:glibc.cpu.hwcaps=-AVX,-AVX2,-FMA")
    assert os.environ.get(f"{SWITCH}_REEXECUTED") is None
