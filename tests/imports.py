"""The package's import graph, read from the code itself (`ast`), for the layer and stage-dependency tests.

Every `import` and `from ... import` inside the package is an edge, those in a
function body too: a stage's lazy import still runs when the stage does.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from tests.conftest import PACKAGE, REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "src" / PACKAGE


def module_file(module: str) -> Path:
    """The file of a dotted module of the package (`pkg.data.ingest` -> src/pkg/data/ingest.py)."""
    parts = module.split(".")[1:]
    folder = PACKAGE_DIR.joinpath(*parts)
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")


def module_name(path: Path) -> str:
    """The dotted name of a file of the package."""
    relative = path.relative_to(PACKAGE_DIR).with_suffix("")
    parts = [PACKAGE, *relative.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> list[str]:
    """Every module of the package."""
    return sorted(module_name(path) for path in PACKAGE_DIR.rglob("*.py"))


def _package_of(module: str) -> str:
    return module if module_file(module).name == "__init__.py" else module.rpartition(".")[0]


@cache
def imports_of(module: str, top_level_only: bool = False) -> frozenset[str]:
    """The package's modules that `module` imports (at its top level only, or anywhere in it)."""
    tree = ast.parse(module_file(module).read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module).split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.split(".")[0] == PACKAGE:
                target = node.module
            else:
                continue
            found.add(target)
            for alias in node.names:  # `from . import paths` names a module, `from .x import y` a name in one
                candidate = f"{target}.{alias.name}"
                if module_file(candidate).is_file():
                    found.add(candidate)
    resolved = {name for name in found if module_file(name).is_file()}
    # Importing pkg.a.b runs pkg/__init__ and pkg/a/__init__ first.
    parents = {".".join(name.split(".")[:i]) for name in resolved for i in range(1, name.count(".") + 1)}
    return frozenset(resolved | parents)


def closure(roots: list[str], top_level_only: bool = False) -> set[str]:
    """Every module of the package that importing `roots` can run, transitively."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(imports_of(module, top_level_only) - seen)
        todo.extend({".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)} - seen)
    return seen
