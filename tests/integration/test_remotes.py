"""DVC remotes: the local default out of the box, and S3 through a real S3 API (moto)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from tests.conftest import Project, tool_env

BUCKET = "tests-remote"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def cached_outputs(project: Project) -> dict[str, str]:
    """path -> md5 of every DVC-cached output, from dvc.lock."""
    lock = yaml.safe_load(project.read("dvc.lock"))
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage["outs"]}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, **_boto_credentials()).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


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
    reproduced.run("dvc", "remote", "add", "--force", "--default", "s3", f"s3://{BUCKET}/project", env=env)
    reproduced.run("dvc", "remote", "modify", "--local", "s3", "endpointurl", s3_endpoint, env=env)
    pushed = reproduced.run("dvc", "push", "--run-cache", env=env).stdout
    assert "pushed" in pushed
    reproduced.commit_all("Use the S3 remote")
    reproduced.run("git", "push", "-q", "origin", "main")

    objects = boto3.client("s3", endpoint_url=s3_endpoint, **_boto_credentials()).list_objects_v2(Bucket=BUCKET)
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
