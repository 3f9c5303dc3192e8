"""A registry and a consumer for the dataset tests: two projects with bare origins, each with an S3 bucket (moto)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PACKAGE, Project, copy_project, tool_env
from tests.s3 import CREDENTIALS, s3_client

DATA = "data/source/loans.csv"
ENV = tool_env(**CREDENTIALS)


@dataclass
class World:
    """The registry and the consumer after `data use`, reproduced and pushed; the S3 endpoint."""

    registry: Project
    consumer: Project
    endpoint: str
    registry_bucket: str
    consumer_bucket: str

    @property
    def source_config(self) -> list[str]:
        return ["--source-remote-config", f"endpointurl={self.endpoint}"]


def command(project: Project, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return project.run(PACKAGE, *args, check=check, env=ENV)


def use_bucket(project: Project, bucket: str, endpoint: str) -> None:
    """Make `bucket` the project's default remote, its endpoint kept out of Git (.dvc/config.local)."""
    project.run("dvc", "remote", "add", "--force", "--default", "s3", f"s3://{bucket}/store", env=ENV)
    project.run("dvc", "remote", "modify", "--local", "s3", "endpointurl", endpoint, env=ENV)


def loans(rows: int, seed: int = 7) -> pd.DataFrame:
    from lockstep.data.synthetic import generate_credit_data

    return generate_credit_data(rows, seed)


def publish_csv(registry: Project, frame: pd.DataFrame, message: str, *publish_args: str) -> None:
    frame.to_csv(registry.root / DATA, index=False)
    registry.run("dvc", "add", "-q", DATA, env=ENV)
    registry.run("git", "add", f"{DATA}.dvc", "data/source/.gitignore")
    registry.run("git", "commit", "-q", "-m", message)
    command(registry, "data", "publish", "loans", "--path", DATA, "--push", *publish_args)


def make_world(factory: pytest.TempPathFactory, s3_endpoint: str, name: str) -> World:
    """A registry that published `loans` v1.0.0 (3,000 rows, in prod), and a consumer that uses it, pushed.

    `name` keeps this world's buckets apart from another module's on the same S3 server.
    """
    registry_bucket, consumer_bucket = f"{name}-registry", f"{name}-consumer"
    client = s3_client(s3_endpoint)
    for bucket in (registry_bucket, consumer_bucket):
        client.create_bucket(Bucket=bucket)
    registry = copy_project(factory.mktemp("registry"))
    use_bucket(registry, registry_bucket, s3_endpoint)
    registry.commit_all("Keep the data in S3")
    publish_csv(registry, loans(3000), "Loans, first cut", "--version", "1.0.0", "--stage", "prod", "--license", "CC0")

    consumer = copy_project(factory.mktemp("consumer"))
    use_bucket(consumer, consumer_bucket, s3_endpoint)
    world = World(registry, consumer, s3_endpoint, registry_bucket, consumer_bucket)
    command(consumer, "data", "use", str(registry.origin), "loans@prod", *world.source_config)
    consumer.run("dvc", "repro", env=ENV)
    consumer.commit_all("Train on loans v1.0.0")
    consumer.run("dvc", "push", env=ENV)
    consumer.run("git", "push", "-q", "origin", "main")
    return world


def clone(project: Project, destination: Path, endpoint: str) -> Project:
    """A fresh clone of the project's pushed branch, with the consumer bucket's endpoint set locally."""
    branch = project.run("git", "branch", "--show-current").stdout.strip()
    subprocess.run(["git", "clone", "-q", "-b", branch, str(project.origin), str(destination)], check=True, env=ENV)
    cloned = Project(destination, project.origin)
    cloned.run("dvc", "remote", "modify", "--local", "s3", "endpointurl", endpoint, env=ENV)
    return cloned
