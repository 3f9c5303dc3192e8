"""The retrain workflow's own steps: a registry publishes a version, and the consumer's retrain opens one PR.

One world for the module: main trains on `loans` v1.0.0 from a registry project (both in the moto S3
bucket). The registry publishes v1.1.0 and sends `repository_dispatch`; retrain.yml's job runs
`lockstep retrain` with the GitHub App token stand-in and opens the pull request. GitHub starts a
pull request's checks when an App opened it (not with GITHUB_TOKEN), so model-review.yml then runs
on it, as it would there, and its gate passes. The loop goes further: a real server's shifted traffic makes
the monitor alert, the retrain it dispatches is reviewed, merged, promoted and starts a canary; and a retrain
that is worse is blocked. Run with `pytest -m workflow tests/workflows/test_retrain.py` (`-s` prints the loop's
time, step by step).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from lockstep.data.synthetic import NO_DRIFT, Drift, generate_credit_data

from tests.conftest import PACKAGE, Project, copy_project
from tests.s3 import BUCKET, s3_client
from tests.workflows.conftest import World, closed_port
from tests.workflows.harness import APP_TOKEN

DATA = "data/source/loans.csv"
SHIFT = Drift(shift={"annual_income": 0.5})
APP = ({"RETRAIN_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----stand-in"}, {"RETRAIN_APP_CLIENT_ID": "Iv23stand"})


def publish(registry: Project, world: World, rows: int, message: str, *args: str, drift: Drift = NO_DRIFT) -> None:
    generate_credit_data(rows, 7, drift).to_csv(registry.root / DATA, index=False)
    registry.run("dvc", "add", "-q", DATA, env=world.env())
    registry.run("git", "add", f"{DATA}.dvc", "data/source/.gitignore")
    registry.run("git", "commit", "-q", "-m", message)
    registry.run(PACKAGE, "data", "publish", "loans", "--path", DATA, "--push", *args, env=world.env())


@pytest.fixture(scope="module")
def consumer(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Project, Project]:
    """The world with main trained on loans v1.0.0 (20,000 rows) from a registry; the registry, and main's clone."""
    registry = copy_project(tmp_path_factory.mktemp("registry"))
    prefix = tmp_path_factory.mktemp("registry-remote").name
    registry.run("dvc", "remote", "add", "--force", "--default", "s3", f"s3://{BUCKET}/{prefix}", env=world.env())
    registry.commit_all("Keep the data in S3")
    publish(registry, world, 20_000, "Loans", "--version", "1.0.0")
    clone = world.clone("main")
    clone.run(PACKAGE, "data", "use", str(registry.origin), "loans@1.0.0", env=world.env())
    clone.run("dvc", "repro", env=world.env())
    clone.run(PACKAGE, "data", "golden", env=world.env())  # v1.0.0's test set, frozen
    clone.run("dvc", "push", env=world.env())
    clone.run("git", "add", "-A")
    clone.run("git", "commit", "-q", "-m", "Train on loans v1.0.0, with a golden holdout")
    clone.run("git", "push", "-q", "origin", "main", env=world.env())
    return world, registry, clone


