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
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..io import atomic_path

TRUSTED_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.")
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


def save_model(model: Any, path: Path) -> None:
    """Write `model` to `path` as a canonical skops file, atomically."""
    import skops.io as sio

    with atomic_path(path) as tmp:
        tmp.write_bytes(canonical_skops(sio.dumps(model)))


def load_model(path: Path) -> Any:
    """Load a skops model, trusting only scikit-learn, NumPy and SciPy types."""
    import skops.io as sio

    if not path.is_file():
        raise PipelineError(f"{path} not found: run the train stage first (`dvc repro train`)")
    untrusted = sio.get_untrusted_types(file=path)
    unknown = [name for name in untrusted if not name.startswith(TRUSTED_MODULE_PREFIXES)]
    if unknown:
        raise PipelineError(f"{path} holds types that are not trusted: {', '.join(unknown)}")
    return sio.load(path, trusted=untrusted)
