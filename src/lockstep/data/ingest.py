"""Ingest: produce the raw table, from the synthetic generator or the user's file."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import IngestConfig
from ..errors import PipelineError

log = logging.getLogger(__name__)

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
# Delimiters a CSV file may use by mistake, and how a message names them.
DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes"))


def _refuse_folder(path: Path) -> None:
    if path.is_dir():
        raise PipelineError(f"{path}: is a folder; set data.ingest.path to a .csv or .parquet file in it")


def read_source_file(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, failing with a clear message if it is unusable."""
    _refuse_folder(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise PipelineError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise PipelineError(f"{path}: data file not found; put it there or fix data.ingest.path")
    if path.stat().st_size == 0:
        raise PipelineError(f"{path}: data file is empty")
    try:
        frame = reader(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PipelineError(f"{path}: cannot read data file: {first_line}") from None
    if frame.empty:
        raise PipelineError(f"{path}: data file has no rows")
    if reader is pd.read_csv:
        _check_csv_header(path, frame)
    return frame


def _check_csv_header(path: Path, frame: pd.DataFrame) -> None:
    """Refuse what pandas reads without complaint: another delimiter, or a repeated column name."""
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for delimiter, name in DELIMITERS:
            if delimiter in header:
                raise PipelineError(
                    f"{path}: one column named {header[:40]!r}: the file looks separated by {name}, not commas; "
                    "save it comma-separated"
                )
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])  # as written: pandas renames a second `age` to `age.1`
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise PipelineError(f"{path}: column {repeated[0]!r} appears more than once in the header; rename the copies")


def load_raw_data(cfg: IngestConfig) -> pd.DataFrame:
    """Return the raw table that `cfg` describes."""
    if cfg.source == "synthetic":
        from .synthetic import generate_credit_data

        assert cfg.n_rows is not None
        log.info("generating %s synthetic loan applications (seed %s)", f"{cfg.n_rows:,}", cfg.seed)
        return generate_credit_data(cfg.n_rows, cfg.seed)
    assert cfg.path is not None
    path = Path(cfg.path)
    _refuse_folder(path)
    if paths.SOURCE_DIR.resolve() not in path.resolve().parents:
        raise PipelineError(
            f"{path}: data files must live under {paths.SOURCE_DIR}/ so DVC sees when they change; move it there"
        )
    log.info("reading %s", path)
    frame = read_source_file(path)
    if cfg.n_rows:
        frame = frame.head(cfg.n_rows)
    return frame


def run_ingest(cfg: IngestConfig, output: Path = paths.RAW_DATASET) -> pd.DataFrame:
    """Ingest stage: load the raw table and write it as Parquet."""
    from ..io import write_parquet

    frame = load_raw_data(cfg)
    write_parquet(frame, output)
    log.info("wrote %s rows x %s columns to %s", f"{len(frame):,}", frame.shape[1], output)
    return frame
