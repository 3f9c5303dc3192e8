"""The model card: what the model is, what it was trained on, and how it scored.

It records a hash of the package's source instead of a Git commit: the card is
an output that gets committed, so a commit hash inside it could never match
the commit that holds it.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__, numerics
from ..contract.features import FeatureSpec
from ..data.pins import Pin
from ..io import table_sha256

LIBRARIES = ("scikit-learn", "pandas", "numpy", "skops", "dvc", "pandera")


PACKAGE_DIR = Path(__file__).resolve().parents[1]


def source_sha256(package_dir: Path = PACKAGE_DIR) -> str:
    """One hash over every Python file of the package, in path order."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """The versions of the libraries that shape the model's behaviour.

    Python is given as major.minor: uv.lock pins every library but not the
    interpreter's patch release, which must not change a committed output.
    """
    python = ".".join(platform.python_version_tuple()[:2])
    return {name: metadata.version(name) for name in LIBRARIES} | {"python": python}


def build_model_card(
    model: Any,
    features: FeatureSpec,
    metrics: dict[str, float],
    data_files: dict[str, Path],
    dataset_name: str,
    pin: Pin | None = None,
) -> dict[str, Any]:
    """The model card as a JSON-ready dict; `pin`: the published dataset version it learned from, if any."""
    estimator = model.named_steps["model"]
    return {
        "model": {
            "class": f"{type(estimator).__module__}.{type(estimator).__name__}",
            "params": {k: v for k, v in sorted(estimator.get_params().items()) if _plain(v)},
            "format": "skops",
        },
        "task": features.task,
        "target": features.target,
        "classes": features.classes,
        "features": {"numeric": features.numeric, "categorical": features.categorical},
        "data": {
            "dataset": dataset_name,
            **({"published": asdict(pin)} if pin is not None else {}),
            "files": {
                name: {"path": path.as_posix(), "sha256": table_sha256(path)} for name, path in data_files.items()
            },
        },
        "metrics": {"test": metrics},
        "code": {"version": __version__, "source_sha256": source_sha256()},
        "libraries": library_versions(),
        # The settings every stage ran under (numerics.py): with the library
        # versions, what makes these bytes the same on another machine.
        "numerics": numerics.describe(),
    }


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)
