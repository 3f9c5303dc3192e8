"""A simulated GitHub: a bare origin whose main holds a reproduced pipeline pushed to S3 (moto: tests/s3.py)."""

from __future__ import annotations

import itertools
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, Project, clone_reproduced, copy_project, tool_env
from tests.s3 import BUCKET, CREDENTIALS
from tests.workflows.harness import JobResult, Simulation, run_workflow

REPOSITORY = "acme/credit-risk"
# The gate policy these scenarios are written for (a project may have chosen another metric).
GATE_POLICY = {"metric": "roc_auc", "threshold": "0.7"}
# PUSH_IMAGE: building the image takes minutes; the container test (`make test-container`) pushes it.
CI_VARS = {
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci-model-review",
    "AWS_REGION": "us-east-1",
    "PUSH_IMAGE": "false",
}


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

    def clone(self, branch: str, start: str = "main") -> Project:
        """A contributor's clone of origin with `branch` checked out from `start`."""
        dev = self.runs_dir / f"dev-{next(self.counter)}"
        subprocess.run(["git", "clone", "-q", str(self.origin), str(dev)], check=True, env=self.env())
        clone = Project(dev, self.origin)
        clone.run("git", "checkout", "-q", "-B", branch, f"origin/{start}", env=self.env())
        return clone

    def open_pr(
        self,
        branch: str,
        overrides: list[str],
        base: str = "main",
        reproduce: bool = False,
        edit: Callable[[Project], None] | None = None,
    ) -> str:
        """Push a branch that changes params, and return its head.

        Without `reproduce` the contributor commits only params.yaml. With it they
        also run the pipeline and commit dvc.lock and metrics/, as `make repro`
        does, with no access to the remote: their DVC cache is the one of someone
        who reproduced main, so only the stages the change touches run. `edit`
        changes the work tree before the commit.
        """
        clone = self.clone(branch, start=base)
        if overrides:
            clone.run("lockstep", "params", *overrides, env=self.env())
        if reproduce:
            clone.run("dvc", "cache", "dir", "--local", str(self.main.root / ".dvc" / "cache"))
            clone.run("dvc", "repro")  # tool_env(): no AWS credentials, no remote
            clone.run("git", "add", "dvc.lock", "metrics")
        if edit:
            edit(clone)
        clone.run(
            "git", "commit", "-q", "--allow-empty", "-am", f"Try {' '.join(overrides) or 'nothing'}", env=self.env()
        )
        clone.run("git", "push", "-q", "-f", "origin", branch, env=self.env())
        return clone.run("git", "rev-parse", "HEAD").stdout.strip()

    def merge(self, branch: str) -> None:
        """Merge `branch` into main with a merge commit, as GitHub's merge button does."""
        clone = self.clone("main")
        clone.run("git", "merge", "--no-ff", "-q", "-m", f"Merge {branch}", f"origin/{branch}", env=self.env())
        clone.run("git", "push", "-q", "origin", "main", env=self.env())

    def locked_model_md5(self, rev: str) -> str:
        """The md5 that dvc.lock at `rev` (a branch, tag or commit of origin) records for the model."""
        lock = subprocess.run(
            ["git", "show", f"{rev}:dvc.lock"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout
        stages = yaml.safe_load(lock)["stages"]
        return next(out["md5"] for out in stages["train"]["outs"] if out["path"] == "models/model.skops")

    def latest_bundle(self, stage: str) -> Path:
        """The deploy bundle that the most recent run uploaded for `stage`."""
        return self.latest_artifact(f"model-{stage}")

    def latest_artifact(self, name: str) -> Path:
        """The artifact `name` as the most recent run that uploaded one left it."""
        uploads = self.runs_dir.glob(f"run-*/artifacts/{name}")
        return max(uploads, key=lambda path: int(path.parent.parent.name.removeprefix("run-")))

    def pull_request(
        self, branch: str, sha: str, number: int, fork: bool = False, remote_down: bool = False
    ) -> dict[str, JobResult]:
        """Run the model-review workflow for pull request `number` at `sha` (with S3 unreachable if `remote_down`)."""
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
        if remote_down:
            # Nothing listens there; one attempt per call (botocore would retry each with a back-off) says the same.
            unreachable = {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{closed_port()}", "AWS_MAX_ATTEMPTS": "1"}
            sim.aws_env = self.aws_env | unreachable
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
        return self.dispatch("promote-prod.yml", {"version": version})

    def dispatch(self, workflow: str, inputs: dict[str, str]) -> dict[str, JobResult]:
        """Run `workflow` (a file in .github/workflows) by hand on main's head, with `inputs`."""
        sha = subprocess.run(
            ["git", "rev-parse", "main"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        sim = self._simulation("workflow_dispatch", {"inputs": inputs}, "refs/heads/main", sha)
        sim.inputs = dict(inputs)
        return run_workflow(Path(".github/workflows") / workflow, sim, REPO_ROOT)

    def retrain(
        self, event_name: str, event: dict, secrets: dict[str, str], variables: dict[str, str], gh_state: Path
    ) -> dict[str, JobResult]:
        """Run the retrain workflow on main's head for `event`, with `secrets` and `variables` added.

        `gh_state` is the `gh` stand-in's record of pull requests, shared by every run that opens or updates one.
        """
        sha = subprocess.run(
            ["git", "rev-parse", "main"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        sim = self._simulation(event_name, event, "refs/heads/main", sha)
        sim.inputs = dict(event.get("inputs", {}))
        sim.secrets |= secrets
        sim.vars |= variables
        sim.gh_state_file = gh_state
        return run_workflow(Path(".github/workflows/retrain.yml"), sim, REPO_ROOT)

    def dispatch_rollout(self, logs: str, issue: int) -> tuple[dict[str, JobResult], Path]:
        """Run the rollout workflow on demand on the logs at `logs`; return its jobs and its comment thread."""
        sha = subprocess.run(
            ["git", "rev-parse", "main"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        sim = self._simulation("workflow_dispatch", {"inputs": {"logs": logs}}, "refs/heads/main", sha)
        sim.inputs = {"logs": logs}
        sim.vars["ROLLOUT_ISSUE"] = str(issue)
        return run_workflow(Path(".github/workflows/rollout.yml"), sim, REPO_ROOT), sim.cml_state

    def dispatch_monitor(self, inputs: dict[str, str], issue: int | None) -> tuple[dict[str, JobResult], Simulation]:
        """Run the monitor workflow on demand with `inputs` (MONITOR_ISSUE: `issue`); return its jobs and simulation."""
        sha = subprocess.run(
            ["git", "rev-parse", "main"], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        sim = self._simulation("workflow_dispatch", {"inputs": inputs}, "refs/heads/main", sha)
        sim.inputs = dict(inputs)
        if issue is not None:
            sim.vars["MONITOR_ISSUE"] = str(issue)
        return run_workflow(Path(".github/workflows/monitor.yml"), sim, REPO_ROOT), sim

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


def closed_port() -> int:
    """A local port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
