"""The pinned numerical environment: one set of bytes per revision, on any x86-64 machine.

NumPy, OpenBLAS and glibc's libm each choose code paths by the CPU when they
load, and a different path can change the last bit of a float, and so the
bytes of a model. Every stage runs through the command's entry point, which
calls `pin_process` before NumPy is imported: it re-executes the process once
with the settings below, overriding whatever the environment had (a variable
set from outside looks the same as a different CPU).

The pin targets x86-64-v2 (SSE4.2, the oldest CPU NumPy 2.4's wheels run on),
so the libraries it steers take the same code paths on any x86-64 machine, with
or without AVX2 or AVX-512 (checked on one AVX2 CPU and simulated machines; see
docs/pipeline.md for what was and was not run). The cost is measured in BENCHMARKS.md; `<PACKAGE>_NUMERICS=native`
turns the pin off for users who prefer speed to bit-identity.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from . import PACKAGE

# <PACKAGE>_NUMERICS, named after the package, so that a project made from the template has its own.
SWITCH = f"{PACKAGE.upper()}_NUMERICS"
MODES = ("pinned", "native")
# Set by the re-executed process, so a pin that does not take hold fails instead of looping.
_REEXECUTED = f"{SWITCH}_REEXECUTED"

# The CPU features glibc may not use. libm has FMA variants of exp, log, pow,
# sin and others whose results differ in the last bit from the SSE2 ones
# (measured: the logistic regression model changes when these are masked).
_GLIBC_MASKED = ("AVX", "AVX2", "FMA", "FMA4", "AVX512F", "AVX512DQ", "AVX512BW", "AVX512VL")
_GLIBC_CPU_TUNABLE = "glibc.cpu.hwcaps"

# On every architecture.
PINNED: dict[str, str] = {
    # A threaded BLAS splits dot products into per-thread partial sums.
    "OPENBLAS_NUM_THREADS": "1",
    # OpenMP reductions (histogram gradient boosting sums gradients in
    # parallel) combine partial sums in the order threads finish.
    "OMP_NUM_THREADS": "1",
    # Python's string hashing is salted per process; set iteration order must not vary.
    "PYTHONHASHSEED": "0",
}
# On x86-64 only: these names mean nothing elsewhere (arm64 is not pinned further; see docs/pipeline.md).
PINNED_X86_64: dict[str, str] = {
    # OpenBLAS picks kernels by CPU family at load time; a different kernel
    # blocks and orders sums differently (measured: Haswell, Sandybridge and
    # Prescott give three different models). Nehalem kernels run on every x86-64-v2 CPU.
    "OPENBLAS_CORETYPE": "Nehalem",
    # NumPy dispatches its loops (sorting, exp/log, reductions) to AVX2 and
    # AVX-512 code when the CPU has it; keep it on its x86-64-v2 baseline.
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
}


def mode(environ: Mapping[str, str] = os.environ) -> str:
    """`pinned` (the default) or `native`, from <PACKAGE>_NUMERICS; anything else is an error."""
    value = environ.get(SWITCH, "pinned") or "pinned"
    if value not in MODES:
        raise SystemExit(f"{SWITCH}={value!r} is not valid: use one of {', '.join(MODES)} (default: pinned)")
    return value


def glibc_tunables(current: str | None) -> str:
    """GLIBC_TUNABLES with our CPU mask, keeping any other tunables the user set."""
    kept = [item for item in (current or "").split(":") if item and not item.startswith("glibc.cpu.")]
    mask = ",".join(f"-{feature}" for feature in _GLIBC_MASKED)
    return ":".join([*kept, f"{_GLIBC_CPU_TUNABLE}={mask}"])


def is_x86_64(machine: str | None = None) -> bool:
    """Whether the x86-64 settings apply to this machine."""
    return (machine or platform.machine()).lower() in ("x86_64", "amd64")


def settings(environ: Mapping[str, str], machine: str | None = None) -> dict[str, str]:
    """The variables the pin sets on this machine ({} in native mode)."""
    if mode(environ) == "native":
        return {}
    if not is_x86_64(machine):
        return dict(PINNED)
    return PINNED | PINNED_X86_64 | {"GLIBC_TUNABLES": glibc_tunables(environ.get("GLIBC_TUNABLES"))}


def pin_process() -> None:
    """Re-execute this process in the pinned environment, unless it already runs in it.

    Must run before NumPy, SciPy or OpenBLAS are loaded: they read these
    settings once, and glibc reads its tunables only when a process starts.
    """
    wanted = settings(os.environ)
    if all(os.environ.get(key) == value for key, value in wanted.items()):
        os.environ.pop(_REEXECUTED, None)  # so the processes this one starts check for themselves
        return
    if os.environ.get(_REEXECUTED):
        raise SystemExit(f"the pinned numerical environment did not take hold; set {SWITCH}=native to skip it")
    sys.stdout.flush()
    sys.stderr.flush()
    # sys.orig_argv keeps `-m <package>` or the console script's path, as the user ran it.
    environ = {**os.environ, **wanted, _REEXECUTED: "1"}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], environ)


def describe() -> dict[str, object]:
    """The numerical environment for the model card: the same on every x86-64 machine under the pin.

    Besides the settings, it records what the loaded BLAS and OpenMP libraries
    report (kernel family, threads), which shows that the pin took hold.
    """
    from threadpoolctl import threadpool_info  # a scikit-learn dependency

    pinned = settings(os.environ)
    pinned.pop("GLIBC_TUNABLES", None)  # a user's other tunables are theirs, not the model's
    libraries = sorted(
        (
            {key: info[key] for key in ("internal_api", "version", "architecture", "num_threads") if info.get(key)}
            for info in threadpool_info()
        ),
        key=lambda info: sorted(info.items()),
    )
    described: dict[str, object] = {"mode": mode(), "settings": dict(sorted(pinned.items())), "libraries": libraries}
    if pinned and is_x86_64():
        described["glibc_hwcaps_masked"] = list(_GLIBC_MASKED)
    return described


def _parallel_params(model: Any) -> dict[str, Any]:
    """The model's `n_jobs` parameters (nested ones included) that are not 1."""
    return {key: value for key, value in model.get_params().items() if key.endswith("n_jobs") and value != 1}


def use_one_prediction_worker(model: Any) -> None:
    """Set every `n_jobs` of a model that is loaded only to predict to 1, once (see `one_prediction_worker`).

    The store does this when it loads a model, so that serving skips the
    context manager's get_params/set_params on every call (about 1.5 ms).
    """
    parallel = _parallel_params(model)
    if parallel:
        model.set_params(**dict.fromkeys(parallel, 1))


@contextlib.contextmanager
def one_prediction_worker(model: Any) -> Iterator[None]:
    """Predict with one joblib worker, then restore the model's `n_jobs`.

    A forest adds its trees' probabilities into one array in the order its
    threads finish, so with n_jobs > 1 the same model scores the same rows
    differently in the last bit from run to run (measured: a random forest's
    predictions differed between three runs on one machine). Fitting in
    parallel is deterministic and keeps its n_jobs.
    """
    parallel = _parallel_params(model)
    model.set_params(**dict.fromkeys(parallel, 1))
    try:
        yield
    finally:
        model.set_params(**parallel)
