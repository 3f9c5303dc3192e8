"""Bring your own data, in the forms it really comes in: a CSV file that is not UTF-8, and a Parquet
file whose text column holds only digits (zip codes), through the real pipeline."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import PACKAGE, Project, stage_outputs
from tests.integration.test_byo_data import exp_run

ROWS = 300
ROWS_TEXT = "name,city,label\n" + "".join(f"Jos\u00e9,Z\u00fcrich,{i % 2}\n" for i in range(ROWS))
RESAVE = "save it as UTF-8 (e.g. `iconv -f {codec} -t utf-8 in.csv > out.csv`, or Excel's 'CSV UTF-8')"


def zip_codes_next_to_a_date() -> pd.DataFrame:
    """Zip codes stored as strings, a signup date, a number and a 0/1 label."""
    rng = np.random.default_rng(0)
    codes = rng.choice(["02139", "10001", "94105", "60614", "73301"], size=ROWS)
    return pd.DataFrame(
        {
            "zip": codes,
            "signup": pd.date_range("2024-01-01", periods=ROWS, freq="D"),
            "income": rng.normal(50_000, 10_000, ROWS).round(2),
            "defaulted": (codes == "10001") | (rng.random(ROWS) < 0.2),
        }
    )


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


def test_a_parquet_text_column_of_zip_codes_stays_categorical(reproduced: Project) -> None:
    zip_codes_next_to_a_date().to_parquet(reproduced.root / "data" / "source" / "loans.parquet", index=False)
    run = exp_run(reproduced, "data=file", "data.ingest.path=data/source/loans.parquet", "data.target=defaulted")
    notice = "categorical (5 values; the file stores them as text, though all read as numbers)"
    assert f"column zip: {notice}" in run.stdout
    features = json.loads(reproduced.read("data/prepared/features.json"))
    assert features["categorical"] == ["zip"]
    assert features["numeric"] == ["income"]
    assert features["dropped"] == ["signup"]
    inferred = json.loads(reproduced.read("metrics/data.json"))["inferred"]["columns"]
    assert inferred == {"zip": notice, "signup": "datetime, dropped", "income": "numeric"}
    assert set(pd.read_parquet(reproduced.root / "data" / "prepared" / "train.parquet")["zip"]) <= {
        "02139",
        "10001",
        "94105",
        "60614",
        "73301",
    }
    assert json.loads(reproduced.read("metrics/metrics.json"))["roc_auc"] > 0.6
