"""Ingest: produce the raw table, from the synthetic generator or the user's file."""

from __future__ import annotations

import codecs
import csv
import logging
import zipfile
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import IngestConfig
from ..errors import PipelineError
from .infer import declare_text
from .pins import check_pinned_bytes

log = logging.getLogger(__name__)

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
# Delimiters a CSV file may use by mistake, and how a message names them.
DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes"))
RESAVE = "save it as UTF-8 (e.g. `iconv -f {codec} -t utf-8 in.csv > out.csv`, or Excel's 'CSV UTF-8')"
EXCEL = "in Excel, save the sheet as 'CSV UTF-8 (Comma delimited)'"
ZIP, PARQUET = b"PK\x03\x04", b"PAR1"
# How a .csv file that is not text starts: what it is, and how to make a CSV of it. UTF-32's
# byte-order marks come before UTF-16's, which begin the same way.
SIGNATURES = (
    *(
        (bom, "UTF-32 text (it starts with a UTF-32 byte-order mark)", RESAVE.format(codec="utf-32"))
        for bom in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    ),
    *(
        (bom, "UTF-16 text (it starts with a UTF-16 byte-order mark)", RESAVE.format(codec="utf-16"))
        for bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ),
    (b"\x1f\x8b", "gzip-compressed", "decompress it (e.g. `gunzip -c in.csv > out.csv`)"),
    (ZIP, "a zip archive", "unzip it and set data.ingest.path to the CSV file inside"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)", EXCEL),
    (PARQUET, "a Parquet file", "rename it to end in .parquet"),
)


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
    if reader is pd.read_csv:
        _refuse_binary(path)
    try:
        frame = reader(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, ValueError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise PipelineError(f"{path}: is not UTF-8 text: {describe_encoding(path.read_bytes())}") from None
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PipelineError(f"{path}: cannot read data file: {first_line}") from None
    if frame.empty:
        raise PipelineError(f"{path}: data file has no rows")
    if reader is pd.read_csv:
        _check_csv_header(path, frame)
    else:
        declare_text(frame, parquet_text_columns(path, frame))
    return frame


def _refuse_binary(path: Path) -> None:
    """Refuse a .csv file whose first bytes show it is not UTF-8 text, naming what it is and the fix."""
    with path.open("rb") as handle:
        head = handle.read(4096)
        handle.seek(-min(4, len(head)), 2)
        tail = handle.read()
    for signature, kind, fix in SIGNATURES:
        if not head.startswith(signature) or (signature == PARQUET and tail != PARQUET):
            continue
        if signature == ZIP and _is_workbook(path):
            kind, fix = "an Excel workbook (.xlsx)", EXCEL
        raise PipelineError(f"{path}: is not UTF-8 text: it is {kind}; {fix}")
    if b"\x00" in head:  # UTF-8 text has no zero bytes; UTF-16 text has one in every other byte
        order = "le" if head[1::2].count(0) > head[::2].count(0) else "be"
        raise PipelineError(
            f"{path}: is not UTF-8 text: it looks like UTF-16 text without a byte-order mark "
            f"(every other byte is zero); {RESAVE.format(codec=f'utf-16{order}')}"
        )


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def describe_encoding(data: bytes) -> str:
    """What text that is not UTF-8 looks like, where it first fails, and how to save it as UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
    else:  # it changed since pandas read it
        return "it reads as UTF-8 now; run the stage again"
    line = data.count(b"\n", 0, offset) + 1
    where = f"byte 0x{data[offset]:02x} at line {line}"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return f"it is in an encoding other than UTF-8 ({where}); {RESAVE.format(codec='<its encoding>')}"
    char = data[offset : offset + 1].decode("cp1252")
    if any(ord(c) > 127 for c in data.decode("utf-8", errors="ignore")):  # some of it is UTF-8 already
        fix = "fix that line and any like it, then save it as UTF-8"
        return f"it is mostly UTF-8, but {where} is not (it is {char!r} in Windows-1252); {fix}"
    return f"it looks like Latin-1 (Windows-1252) text ({where}, {char!r}); {RESAVE.format(codec='cp1252')}"


def parquet_text_columns(path: Path, frame: pd.DataFrame) -> list[str]:
    """The columns a Parquet file types as text: strings, or a dictionary of strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def is_text(kind: pa.DataType) -> bool:
        if pa.types.is_dictionary(kind):
            return is_text(kind.value_type)
        return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)

    return [field.name for field in pq.read_schema(path) if is_text(field.type) and field.name in frame.columns]


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


def source_path(cfg: IngestConfig) -> Path:
    """The data file `cfg` names, once it is known to be one DVC tracks, with the bytes its pin promises."""
    assert cfg.path is not None
    path = Path(cfg.path)
    _refuse_folder(path)
    if paths.SOURCE_DIR.resolve() not in path.resolve().parents:
        raise PipelineError(
            f"{path}: data files must live under {paths.SOURCE_DIR}/ so DVC sees when they change; move it there"
        )
    pin = check_pinned_bytes(path)  # a corrupted copy of a published version stops here
    log.info("reading %s%s", path, f" ({pin.label} from {pin.repo})" if pin else "")
    return path


def load_raw_data(cfg: IngestConfig) -> pd.DataFrame:
    """Return the raw table that `cfg` describes."""
    if cfg.source == "synthetic":
        from .synthetic import generate_credit_data

        assert cfg.n_rows is not None
        log.info("generating %s synthetic loan applications (seed %s)", f"{cfg.n_rows:,}", cfg.seed)
        return generate_credit_data(cfg.n_rows, cfg.seed)
    frame = read_source_file(source_path(cfg))
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
