"""Model files: skops (not pickle), written byte-for-byte reproducibly.

skops names the arrays inside its zip after Python object ids and stamps each
entry with the current time, so two identical models give different files.
`canonical_skops` renumbers the ids in order of appearance and fixes the
timestamps, which is what lets `dvc.lock` stay the same from run to run.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..contract.trust import BASE_LIBRARIES, resolve_trusted_class
from ..errors import PipelineError
from ..io import atomic_path, dumps_json
from .skops_trust import add_default_trust, import_skops

# skops loaders that produce a callable: a function, a partial, a bound method, an operator.
CALLABLE_LOADERS = frozenset({"FunctionNode", "PartialNode", "MethodNode", "OperatorFuncNode"})
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ID_FILE = re.compile(r"^(\d+)(\.\w+)$")


def canonical_skops(raw: bytes) -> bytes:
    """Rewrite a skops file so that equal models give equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    names = set(source.namelist())
    new_ids: dict[int, int] = {}
    renamed: dict[str, str] = {}

    def renumber(old: int) -> int:
        return new_ids.setdefault(old, len(new_ids))

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        result = {}
        for key, value in node.items():
            match = ID_FILE.match(value) if key == "file" and isinstance(value, str) else None
            if key == "__id__" and isinstance(value, int):
                result[key] = renumber(value)
            elif match and value in names:
                renamed[value] = f"{renumber(int(match.group(1)))}{match.group(2)}"
                result[key] = renamed[value]
            else:
                result[key] = walk(value)
        return result

    schema = walk(json.loads(source.read("schema.json")))
    entries = {renamed.get(name, name): source.read(name) for name in names if name != "schema.json"}
    entries["schema.json"] = json.dumps(schema, indent=2).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_STORED  # DEFLATE output varies with the zlib build
            info.external_attr = 0o644 << 16
            target.writestr(info, entries[name])
    return out.getvalue()


def save_model(model: Any, path: Path, types_file: Path, libraries: Iterable[str] = BASE_LIBRARIES) -> list[str]:
    """Write `model` as a canonical skops file and record the types it holds; return them.

    The types are those skops does not trust by default (`get_untrusted_types`).
    They pass the same checks as at load time, so a model that could not be
    loaded is refused here, at train time.
    """
    data = canonical_skops(import_skops().dumps(model))
    types = trusted_types(data, path, libraries)
    with atomic_path(path) as tmp, atomic_path(types_file) as tmp_types:
        tmp.write_bytes(data)
        tmp_types.write_text(dumps_json({"format": "skops", "trusted_types": types}), encoding="utf-8")
    return types


def load_model(path: Path, types_file: Path, libraries: Iterable[str] = BASE_LIBRARIES) -> Any:
    """Load a skops model that holds exactly the types recorded at train time, each of them trusted.

    Nothing is imported from a type's module until the file's types equal the
    record, and then only from the trusted libraries.
    """
    if not path.is_file():
        raise PipelineError(f"{path} not found: run the train stage first (`dvc repro train`)")
    data = path.read_bytes()
    _refuse_callables(data, path)
    found = _untrusted_types(data, path)
    recorded = sorted(recorded_types(types_file))
    if found != recorded:
        differ = sorted(set(found) ^ set(recorded))
        raise PipelineError(
            f"{path} holds types that differ from those recorded in {types_file} at train time (e.g. {differ[0]}): "
            "restore both (`dvc checkout`) or retrain"
        )
    trusted_types(data, path, libraries)
    return import_skops().loads(data, trusted=found)


def recorded_types(types_file: Path) -> list[str]:
    """The trusted types recorded next to a model at train time."""
    if not types_file.is_file():
        raise PipelineError(f"{types_file} not found: the train stage records it next to the model; re-run it")
    try:
        types = json.loads(types_file.read_text(encoding="utf-8"))["trusted_types"]
    except (ValueError, KeyError, TypeError):
        types = None
    if not (isinstance(types, list) and all(isinstance(name, str) for name in types)):
        raise PipelineError(f"{types_file} is not a record of trusted types: re-run the train stage")
    return types


def trusted_types(data: bytes, path: Path, libraries: Iterable[str] = BASE_LIBRARIES) -> list[str]:
    """The types a skops file holds beyond skops' defaults, once each is checked; PipelineError for the first bad one.

    Functions (a FunctionTransformer's payload, a partial, a bound method) are
    never trusted, even those skops trusts by default. Every other type must be
    a class defined in a trusted library.
    """
    _refuse_callables(data, path)
    types = _untrusted_types(data, path)
    for name in types:
        try:
            resolve_trusted_class(name, libraries, "type")
        except PipelineError as exc:
            raise PipelineError(f"{path} holds a type that is not trusted: {exc}") from None
    return types


def _refuse_callables(data: bytes, path: Path) -> None:
    for loader, name in _callables(_schema(data, path)):
        raise PipelineError(
            f"{path} holds the function {name} ({loader}): functions, such as FunctionTransformer payloads, "
            "are never loaded; use transformer classes in the Pipeline"
        )


def _schema(data: bytes, path: Path) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError):
        raise PipelineError(
            f"{path} is not a skops model file (truncated or corrupt): restore it (`dvc checkout`) or retrain"
        ) from None


def _untrusted_types(data: bytes, path: Path) -> list[str]:
    """The types of a skops file that skops does not trust by default (as `get_untrusted_types` gives them).

    skops is told first which of them it would trust with its full lists (see skops_trust), then asked again.
    """
    found = _ask_skops(data, path)
    return _ask_skops(data, path) if add_default_trust(found) else found


def _ask_skops(data: bytes, path: Path) -> list[str]:
    try:
        return sorted(import_skops().get_untrusted_types(data=data))
    except Exception as exc:  # skops raises many kinds of error on a malformed schema
        raise PipelineError(f"{path} has a malformed skops schema ({type(exc).__name__}): retrain") from None


def _callables(node: Any) -> Iterator[tuple[str, str]]:
    """(loader, name) of every node in a skops schema that loads a callable rather than data or a class."""
    if isinstance(node, dict):
        loader = node.get("__loader__")
        if loader in CALLABLE_LOADERS:
            yield loader, f"{node.get('__module__')}.{node.get('__class__')}"
        for value in node.values():
            yield from _callables(value)
    elif isinstance(node, list):
        for value in node:
            yield from _callables(value)
