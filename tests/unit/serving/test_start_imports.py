"""What `serve` imports before it loads the model: only what a request needs (issue 19's start-to-ready).

scikit-learn and SciPy come with the model when it is loaded (the model is made
of them); the rest of these are never needed to serve. Each check runs in a
fresh process, since this one has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

from lockstep import PACKAGE

# Importing scipy.stats alone takes 0.6 s; scikit-learn imports it, and skops lists every estimator.
NOT_BEFORE_THE_MODEL = ("scipy", "sklearn", "skops", "matplotlib", "pandera", "dvc", "gto", "yaml", "pyarrow.dataset")


def _imported_by(code: str) -> set[str]:
    """The modules (and their top-level packages) a fresh process has imported after running `code`."""
    report = "import json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", f"{code}\n{report}"], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout)
    return set(modules) | {name.split(".")[0] for name in modules}


def test_the_server_imports_nothing_a_request_does_not_need() -> None:
    code = f"import {PACKAGE}.cli, {PACKAGE}.serving.server\n{PACKAGE}.cli.build_parser()"
    assert sorted(set(NOT_BEFORE_THE_MODEL) & _imported_by(code)) == []


def test_the_process_the_command_re_executes_imports_no_library() -> None:
    """`run` pins the process by re-executing it: what it imported before is thrown away."""
    imported = _imported_by(f"import {PACKAGE}.cli")
    assert sorted({"numpy", "pandas", "pydantic", "yaml"} & imported) == []
    assert f"{PACKAGE}.cli.stages" not in imported
