"""Run a workflow file's own `run:` steps locally, against a simulated pull request or push.

Each job checks out a fresh clone of a bare `origin` into its own workspace.
`run:` steps run in bash with the step's `env:` and GitHub's variables;
`uses:` steps are replaced by local equivalents (checkout is a clone,
setup-python is this environment, setup-cml puts a recording `cml` stand-in
first on PATH (as a runner has it, a recording `gh` stand-in is always there:
`gh_stand_in.py`), configure-aws-credentials points at moto, upload-artifact
copies files). Anything else raises HarnessError.

A simulation may name a built `environment`: a project whose `.venv` and `.tools`
`make install` made from the same uv.lock. Checkouts then hard-link them
(tests/shared.py), and the workflow's own `make install` step finds them up to
date instead of syncing 200 packages again in every job.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import clean_environ
from tests.shared import link_environment
from tests.workflows.expressions import TEMPLATE, HarnessError, condition, substitute

CML_STAND_IN = Path(__file__).with_name("cml_stand_in.py")
GH_STAND_IN = Path(__file__).with_name("gh_stand_in.py")
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
# The token the create-github-app-token stand-in issues: what GitHub would accept to start a pull request's checks.
APP_TOKEN = "ghs_app_installation_stand_in"


@dataclass
class StepResult:
    """What one step did."""

    name: str
    ran: bool
    exit_code: int = 0
    output: str = ""
    seconds: float = 0.0


@dataclass
class JobResult:
    """What one job did: its steps in order, its outputs, and the first failing step."""

    name: str
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    failed_step: str | None = None
    skipped: bool = False

    @property
    def passed(self) -> bool:
        return self.failed_step is None

    def step(self, name: str) -> StepResult:
        return next(step for step in self.steps if step.name == name)

    def report(self) -> str:
        """The failing step's output, for assertion messages."""
        failed = [step for step in self.steps if step.exit_code != 0]
        return (
            "\n".join(f"--- {step.name} (exit {step.exit_code})\n{step.output[-3000:]}" for step in failed)
            or "no failed step"
        )


