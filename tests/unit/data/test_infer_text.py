"""Text in data files: a file that is not UTF-8 is named with its fix, and a column the file types as text stays text."""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockstep.data.infer import infer_columns
from lockstep.data.ingest import read_source_file
from lockstep.errors import PipelineError
from lockstep.io import write_parquet

ROWS = 60
LATIN1_ROWS = "name,city,label\nAnna,Paris,0\nJos\xe9,Z\xfcrich,1\n"
RESAVE = "save it as UTF-8 (e.g. `iconv -f {codec} -t utf-8 in.csv > out.csv`, or Excel's 'CSV UTF-8')"
EXCEL = "in Excel, save the sheet as 'CSV UTF-8 (Comma delimited)'"


def zipped(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "a,b\n1,2\n")
    return buffer.getvalue()


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1], "b": [2]}).to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            LATIN1_ROWS.encode("latin-1"),
            "it looks like Latin-1 (Windows-1252) text (byte 0xe9 at line 3, 'é'); " + RESAVE.format(codec="cp1252"),
        ),
        (
            "name,label\n\u201cquoted\u201d,1\n".encode("cp1252"),
            "it looks like Latin-1 (Windows-1252) text (byte 0x93 at line 2, '\u201c'); "
            + RESAVE.format(codec="cp1252"),
        ),
        (
            "name,label\nZ\u00fcrich,0\n".encode() + "Jos\xe9,1\n".encode("latin-1"),
            "it is mostly UTF-8, but byte 0xe9 at line 3 is not (it is 'é' in Windows-1252); "
            "fix that line and any like it, then save it as UTF-8",
        ),
        (
            b"name,label\nx\x81y,1\n",
            "it is in an encoding other than UTF-8 (byte 0x81 at line 2); " + RESAVE.format(codec="<its encoding>"),
        ),
        (
            LATIN1_ROWS.encode("utf-16"),
            "it is UTF-16 text (it starts with a UTF-16 byte-order mark); " + RESAVE.format(codec="utf-16"),
        ),
        (
            LATIN1_ROWS.encode("utf-16-be"),
            "it looks like UTF-16 text without a byte-order mark (every other byte is zero); "
            + RESAVE.format(codec="utf-16be"),
        ),
        (
            LATIN1_ROWS.encode("utf-32"),
            "it is UTF-32 text (it starts with a UTF-32 byte-order mark); " + RESAVE.format(codec="utf-32"),
        ),
        (
            gzip.compress(LATIN1_ROWS.encode()),
            "it is gzip-compressed; decompress it (e.g. `gunzip -c in.csv > out.csv`)",
        ),
        (zipped("xl/workbook.xml"), f"it is an Excel workbook (.xlsx); {EXCEL}"),
        (zipped("loans.csv"), "it is a zip archive; unzip it and set data.ingest.path to the CSV file inside"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), f"it is an Excel 97-2003 workbook (.xls); {EXCEL}"),
        (parquet_bytes(), "it is a Parquet file; rename it to end in .parquet"),
    ],
    ids=[
        "latin-1",
        "windows-1252",
        "mixed",
        "unknown",
        "utf-16",
        "utf-16 no bom",
        "utf-32",
        "gzip",
        "xlsx",
        "zip",
        "xls",
        "parquet",
    ],
)
def test_a_csv_file_that_is_not_utf8_text_is_named_with_its_fix(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "loans.csv"
    path.write_bytes(content)
    with pytest.raises(PipelineError) as error:
        read_source_file(path)
    assert str(error.value) == f"{path}: is not UTF-8 text: {message}"


def test_utf8_with_a_byte_order_mark_and_a_header_named_par1_are_read(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_bytes(codecs.BOM_UTF8 + "name,label\nZ\u00fcrich,1\n".encode())
    assert read_source_file(path).columns.tolist() == ["name", "label"]
    path.write_text("PAR1,label\n3,1\n")
    assert read_source_file(path).columns.tolist() == ["PAR1", "label"]


def zip_codes_next_to_a_date() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zip": [f"{code:05d}" for code in np.arange(ROWS) % 7 * 1013 + 2139],  # "02139", "03152", ...
            "signup": pd.date_range("2024-01-01", periods=ROWS, freq="D"),
            "x": np.arange(ROWS, dtype=float),
            "label": np.arange(ROWS) % 2,
        }
    )


def through_ingest(source: Path, tmp_path: Path) -> pd.DataFrame:
    """The table prepare reads: the source file as ingest reads it and writes the raw Parquet file."""
    raw = tmp_path / "raw" / "dataset.parquet"
    write_parquet(read_source_file(source), raw)
    return pd.read_parquet(raw)


def test_a_parquet_text_column_of_digits_stays_text(tmp_path: Path) -> None:
    source = tmp_path / "loans.parquet"
    zip_codes_next_to_a_date().to_parquet(source, index=False)
    table, decisions = infer_columns(through_ingest(source, tmp_path), skip={"label"})
    assert decisions == {
        "zip": "categorical (7 values; the file stores them as text, though all read as numbers)",
        "signup": "datetime, dropped",
        "x": "numeric",
    }
    assert table["zip"].iloc[0] == "02139"
    assert table.attrs == {}  # the declaration is applied, not handed on to the prepared sets


def test_a_parquet_text_column_of_mostly_numbers_stays_text(tmp_path: Path) -> None:
    source = tmp_path / "loans.parquet"
    frame = zip_codes_next_to_a_date().assign(zip=lambda f: f["zip"].where(f.index % 10 != 0, "K1A 0B1"))
    frame.to_parquet(source, index=False)
    _, decisions = infer_columns(through_ingest(source, tmp_path), skip={"label"})
    assert decisions["zip"] == "categorical (8 values; the file stores them as text, though most read as numbers)"


def test_a_csv_column_of_digits_is_numeric(tmp_path: Path) -> None:
    source = tmp_path / "loans.csv"
    zip_codes_next_to_a_date().to_csv(source, index=False)
    _, decisions = infer_columns(through_ingest(source, tmp_path), skip={"label"})
    assert decisions["zip"] == "numeric"  # CSV has no types: pandas reads the digits as numbers
    assert decisions["signup"] == "datetime, dropped"


def test_a_text_column_of_numbers_the_file_does_not_type_is_numeric() -> None:
    frame = zip_codes_next_to_a_date().astype({"zip": "str"})  # e.g. a CSV cut to data.ingest.n_rows
    table, decisions = infer_columns(frame, skip={"label", "signup"})
    assert decisions["zip"] == "numeric (numbers stored as text)"
    assert table["zip"].iloc[0] == 2139
