"""Simulated machines for the bit-for-bit checks (tests/integration/test_numerics.py, benchmarks/numerics.py).

A simulated machine is a set of variables that steer the libraries as a
different CPU would: OpenBLAS's kernel family, NumPy's SIMD dispatch, glibc's
hardware capabilities, and thread counts.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import tool_env

DRIVER = Path(__file__).with_name("train_and_evaluate.py")
NO_AVX2 = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX",
}
MACHINES: dict[str, dict[str, str]] = {
    "this CPU": {},
    "Sandybridge BLAS, 1 thread": {"OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_NUM_THREADS": "1"}
    | {"OMP_NUM_THREADS": "1"},
    "Prescott BLAS, no AVX2 or FMA, 4 threads": {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "4"}
    | {"OMP_NUM_THREADS": "4"}
    | NO_AVX2,
}
# Variables of the environment the tests run in that would steer a simulated machine.
STEERING = ("OPENBLAS_", "OMP_", "NPY_", "GLIBC_TUNABLES", "LOCKSTEP_NUMERICS")


def output_hashes(root: Path) -> dict[str, str]:
    """MD5 of every file that train and evaluate wrote, by path."""
    files = sorted(path for folder in ("models", "metrics") for path in (root / folder).rglob("*") if path.is_file())
    return {path.relative_to(root).as_posix(): hashlib.md5(path.read_bytes()).hexdigest() for path in files}


def run_matrix(
    model_dirs: dict[str, Path], machines: dict[str, dict[str, str]], workdir: Path, **extra: str
) -> dict[str, dict[str, dict[str, str]]]:
    """Train and evaluate each model folder on each machine, machines in parallel.

    Each model folder holds params.yaml and data/prepared/; it is copied per
    machine. Returns machine -> model -> output hashes.
    """
    outside = {key: value for key, value in tool_env().items() if not key.startswith(STEERING)}
    runs = {}
    for machine, variables in machines.items():
        copies = []
        for model, source in model_dirs.items():
            copy = workdir / machine.replace(" ", "_").replace(",", "") / model
            shutil.copytree(source, copy)
            copies.append(copy)
        command = [sys.executable, str(DRIVER), *map(str, copies)]
        log = (copies[0].parent / "log.txt").open("w")
        process = subprocess.Popen(command, env=outside | variables | extra, stdout=log, stderr=subprocess.STDOUT)
        runs[machine] = (copies, process, log)
    results = {}
    for machine, (copies, process, log) in runs.items():
        process.wait()
        log.close()
        if process.returncode != 0:
            output = Path(log.name).read_text()[-2000:]
            raise AssertionError(f"train/evaluate failed on the simulated machine {machine!r}:\n{output}")
        results[machine] = {copy.name: output_hashes(copy) for copy in copies}
    return results


def differing(results: dict[str, dict[str, dict[str, str]]], model: str, reference: str = "this CPU") -> dict:
    """Machine -> the outputs of `model` whose bytes differ from the reference machine's."""
    base = results[reference][model]
    return {
        machine: sorted(path for path, digest in outputs[model].items() if base.get(path) != digest)
        for machine, outputs in results.items()
        if machine != reference
    }
