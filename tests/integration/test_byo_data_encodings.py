"""Bring your own data, in the forms it really comes in: a CSV file that is not UTF-8, through the real pipeline."""

from __future__ import annotations

import gzip

import pytest
import yaml

from tests.conftest import PACKAGE, Project, stage_outputs

pytestmark = pytest.mark.integration

ROWS = 300
ROWS_TEXT = "name,city,label\n" + "".join(f"Jos\u00e9,Z\u00fcrich,{i % 2}\n" for i in range(ROWS))
RESAVE = "save it as UTF-8 (e.g. `iconv -f {codec} -t utf-8 in.csv > out.csv`, or Excel's 'CSV UTF-8')"


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (
            ROWS_TEXT.encode("latin-1"),
            "it looks like Latin-1 (Windows-1252) text (byte 0xe9 at line 2, 'é'); " + RESAVE.format(codec="cp1252"),
        ),
        (
            ROWS_TEXT.encode("utf-16"),
            "it is UTF-16 text (it starts with a UTF-16 byte-order mark); " + RESAVE.format(codec="utf-16"),
        ),
        (gzip.compress(ROWS_TEXT.encode()), "it is gzip-compressed; decompress it (e.g. `gunzip -c in.csv > out.csv`)"),
    ],
    ids=["latin-1", "utf-16", "gzip"],
)
def test_a_csv_file_that_is_not_utf8_names_its_fix(reproduced: Project, content: bytes, found: str) -> None:
    (reproduced.root / "data" / "source" / "people.csv").write_bytes(content)
    reproduced.run(PACKAGE, "params", "data=file", "data.ingest.path=data/source/people.csv", "data.target=label")
    locked_before = yaml.safe_load(reproduced.read("dvc.lock"))["stages"]["ingest"]
    result = reproduced.run("dvc", "repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if line.startswith(f"{PACKAGE} ingest: error:")]
    assert errors == [f"{PACKAGE} ingest: error: data/source/people.csv: is not UTF-8 text: {found}"], result.stdout
    assert "Traceback" not in result.stdout
    assert "codec can't decode" not in result.stdout
    assert yaml.safe_load(reproduced.read("dvc.lock"))["stages"]["ingest"] == locked_before
    for path in stage_outputs(yaml.safe_load(reproduced.read("dvc.yaml"))["stages"]["ingest"]):
        assert not (reproduced.root / path).exists(), f"{path} left behind by the failed ingest stage"
