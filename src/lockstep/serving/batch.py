"""Batch scoring: score CSV or Parquet files with a model version, in record batches.

Memory stays flat at any input size: each file is read as a stream of record
batches, each batch is checked against the contract, scored and appended to
the output. A row that breaks the contract goes to the rejects file with its
reason; it is never coerced. Both outputs appear only when the whole run
succeeded (they are written to temporary files and renamed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..config import Task
from ..contract.model_contract import ModelContract
from ..contract.outputs import score_columns
from ..contract.rows import CheckedRows, check_rows
from ..errors import PipelineError
from ..io import atomic_path
from ..registry.store import ModelVersion

log = logging.getLogger(__name__)
FORMATS = (".csv", ".parquet")
BATCH_ROWS = 65_536
REJECT_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("row", pa.int64()),
        ("fields", pa.string()),
        ("rules", pa.string()),
        ("reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class BatchSummary:
    """What a run scored and refused."""

    files: int
    rows: int
    scored: int
    rejected: int


def input_files(source: Path) -> list[Path]:
    """`source` itself, or the CSV and Parquet files in the folder, in name order."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix in FORMATS and p.is_file())
        if not files:
            raise PipelineError(f"{source} holds no .csv or .parquet file to score")
        return files
    if not source.is_file():
        raise PipelineError(f"{source} not found: give a .csv or .parquet file, or a folder of them")
    if source.suffix not in FORMATS:
        raise PipelineError(f"{source}: cannot score a {source.suffix or 'suffix-less'} file; use .csv or .parquet")
    return [source]


def output_schema(loaded: ModelVersion, id_type: pa.DataType) -> pa.Schema:
    """The output's columns: the id, the scores, the label, and which model made them."""
    contract = loaded.contract
    label = pa.float64() if contract.task == Task.REGRESSION else pa.from_numpy_dtype(loaded.model.classes_.dtype)
    return pa.schema(
        [(contract.id_column or "row", id_type)]
        + [(name, pa.float64()) for name in score_columns(contract)]
        + [("label", label), ("model_version", pa.string()), ("model_sha256", pa.string())]
    )


def _record_batches(path: Path, contract: ModelContract, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's record batches, after checking its columns: every feature present, nothing unknown.

    Read one Parquet row group or one CSV block at a time, never ahead (a dataset
    scanner buffers whole files when scoring is slower than reading): memory stays
    flat at any file size.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if path.suffix == ".csv":
            reader = pacsv.open_csv(path, convert_options=_csv_options(contract))
            names = reader.schema.names
        else:
            parquet = pq.ParquetFile(path)
            names = parquet.schema_arrow.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise PipelineError(f"{path} cannot be read as {path.suffix[1:]}: {str(exc).splitlines()[0]}") from None
    known = {*contract.feature_names, *contract.dropped, contract.target, contract.id_column}
    unknown = [name for name in names if name not in known]
    missing = [name for name in contract.feature_names if name not in names]
    if missing or unknown:
        problem = (
            f"lacks the model's columns {missing}" if missing else f"has columns the model does not know {unknown}"
        )
        raise PipelineError(f"{path} {problem}; the model expects {contract.feature_names}")
    wanted = [name for name in names if name != contract.target and name not in contract.dropped]
    try:
        if path.suffix != ".csv":
            yield from parquet.iter_batches(batch_size=batch_rows, columns=wanted)
            return
        for block in reader:
            block = block.select(wanted)
            for start in range(0, block.num_rows, batch_rows):
                yield block.slice(start, batch_rows)
    except pa.ArrowInvalid as exc:
        raise PipelineError(f"{path} cannot be read: {str(exc).splitlines()[0]}") from None


def arrow_to_numpy(column: pa.Array) -> np.ndarray:
    """An Arrow column as NumPy, straight (a pandas frame of Arrow strings costs more than the scoring).

    Text becomes an object array of `str` (None where null). Through a
    dictionary: each distinct value becomes one Python string, shared by its
    rows, instead of one string per row.
    """
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column.to_numpy(zero_copy_only=False)
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column)
    values = np.append(encoded.dictionary.to_numpy(zero_copy_only=False), None)  # code -1 (null) picks None
    return values[encoded.indices.fill_null(-1).to_numpy()]


def _csv_options(contract: ModelContract) -> Any:
    """Read every model column of a CSV as text: the contract decides what a value may be, not Arrow's guess."""
    import pyarrow.csv as pacsv

    columns = [*contract.feature_names, *([contract.id_column] if contract.id_column else [])]
    return pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=True)


