"""DVC remotes: the local default out of the box, and S3 through a real S3 API (moto)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import Project, tool_env
from tests.s3 import BUCKET, CREDENTIALS, s3_client


def cached_outputs(project: Project) -> dict[str, str]:
    """path -> md5 of every DVC-cached output, from dvc.lock."""
    lock = yaml.safe_load(project.read("dvc.lock"))
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


def test_the_local_remote_works_out_of_the_box(reproduced: Project) -> None:
    # The template's default remote; a project created with an S3 URL keeps it as a second one.
    assert "local" in reproduced.run("dvc", "remote", "list").stdout
    reproduced.run("dvc", "push", "--run-cache", "--remote", "local")
    assert "/storage" in (reproduced.root / ".dvc" / ".gitignore").read_text()
    assert reproduced.git_status() == ""
    shutil.rmtree(reproduced.root / ".dvc" / "cache")
    shutil.rmtree(reproduced.root / "models")
    reproduced.run("git", "checkout", "--", "models")
    reproduced.run("dvc", "pull", "--run-cache", "--remote", "local")
    assert "Data and pipelines are up to date." in reproduced.run("dvc", "status").stdout


def test_push_to_s3_then_pull_into_a_second_clone(reproduced: Project, s3_endpoint: str, tmp_path: Path) -> None:
    env = tool_env(**CREDENTIALS)
    # The bucket is the session's (tests/s3.py): this test's objects go under a prefix of its own.
    remote = f"s3://{BUCKET}/{tmp_path.name}"
    reproduced.run("dvc", "remote", "add", "--force", "--default", "s3", remote, env=env)
    reproduced.run("dvc", "remote", "modify", "--local", "s3", "endpointurl", s3_endpoint, env=env)
    pushed = reproduced.run("dvc", "push", "--run-cache", env=env).stdout
    assert "pushed" in pushed
    reproduced.commit_all("Use the S3 remote")
    reproduced.run("git", "push", "-q", "origin", "main")

    objects = s3_client(s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{tmp_path.name}/")
    assert objects["KeyCount"] > 0

    clone = tmp_path / "second"
    subprocess.run(["git", "clone", "-q", str(reproduced.origin), str(clone)], check=True, env=env)
    second = Project(clone, reproduced.origin)
    assert "s3" in second.run("dvc", "remote", "default", env=env).stdout
    second.run("dvc", "remote", "modify", "--local", "s3", "endpointurl", s3_endpoint, env=env)
    second.run("dvc", "pull", "--run-cache", env=env)
    for path, md5 in cached_outputs(reproduced).items():
        assert (clone / path).exists(), path
        assert cached_outputs(second)[path] == md5
    rerun = second.run("dvc", "repro", env=env).stdout
    assert "Running stage" not in rerun
    assert second.git_status() == ""
