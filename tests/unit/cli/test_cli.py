from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lockstep.cli import main
from lockstep.cli.stages import STAGES

from tests.conftest import PACKAGE, REPO_ROOT, tool_env


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.cli", *args], cwd=cwd, env=tool_env(), capture_output=True, text=True
    )


def test_help_lists_every_stage() -> None:
    result = run_cli("--help", cwd=REPO_ROOT)
    assert result.returncode == 0
    for stage in [*STAGES, "params"]:
        assert stage in result.stdout


def test_wrong_argument_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("train", "--epochs", "3", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --epochs 3" in result.stderr
    assert run_cli("deploy", cwd=tmp_path).returncode == 2


def test_stage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("prepare", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"{PACKAGE} prepare: error: params.yaml not found: run `make params` to compose it from conf/\n"
    )


def test_stage_reports_the_missing_input_stage(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text((REPO_ROOT / "params.yaml").read_text())
    result = run_cli("prepare", cwd=tmp_path)
    assert result.returncode == 2
    assert "data/raw/dataset.parquet not found: run the ingest stage first" in result.stderr
    assert "Traceback" not in result.stderr


def test_params_check_detects_a_stale_params_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert main(["params", "--check"]) == 0
    assert main(["params", "--check", "model=random_forest"]) == 2


def test_a_full_disk_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import errno

    def full_disk(frame: object, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(
        (REPO_ROOT / "params.yaml").read_text().replace("n_rows: 20000", "n_rows: 50")
    )
    monkeypatch.setattr(f"{PACKAGE}.io.write_parquet", full_disk)  # what the ingest stage writes with
    assert main(["ingest"]) == 2
    assert capsys.readouterr().err == (
        f"{PACKAGE} ingest: error: data/raw/dataset.parquet: No space left on device; free some disk space and re-run\n"
    )


def test_a_yaml_error_names_the_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import shutil

    shutil.copytree(REPO_ROOT / "conf", tmp_path / "conf")
    (tmp_path / "conf" / "model" / "ridge.yaml").write_text("_target_: sklearn.linear_model.Ridge\nalpha: [1, 2\n")
    monkeypatch.chdir(tmp_path)
    assert main(["params", "model=ridge"]) == 2
    assert capsys.readouterr().err == (
        f"{PACKAGE} params: error: cannot compose conf/: conf/model/ridge.yaml, line 3: while parsing a flow "
        "sequence: expected ',' or ']', but got '<stream end>'; fix the YAML\n"
    )
    assert not (tmp_path / "params.yaml").exists()