@dataclass
class Simulation:
    """The world a workflow runs in: the repository, the event, and the stand-ins' state."""

    origin: Path
    work_dir: Path
    event_name: str
    event: dict[str, Any]
    ref: str
    sha: str
    repository: str = "acme/credit-risk"
    base_ref: str = ""
    head_ref: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=lambda: {"GITHUB_TOKEN": "ghs_harness"})
    aws_env: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    comments: Path | None = None  # the pull request's comment thread, shared by its runs
    environment: Path | None = None  # a project whose installed .venv checkouts link (None: `make install` syncs)
    gh_state_file: Path | None = None  # the `gh` stand-in's record, when several runs share it (pull requests)

    @property
    def cml_state(self) -> Path:
        return self.comments or self.work_dir / "cml-state.json"

    @property
    def gh_state(self) -> Path:
        """What the `gh` stand-in recorded (its workflow dispatches and pull requests)."""
        return self.gh_state_file or self.work_dir / "gh-state.json"

    @property
    def artifacts(self) -> Path:
        return self.work_dir / "artifacts"

    def github_context(self) -> dict[str, Any]:
        return {
            "event_name": self.event_name,
            "event": self.event,
            "ref": self.ref,
            "sha": self.sha,
            "repository": self.repository,
            "base_ref": self.base_ref,
            "head_ref": self.head_ref,
        }


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow file; YAML 1.1 reads the `on:` key as True, so it is renamed back."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def _render(value: Any, context: dict[str, Any]) -> str:
    """A `with:`/`env:` value as the string an action or step receives."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return substitute(str(value), context)


def check_executable(workflow: dict[str, Any]) -> None:
    """Raise HarnessError if any step is something the harness cannot run faithfully."""
    for job in workflow["jobs"].values():
        unsupported = {"continue-on-error", "strategy", "container", "services"} & set(job)
        if unsupported:
            raise HarnessError(f"job keys the harness does not simulate: {sorted(unsupported)}")
        if "uses" in job:
            _local_workflow_path(job["uses"])
            continue
        for step in job["steps"]:
            if "continue-on-error" in step:
                raise HarnessError(f"step {step.get('name')!r}: continue-on-error is not simulated")
            if "run" in step:
                if TEMPLATE.search(step["run"]):
                    raise HarnessError(f"step {step.get('name')!r}: " + "${{ }} inside run: (pass values through env:)")
                if step.get("shell", "bash") != "bash" or "working-directory" in step:
                    raise HarnessError(f"step {step.get('name')!r}: only plain bash run: steps are supported")
            elif _action_name(step["uses"]) not in LOCAL_ACTIONS:
                raise HarnessError(f"no local equivalent for uses: {step['uses']}")


def _action_name(uses: str) -> str:
    return uses.split("@", 1)[0]


def _local_workflow_path(uses: str) -> Path:
    if uses.startswith("./"):
        return Path(uses.removeprefix("./"))
    raise HarnessError(f"only this repository's reusable workflows are supported, not {uses}")


def run_workflow(path: Path, sim: Simulation, repo_root: Path) -> dict[str, JobResult]:
    """Run every job of the workflow at `path` (read from `repo_root`) in `needs` order."""
    workflow = load_workflow(repo_root / path)
    check_executable(workflow)
    results: dict[str, JobResult] = {}
    pending = dict(workflow["jobs"])
    while pending:
        ready = [j for j, job in pending.items() if all(n in results for n in _needs(job))]
        if not ready:
            raise HarnessError("jobs with unsatisfiable needs")
        for job_id in ready:
            job = pending.pop(job_id)
            needs = {
                n: {"outputs": results[n].outputs, "result": "success" if results[n].passed else "failure"}
                for n in _needs(job)
            }
            if any(not results[n].passed for n in _needs(job)):
                results[job_id] = JobResult(job_id, failed_step="(skipped: a needed job failed)")
                continue
            context = _context(sim, workflow, needs)
            if not condition(job.get("if"), context, "success"):
                results[job_id] = JobResult(job_id, skipped=True)
                continue
            if "uses" in job:
                called = Simulation(
                    **{
                        **sim.__dict__,
                        "inputs": {k: _render(v, context) for k, v in job.get("with", {}).items()},
                        # A called workflow gets no secrets unless the caller passes them.
                        "secrets": {"GITHUB_TOKEN": sim.secrets["GITHUB_TOKEN"]},
                    }
                )
                inner = run_workflow(_local_workflow_path(job["uses"]), called, repo_root)
                results[job_id] = _merge(job_id, inner)
            else:
                results[job_id] = _run_job(job_id, job, sim, context)
    return results


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _merge(job_id: str, inner: dict[str, JobResult]) -> JobResult:
    merged = JobResult(job_id)
    for result in inner.values():
        merged.steps += result.steps
        merged.outputs |= result.outputs
        merged.failed_step = merged.failed_step or result.failed_step
    return merged


def _context(sim: Simulation, workflow: dict[str, Any], needs: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {
        "github": sim.github_context(),
        "vars": sim.vars,
        "secrets": sim.secrets,
        "inputs": sim.inputs,
        "needs": needs,
        "steps": {},
        "env": {},
        "runner": {"os": "Linux", "temp": str(sim.work_dir / "runner-temp")},
    }
    context["env"] = {k: _render(v, context) for k, v in (workflow.get("env") or {}).items()}
    return context


def _run_job(job_id: str, job: dict[str, Any], sim: Simulation, context: dict[str, Any]) -> JobResult:
    result = JobResult(job_id)
    workspace = sim.work_dir / f"workspace-{job_id}-{len(list(sim.work_dir.glob(f'workspace-{job_id}*')))}"
    runner = _Runner(sim, workspace)
    context["env"] |= {k: _render(v, context) for k, v in (job.get("env") or {}).items()}
    status = "success"
    for index, step in enumerate(job["steps"]):
        name = step.get("name") or _action_name(step.get("uses", f"step {index}"))
        step_context = {
            **context,
            "env": {**context["env"], **{k: _render(v, context) for k, v in (step.get("env") or {}).items()}},
        }
        if not condition(step.get("if"), step_context, status):
            result.steps.append(StepResult(name, ran=False))
            continue
        if "uses" in step:
            with_args = {k: _render(v, step_context) for k, v in (step.get("with") or {}).items()}
            action_outputs = LOCAL_ACTIONS[_action_name(step["uses"])](runner, with_args) or {}
            if step.get("id"):
                context["steps"][step["id"]] = {"outputs": action_outputs, "outcome": "success"}
            result.steps.append(StepResult(name, ran=True))
            continue
        started = time.perf_counter()
        code, output, outputs = runner.run(step["run"], step_context["env"])
        if step.get("id"):
            context["steps"][step["id"]] = {"outputs": outputs, "outcome": "success" if code == 0 else "failure"}
        result.steps.append(
            StepResult(name, ran=True, exit_code=code, output=output, seconds=time.perf_counter() - started)
        )
        if code != 0 and status == "success":
            status = "failure"
            result.failed_step = name
    result.outputs = {k: _render(v, context) for k, v in (job.get("outputs") or {}).items()}
    return result


class _Runner:
    """One job's runner: its workspace, PATH and the environment its steps share."""

    def __init__(self, sim: Simulation, workspace: Path) -> None:
        self.sim = sim
        self.workspace = workspace
        self.bin_dir = workspace.parent / f"{workspace.name}-bin"
        self.bin_dir.mkdir(parents=True)
        self.env: dict[str, str] = {}
        self.path = [str(self.bin_dir)]
        gh = self.bin_dir / "gh"
        gh.write_text(f'#!/usr/bin/env bash\nexec {sys.executable} {GH_STAND_IN} "$@"\n')
        gh.chmod(0o755)
        self.env["GH_STAND_IN_STATE"] = str(sim.gh_state)

    def base_env(self) -> dict[str, str]:
        # The machine's own environment, less anything the test process or a previous GitHub-like context set.
        env = clean_environ()
        system_path = [p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p]
        event_path = self.workspace.parent / f"{self.workspace.name}-event.json"
        event_path.write_text(json.dumps(self.sim.event))
        env |= {
            "PATH": os.pathsep.join([*self.path, *system_path]),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_NAME": self.sim.event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REF": self.sim.ref,
            "GITHUB_SHA": self.sim.sha,
            "GITHUB_REPOSITORY": self.sim.repository,
            "GITHUB_BASE_REF": self.sim.base_ref,
            "GITHUB_HEAD_REF": self.sim.head_ref,
            "GITHUB_STEP_SUMMARY": str(self.workspace.parent / f"{self.workspace.name}-summary.md"),
            "RUNNER_TEMP": str(self.workspace.parent / "runner-temp"),
            "DVC_NO_ANALYTICS": "1",
            # A runner has no Git identity and no global config of ours.
            "GIT_CONFIG_GLOBAL": str(self.workspace.parent / "empty-gitconfig"),
        }
        return env | self.env

    def run(self, script: str, step_env: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        output_file = self.workspace.parent / f"{self.workspace.name}-output"
        env_file = self.workspace.parent / f"{self.workspace.name}-env"
        output_file.write_text("")
        env_file.write_text("")
        env = self.base_env() | step_env | {"GITHUB_OUTPUT": str(output_file), "GITHUB_ENV": str(env_file)}
        process = subprocess.run(
            [*SHELL, "-c", script],
            cwd=self.workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        self.env |= _key_values(env_file.read_text())
        return process.returncode, process.stdout, _key_values(output_file.read_text())

    # --- local equivalents of the actions our workflows use ---

    def checkout(self, args: dict[str, str]) -> None:
        depth = args.get("fetch-depth", "1")
        clone = ["git", "clone", "-q", "--no-local", f"file://{self.sim.origin}", str(self.workspace)]
        if depth != "0":
            clone[3:3] = ["--depth", depth]
        subprocess.run(clone, check=True, capture_output=True)
        ref = args.get("ref") or self.sim.sha
        if depth != "0":
            subprocess.run(
                ["git", "fetch", "-q", "--depth", depth, "origin", ref],
                cwd=self.workspace,
                check=True,
                capture_output=True,
            )
            ref = "FETCH_HEAD"
        subprocess.run(["git", "checkout", "-q", "--detach", ref], cwd=self.workspace, check=True, capture_output=True)
        if self.sim.environment is not None:
            link_environment(self.sim.environment, self.workspace)

    def setup_python(self, args: dict[str, str]) -> None:
        version_file = args.get("python-version-file")
        wanted = (self.workspace / version_file).read_text().strip() if version_file else args.get("python-version")
        if wanted != f"{sys.version_info.major}.{sys.version_info.minor}":
            raise HarnessError(f"workflow asks for Python {wanted}, the harness runs {sys.version}")

    def setup_cml(self, args: dict[str, str]) -> None:
        stand_in = self.bin_dir / "cml"
        stand_in.write_text(f'#!/usr/bin/env bash\nexec {sys.executable} {CML_STAND_IN} "$@"\n')
        stand_in.chmod(0o755)
        self.env["CML_STAND_IN_STATE"] = str(self.sim.cml_state)

    def configure_aws(self, args: dict[str, str]) -> None:
        if not args.get("role-to-assume"):
            raise HarnessError("configure-aws-credentials needs role-to-assume")
        self.env |= self.sim.aws_env | {"AWS_REGION": args.get("aws-region", "us-east-1")}

    def create_app_token(self, args: dict[str, str]) -> dict[str, str]:
        """A GitHub App installation token: APP_TOKEN, which the `gh` stand-in records as the App's."""
        if not args.get("client-id") or not args.get("private-key"):
            raise HarnessError("create-github-app-token needs client-id and private-key")
        return {"token": APP_TOKEN, "app-slug": "retrain-bot"}

    def upload_artifact(self, args: dict[str, str]) -> None:
        source = self.workspace / args["path"]
        if not source.exists() and args.get("if-no-files-found") == "error":
            raise HarnessError(f"upload-artifact: {args['path']} does not exist")
        shutil.copytree(source, self.sim.artifacts / args["name"], dirs_exist_ok=True)


def _key_values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


LOCAL_ACTIONS: dict[str, Callable[[_Runner, dict[str, str]], dict[str, str] | None]] = {
    "actions/checkout": _Runner.checkout,
    "actions/setup-python": _Runner.setup_python,
    "iterative/setup-cml": _Runner.setup_cml,
    "aws-actions/configure-aws-credentials": _Runner.configure_aws,
    "actions/upload-artifact": _Runner.upload_artifact,
    "actions/create-github-app-token": _Runner.create_app_token,
}
