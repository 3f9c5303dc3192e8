"""Deterministic, atomic writers: an output is either complete or absent.

Each writer writes to a temporary file in the target's folder and renames it
into place, so a failure never leaves a half-written output behind. (DVCLive
writes metrics.json and the plot tables itself, into a folder that evaluate
then moves into place the same way.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FLOAT_DIGITS = 6
PANDAS_ATTRS = b"PANDAS_ATTRS"  # where pandas keeps a DataFrame's attrs in a Parquet file


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes files private; outputs are not
        if path.is_dir():  # the other engine's partitioned table (compute.engine)
            shutil.rmtree(path)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; swap it in on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():  # the other engine's single file (compute.engine)
            path.unlink()
        tmp.replace(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def round_floats(value: Any, digits: int = FLOAT_DIGITS) -> Any:
    """Round every float in a nested structure; NaN and infinities become None."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round_floats(v, digits) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return round_floats(value.item(), digits)
    return value


def dumps_json(data: Any) -> str:
    """Serialise `data` the way our JSON outputs are written: sorted keys, rounded floats."""
    return json.dumps(round_floats(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(data: Any, path: Path) -> None:
    """Write `data` as deterministic JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(dumps_json(data), encoding="utf-8")


def read_json(path: Path) -> Any:
    """Read a JSON file written by `write_json`."""
    return json.loads(path.read_text(encoding="utf-8"))


def write_parquet(frame: pd.DataFrame, path: Path, row_group_size: int | None = None) -> None:
    """Write a DataFrame as Parquet, atomically, with no index column; equal rows give equal bytes.

    As `frame.to_parquet` does (its attrs kept as pandas keeps them), but with each column in one
    chunk: a text column concatenated from parts keeps their Arrow chunks, and the writer cuts its
    pages where they end, so the same rows from other parts (compute=dask) would give other bytes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
    if frame.attrs:
        table = table.replace_schema_metadata({**table.schema.metadata, PANDAS_ATTRS: json.dumps(frame.attrs)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)


def file_md5(path: Path) -> str | None:
    """The md5 of a file's bytes, as DVC records it; None if the file is absent."""
    if not path.is_file():
        return None
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_sha256(path: Path) -> str:
    """The SHA-256 of a table: a file's bytes, or a partitioned table's files' names and hashes, in name order."""
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for part in sorted(path.iterdir()):
        digest.update(f"{part.name} {file_sha256(part)}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
