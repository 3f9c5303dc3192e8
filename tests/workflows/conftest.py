"""A simulated GitHub: a bare origin whose main holds a reproduced pipeline pushed to S3 (moto)."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import REPO_ROOT, Project, clone_reproduced, copy_project, tool_env
from tests.workflows.harness import JobResult, Simulation, run_workflow

BUCKET = "ci-remote"
REPOSITORY = "acme/credit-risk"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
# The gate policy these scenarios are written for (a project may have chosen another metric).
GATE_POLICY = {"metric": "roc_auc", "threshold": "0.7"}
CI_VARS = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci-model-review", "AWS_REGION": "us-east-1"}


@dataclass
class World:
    """The simulated repository on GitHub, its S3 remote, and a place for runs."""

    main: Project
    aws_env: dict[str, str]
    runs_dir: Path
    counter: Iterator[int]
    environment: Path | None = None  # a project whose installed environment the jobs link (None: they install)

    @property
    def origin(self) -> Path:
        return self.main.origin

    def env(self) -> dict[str, str]:
        return tool_env(**self.aws_env)

    def open_pr(self, branch: str, overrides: list[str], base: str = "main") -> str:
        """Push a branch that changes params (as a developer would, without reproducing); return its head."""
        dev = self.runs_dir / f"dev-{next(self.counter)}"
        subprocess.run(["git", "clone", "-q", str(self.origin), str(dev)], check=True, env=self.env())
        clone = Project(dev, self.origin)
        clone.run("git", "checkout", "-q", "-B", branch, f"origin/{base}", env=self.env())
        if overrides:
            clone.run("lockstep", "params", *overrides, env=self.env())
        clone.run(
            "git", "commit", "-q", "--allow-empty", "-am", f"Try {' '.join(overrides) or 'nothing'}", env=self.env()
        )
        clone.run("git", "push", "-q", "-f", "origin", branch, env=self.env())
        return clone.run("git", "rev-parse", "HEAD").stdout.strip()

    def pull_request(self, branch: str, sha: str, number: int, fork: bool = False) -> dict[str, JobResult]:
        """Run the model-review workflow for pull request `number` at `sha`."""
        head_repo = "someone/credit-risk" if fork else REPOSITORY
        event = {
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"ref": branch, "sha": sha, "repo": {"full_name": head_repo}},
                "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
            },
        }
        sim = self._simulation(
            "pull_request", event, f"refs/pull/{number}/merge", sha, base_ref="main", head_ref=branch
        )
        sim.comments = self.comments(number)
        return run_workflow(Path(".github/workflows/model-review.yml"), sim, REPO_ROOT)

    def push_to_main(self) -> dict[str, JobResult]:
        """Run the promote workflow for the current head of main."""
        sha = subprocess.run(
            ["git", "rev-parse", "main"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        sim = self._simulation("push", {"ref": "refs/heads/main", "after": sha}, "refs/heads/main", sha)
        return run_workflow(Path(".github/workflows/promote.yml"), sim, REPO_ROOT)

    def dispatch_prod(self, version: str) -> dict[str, JobResult]:
        """Run the manually dispatched promote-to-production workflow for `version`."""
        sha = subprocess.run(
            ["git", "rev-parse", "main"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        sim = self._simulation("workflow_dispatch", {"inputs": {"version": version}}, "refs/heads/main", sha)
        sim.inputs = {"version": version}
        return run_workflow(Path(".github/workflows/promote-prod.yml"), sim, REPO_ROOT)

    def _simulation(self, event_name: str, event: dict, ref: str, sha: str, **refs: str) -> Simulation:
        work_dir = self.runs_dir / f"run-{next(self.counter)}"
        work_dir.mkdir()
        return Simulation(
            origin=self.origin,
            work_dir=work_dir,
            event_name=event_name,
            event=event,
            ref=ref,
            sha=sha,
            repository=REPOSITORY,
            vars=dict(CI_VARS),
            aws_env=self.aws_env,
            environment=self.environment,
            **refs,
        )

    def comments(self, number: int) -> Path:
        """Pull request `number`'s comment thread, as the cml stand-in keeps it."""
        return self.runs_dir / f"pr-{number}-comments.json"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def make_world(
    root: Path, endpoint: str, prefix: str, reproduce: bool = True, start_from: Project | None = None
) -> World:
    """A bare origin whose main uses s3://BUCKET/prefix as its DVC remote, reproduced and pushed.

    `start_from`, a reproduced project (`reproduced_template`), saves running the pipeline again:
    its copy's `dvc repro` only checks that nothing changed, and the jobs link its environment.
    """
    aws_env = CREDENTIALS | {"AWS_ENDPOINT_URL_S3": endpoint}
    main = clone_reproduced(start_from, root) if start_from else copy_project(root)
    env = tool_env(**aws_env)
    main.run("dvc", "remote", "add", "--force", "--default", "s3", f"s3://{BUCKET}/{prefix}", env=env)
    config = main.root / "conf" / "config.yaml"
    text = config.read_text()
    for key, value in GATE_POLICY.items():
        text = re.sub(rf"(?m)^(  {key}: ).*$", rf"\g<1>{value}", text)
    config.write_text(text)
    main.run("lockstep", "params", env=env)
    if reproduce:
        main.run("dvc", "repro", env=env)
        main.run("dvc", "push", "--run-cache", env=env)
        main.run("lockstep", "run-cache", "push", env=env)
    main.commit_all("Store data and models in S3")
    main.run("git", "push", "-q", "origin", "main", env=env)
    runs = root / "runs"
    runs.mkdir()
    return World(main, aws_env, runs, itertools.count(1), start_from.root if start_from else None)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, reproduced_template: Project) -> World:
    root, prefix = tmp_path_factory.mktemp("github"), tmp_path_factory.mktemp("p").name
    return make_world(root, s3_endpoint, prefix, start_from=reproduced_template)