def _rejects(checked: CheckedRows, file: Path, first_row: int) -> pa.Table:
    by_row: dict[int, list[Any]] = {}
    for problem in checked.problems:
        by_row.setdefault(problem.row, []).append(problem)
    rows = sorted(by_row)
    return pa.table(
        {
            "file": [file.name] * len(rows),
            "row": [first_row + row for row in rows],
            "fields": [",".join(dict.fromkeys(p.field for p in by_row[row])) for row in rows],
            "rules": [",".join(dict.fromkeys(p.rule for p in by_row[row])) for row in rows],
            "reason": ["; ".join(p.message for p in by_row[row]) for row in rows],
        },
        schema=REJECT_SCHEMA,
    )


def score_batch(
    batch: Mapping[str, np.ndarray], loaded: ModelVersion, ids: np.ndarray, id_type: pa.DataType, text: bool
) -> tuple[pa.Table, CheckedRows]:
    """Check one batch (arrays by column) against the contract and score the rows that pass.

    The result is a table of the output schema: the id, the scores, the label, the model's version and hash.
    """
    contract = loaded.contract
    checked = check_rows(batch, contract, text=text)
    if len(checked.positions):
        scored = loaded.predict(checked.columns)
    else:  # every row refused: nothing to predict (an estimator refuses zero rows)
        scored = {name: np.empty(0) for name in [*score_columns(contract), "label"]}
    rows = len(checked.positions)
    made_by = [pa.repeat(pa.scalar(loaded.version), rows), pa.repeat(pa.scalar(loaded.sha256), rows)]
    columns = [ids[checked.positions], *scored.values(), *made_by]
    return pa.table(columns, schema=output_schema(loaded, id_type)), checked


def score_files(
    source: Path, loaded: ModelVersion, output: Path, rejects: Path, batch_rows: int = BATCH_ROWS
) -> BatchSummary:
    """Score every row of `source` into `output` (Parquet or CSV), refused rows into `rejects`."""
    contract = loaded.contract
    files = input_files(source)
    totals = {"rows": 0, "scored": 0, "rejected": 0}
    with ExitStack() as stack:
        out_tmp = stack.enter_context(atomic_path(output))
        rejects_tmp = stack.enter_context(atomic_path(rejects))
        writers = _Writers(out_tmp, rejects_tmp, stack)
        for path in files:
            offset = 0
            for batch in _record_batches(path, contract, batch_rows):
                columns = {name: arrow_to_numpy(batch.column(name)) for name in batch.schema.names}
                has_id = contract.id_column is not None and contract.id_column in columns
                ids = columns[contract.id_column] if has_id else np.arange(offset, offset + batch.num_rows)
                id_type = batch.schema.field(contract.id_column).type if has_id else pa.int64()
                scored, checked = score_batch(columns, loaded, ids, id_type, text=path.suffix == ".csv")
                writers.write_output(scored, path)
                writers.write_rejects(_rejects(checked, path, offset))
                totals["rows"] += batch.num_rows
                totals["scored"] += scored.num_rows
                totals["rejected"] += batch.num_rows - scored.num_rows
                offset += batch.num_rows
        if writers.output is None:  # no rows at all: still a well-formed, empty output
            writers.write_output(output_schema(loaded, pa.string()).empty_table())
    return BatchSummary(files=len(files), **totals)


class _Writers:
    """The output and rejects writers, opened on their first table, Parquet or CSV by suffix.

    They are closed by `stack` before the temporary files are renamed into place.
    """

    def __init__(self, output: Path, rejects: Path, stack: ExitStack) -> None:
        self.paths = {"output": output, "rejects": rejects}
        self.stack = stack
        self.output: Any = None
        self.schema: pa.Schema | None = None
        self.rejects = self._open(rejects, REJECT_SCHEMA)  # written even when nothing is refused

    def write_output(self, table: pa.Table, source: Path | None = None) -> None:
        """Append `table`; the first table fixes the schema (ids of later files are cast to its id type)."""
        if self.output is None:
            self.output = self._open(self.paths["output"], table.schema)
            self.schema = table.schema
        try:
            self.output.write_table(table.cast(self.schema))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise PipelineError(f"the ids in {source} are not of the type of the first file's ids") from None

    def write_rejects(self, table: pa.Table) -> None:
        if table.num_rows:
            self.rejects.write_table(table)

    def _open(self, path: Path, schema: pa.Schema) -> Any:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if path.suffix == ".csv":  # atomic_path keeps the target's suffix on its temporary file
            writer = pacsv.CSVWriter(path, schema)
        else:
            writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.stack.callback(writer.close)
        return writer
