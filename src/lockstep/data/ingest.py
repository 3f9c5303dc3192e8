"""Ingest: produce the raw table, from the synthetic generator or the user's file."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import IngestConfig
from ..errors import PipelineError

log = logging.getLogger(__name__)

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


def read_source_file(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, failing with a clear message if it is unusable."""
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
    return frame


def load_raw_data(cfg: IngestConfig) -> pd.DataFrame:
    """Return the raw table that `cfg` describes."""
    if cfg.source == "synthetic":
        from .synthetic import generate_credit_data

        assert cfg.n_rows is not None
        log.info("generating %s synthetic loan applications (seed %s)", f"{cfg.n_rows:,}", cfg.seed)
        return generate_credit_data(cfg.n_rows, cfg.seed)
    assert cfg.path is not None
    path = Path(cfg.path)
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