def test_a_published_version_opens_a_pr_whose_review_passes_the_gate(consumer: tuple[World, Project, Project]) -> None:
    world, registry, _ = consumer
    gh_state = world.runs_dir / "retrain-gh.json"
    # The same 20,000 rows first (the generator's first N rows do not depend on N), then 2,000 new ones.
    publish(registry, world, 22_000, "Loans: 2,000 more")
    event = {"action": "dataset-published", "client_payload": {"reason": "loans v1.1.0 was published"}}
    jobs = world.retrain("repository_dispatch", event, *APP, gh_state=gh_state)
    assert jobs["retrain"].passed, jobs["retrain"].report()
    assert "retrain: opened" in jobs["retrain"].step("Retrain, and open or update the pull request").output
    [pull] = json.loads(gh_state.read_text())["pulls"]
    assert pull["token"] == APP_TOKEN  # the App's token: GitHub starts this pull request's checks
    assert not pull["draft"]
    assert pull["body"].startswith("**Why this retrain:** dataset — loans v1.1.0 was published")

    head = subprocess.run(
        ["git", "rev-parse", "retrain/auto"], cwd=world.origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    review = world.pull_request("retrain/auto", head, number=pull["number"])["review"]
    assert review.passed, review.report()
    comment = json.loads(world.comments(pull["number"]).read_text())
    report = json.dumps(comment, ensure_ascii=False)
    assert "Why this retrain:** dataset" in report
    assert "v1.0.0 → **v1.1.0**" in report
    assert "20,000 → 22,000: 2,000 added, 0 removed" in report
    assert "the base model was scored again on this revision" in report
    assert "### Golden holdout" in report
    assert "Both models on the frozen holdout (4,000 rows" in report


def test_without_an_app_the_pr_opens_as_a_draft(consumer: tuple[World, Project, Project], tmp_path: Path) -> None:
    world, registry, _ = consumer
    publish(registry, world, 22_500, "Loans: 500 more")
    gh_state = tmp_path / "gh.json"  # a repository without the App: its own record of pull requests
    jobs = world.retrain("workflow_dispatch", {"inputs": {"reason": "by hand"}}, {}, {}, gh_state=gh_state)
    assert jobs["retrain"].passed, jobs["retrain"].report()
    [pull] = json.loads(gh_state.read_text())["pulls"]
    assert pull["draft"]
    assert pull["token"] == "ghs_harness"  # GITHUB_TOKEN: no workflow starts until a person marks it ready


def serve_traffic(trained: Project, world: World, logs: Path) -> Path:
    """Serve prod with `lockstep serve`, send 1,500 clean then 1,500 shifted rows with `lockstep simulate`; the logs."""
    port = closed_port()
    command = [PACKAGE, "serve", "--model", "prod", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--prediction-log", str(logs / "predictions.jsonl")],
        cwd=trained.root,
        env=world.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # generous: the model comes from the bucket, and the machine may be busy
        while not ready(url):
            assert server.poll() is None, "the server exited before it was ready"
            assert time.monotonic() < deadline, "the server was not ready within 180 s"
            time.sleep(0.2)
        for args in (["--seed", "1"], ["--seed", "2", "--shift", "annual_income=1"]):
            trained.run(PACKAGE, "simulate", "--url", url, "--rows", "1500", "--outcome-delay", "0", *args)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return logs


def ready(url: str) -> bool:
    """Whether the server answers its readiness probe."""
    try:
        with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_the_loop_from_drifted_traffic_to_a_promoted_retrain(
    consumer: tuple[World, Project, Project], tmp_path: Path
) -> None:
    """Prod serves (a real server); shifted traffic arrives; the monitor alerts and dispatches; the retrain opens a PR
    with the App token, and a second alert updates it; its review passes the gate; it merges, the promote workflow
    registers the new model, and a canary starts; then a schedule with no new data opens nothing."""
    world, registry, trained = consumer
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        steps[name] = time.perf_counter() - started
        started = time.perf_counter()

    # 1. Prod serves main's model: registered as v0.1.0 and in prod, answered by a real server (`lockstep serve`).
    # Main's monitor reads windows of 500 rows, so one afternoon's traffic makes several (the demo's setting).
    trained.run("git", "fetch", "-q", "origin", env=world.env())
    trained.run("git", "checkout", "-q", "-B", "main", "origin/main")
    trained.run(PACKAGE, "params", "monitor.window=500", env=world.env())
    trained.run("dvc", "repro", env=world.env())  # check_params reads all of params.yaml
    trained.run("git", "commit", "-q", "-am", "Monitor windows of 500 rows")
    trained.run("git", "push", "-q", "origin", "main", env=world.env())
    trained.run("gto", "register", "model", "HEAD", "--version", "v0.1.0", env=world.env())
    trained.run("gto", "assign", "model", "--version", "v0.1.0", "--stage", "prod", env=world.env())
    trained.run("git", "push", "-q", "origin", "--tags", env=world.env())
    # 2. Traffic arrives, then the same traffic with annual_income shifted; outcomes follow. The server's log goes
    # to the bucket, as `serve --log-upload` ships it. Meanwhile the registry publishes this month's data.
    logs = serve_traffic(trained, world, tmp_path / "logs")
    s3 = s3_client(world.aws_env["AWS_ENDPOINT_URL_S3"])
    for path in sorted(p for p in logs.rglob("*") if p.is_file()):
        s3.upload_file(str(path), BUCKET, f"serving-logs/loop/{path.relative_to(logs).as_posix()}")
    publish(registry, world, 22_000, "Loans: this month's applications", drift=SHIFT)
    lap("serve clean then shifted traffic (a real server), ship its log; the registry publishes new data")
    # 3. The monitor alerts and dispatches the retraining.
    jobs, sim = world.dispatch_monitor({"logs": f"s3://{BUCKET}/serving-logs/loop", "since": "3650d"}, None)
    assert jobs["monitor"].passed, jobs["monitor"].report()
    (dispatch,) = json.loads(sim.gh_state.read_text())["dispatches"]
    assert dispatch["workflow"] == "retrain.yml"
    assert dispatch["inputs"]["trigger"] == "alert"
    lap("monitor.yml: alert and dispatch")
    # 4. The retrain opens one pull request with the App's token.
    gh_state = tmp_path / "gh.json"
    jobs = world.retrain("workflow_dispatch", {"inputs": dispatch["inputs"]}, *APP, gh_state=gh_state)
    assert jobs["retrain"].passed, jobs["retrain"].report()
    [pull] = json.loads(gh_state.read_text())["pulls"]
    assert pull["token"] == APP_TOKEN
    assert pull["body"].startswith("**Why this retrain:** alert — monitor: ")
    assert "feature drift: fired on annual_income" in pull["body"]
    lap("retrain.yml: retrain and open the pull request")
    # A second alert while it is open updates that pull request: never a second one.
    jobs = world.retrain("workflow_dispatch", {"inputs": dispatch["inputs"]}, *APP, gh_state=gh_state)
    assert "retrain: updated" in jobs["retrain"].step("Retrain, and open or update the pull request").output
    [pull] = json.loads(gh_state.read_text())["pulls"]
    assert pull["edits"] == 1
    lap("retrain.yml again (a second alert): the same pull request updated")
    # 5. Its review reproduces, reports and gates: it passes.
    head = subprocess.run(
        ["git", "rev-parse", "retrain/auto"], cwd=world.origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    review = world.pull_request("retrain/auto", head, number=pull["number"])["review"]
    assert review.passed, review.report()
    lap("model-review.yml: review and gate")
    # 6. A person merges; the promote workflow registers the retrained model and assigns staging.
    world.merge("retrain/auto")
    promoted = world.push_to_main()
    assert all(job.passed for job in promoted.values()), {name: job.report() for name, job in promoted.items()}
    tags = subprocess.run(["git", "tag", "--list", "model@*"], cwd=world.origin, capture_output=True, text=True).stdout
    assert "model@v0.2.0" in tags.split(), tags
    lap("merge, then promote.yml: register and assign staging")
    # 7. A canary starts: the new version in the canary stage, the rollout config routing 10% of requests to it.
    trained.run("git", "fetch", "-q", "--tags", "origin", env=world.env())
    trained.run("git", "checkout", "-q", "--detach", "origin/main")
    trained.run(PACKAGE, "registry", "assign", "--version", "v0.2.0", "--stage", "canary", env=world.env())
    trained.run("git", "push", "-q", "origin", "--tags", env=world.env())
    trained.run(PACKAGE, "params", "rollout=canary", env=world.env())
    status = trained.run(PACKAGE, "rollout", "status", env=world.env()).stdout
    assert "canary at 10%: prod v0.1.0, candidate v0.2.0" in status, status
    lap("a canary starts: v0.2.0 in the canary stage at 10%")
    # The pull request closed with the merge; two days on, a schedule with no new data opens nothing.
    state = json.loads(gh_state.read_text())
    state["pulls"][0] |= {"state": "closed", "closedAt": "2026-01-01T00:00:00Z"}
    gh_state.write_text(json.dumps(state))
    jobs = world.retrain("schedule", {"schedule": "17 4 * * 1"}, *APP, gh_state=gh_state)
    assert (
        "retrain: nothing: no new data" in jobs["retrain"].step("Retrain, and open or update the pull request").output
    )
    assert len(json.loads(gh_state.read_text())["pulls"]) == 1
    lap("retrain.yml on schedule with no new data: nothing opens")
    timings = "\n".join(f"{seconds:7.1f} s  {name}" for name, seconds in steps.items())
    print(f"the loop, step by step:\n{timings}\n{sum(steps.values()):7.1f} s  in all")


def test_a_worse_retrain_is_blocked_by_the_gate_and_stays_open(
    consumer: tuple[World, Project, Project], tmp_path: Path
) -> None:
    world, registry, _ = consumer
    # A version whose outcomes were shuffled: nothing left to learn, so the retrained model is worse.
    frame = generate_credit_data(22_000, 7)
    frame["default"] = frame["default"].sample(frac=1.0, random_state=3).to_numpy()
    frame.to_csv(registry.root / DATA, index=False)
    registry.run("dvc", "add", "-q", DATA, env=world.env())
    registry.run("git", "commit", "-q", "-m", "Loans, with the outcomes mixed up", f"{DATA}.dvc")
    registry.run(PACKAGE, "data", "publish", "loans", "--path", DATA, "--push", env=world.env())
    gh_state = tmp_path / "gh.json"
    event = {"action": "dataset-published", "client_payload": {"reason": "a new loans version"}}
    jobs = world.retrain("repository_dispatch", event, *APP, gh_state=gh_state)
    assert jobs["retrain"].passed, jobs["retrain"].report()
    [pull] = json.loads(gh_state.read_text())["pulls"]
    head = subprocess.run(
        ["git", "rev-parse", "retrain/auto"], cwd=world.origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    review = world.pull_request("retrain/auto", head, number=pull["number"])["review"]
    assert review.failed_step == "Gate", review.report()
    report = json.dumps(json.loads(world.comments(pull["number"]).read_text()), ensure_ascii=False)
    assert "❌ the gate fails" in report
    assert "misses the threshold" in report
    assert json.loads(gh_state.read_text())["pulls"][0]["state"] == "open"  # it waits, with its reason, for a person
