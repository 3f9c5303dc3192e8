"""Benchmark: the pull-request job's pipeline step, against what it saves.

A local S3 (moto) holds main's reproduced pipeline and run-cache, as after a
merge. Then, each in a fresh clone:

- an unchanged pull request: the PR job's pipeline step (what `make ci-repro`
  runs: check params.yaml, pull with the run-cache, `dvc repro --pull`) against
  a plain `dvc pull`;
- a pull request that changes one hyperparameter (model.C, edited in conf/
  and recomposed, as a pull request does): the same step against a cold
  `dvc repro` of the same params with no remote.

Each pair must end with the same model and metrics (the same work), and every
`lockstep` stage pins its numerical environment itself, as in CI.

    python benchmarks/pr_loop.py [--repeats 3]
    python benchmarks/pr_loop.py --smoke   # 2,000 rows, one clone each: checks it runs and compares the same work
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from _env import clone, command_env, header, load, pinned
from moto.server import ThreadedMotoServer

BUCKET = "bench-remote"
# What `make ci-repro` runs on a same-repository pull request (CI_REMOTE=ci).
CI_REPRO = [
    ["lockstep", "params", "--validate"],
    ["dvc", "pull", "--run-cache", "--allow-missing"],
    ["lockstep", "run-cache", "pull"],
    ["dvc", "repro", "--pull"],
]
# What both sides of a comparison must end with, byte for byte.
COMPARED = ("models/model.skops", "metrics/metrics.json")
# Edits of conf/, as a pull request makes them: (file, line before, line after).
HYPERPARAMETER = ("conf/model/logistic_regression.yaml", "C: 1.0", "C: 0.5")
SMOKE_ROWS = ("conf/data/synthetic.yaml", "n_rows: 20000", "n_rows: 2000")


def run(commands: list[list[str]], cwd: Path, extra: dict[str, str]) -> float:
    """Run the commands in `cwd` in turn, with `extra` on top of the commands' environment; their wall time."""
    env = command_env(cwd) | extra
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def edit_conf(project: Path, edit: tuple[str, str, str]) -> None:
    """Change one line of a conf/ file (its indentation kept) and recompose params.yaml (`make params`)."""
    name, before, after = edit
    path = project / name
    lines = path.read_text().splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line.strip() == before]
    if len(found) != 1:
        raise SystemExit(f"{name} has {len(found)} lines {before!r}, not one to change")
    lines[found[0]] = lines[found[0]].replace(before, after)
    path.write_text("".join(lines))
    run([["lockstep", "params"]], project, {})


def outputs(project: Path) -> dict[str, bytes]:
    return {name: (project / name).read_bytes() for name in COMPARED}


def same_work(label: str, one: list[Path], other: list[Path]) -> None:
    """Every clone of both sides ended with the same model and metrics."""
    expected = outputs(one[0])
    for project in one + other:
        for name, content in outputs(project).items():
            if content != expected[name]:
                raise SystemExit(f"{label}: {name} differs between {one[0].name} and {project.name}: not the same work")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh clones per measurement (median)")
    parser.add_argument("--smoke", action="store_true", help="2,000 rows and one clone per measurement")
    args = parser.parse_args()
    header("pr_loop")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    credentials = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        **{k.lower(): v for k, v in credentials.items() if k != "AWS_DEFAULT_REGION"},
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    s3 = credentials | {"AWS_ENDPOINT_URL_S3": f"http://{host}:{port}"}
    repeats = 1 if args.smoke else args.repeats
    with tempfile.TemporaryDirectory(prefix="lockstep-pr-bench-") as tmp:
        root = Path(tmp)
        main_repo = clone(root / "main")
        if args.smoke:
            edit_conf(main_repo, SMOKE_ROWS)
        remote = ["dvc", "remote", "add", "--force", "--default", "s3", f"s3://{BUCKET}/main"]
        run([remote, ["dvc", "repro"], ["dvc", "push", "--run-cache"]], main_repo, s3)
        subprocess.run(["git", "commit", "-qam", "Use S3"], cwd=main_repo, check=True)

        def timed(label: str, commands: list[list[str]], edits: list[tuple[str, str, str]], extra: dict[str, str]):
            """The median time of `commands` in fresh clones of main with `edits` made, and the clones."""
            times, clones = [], []
            for i in range(repeats):
                project = clone(root / f"{label}-{i}", main_repo)
                for edit in edits:
                    edit_conf(project, edit)
                times.append(run(commands, project, extra))
                clones.append(project)
            return statistics.median(times), clones

        same, same_clones = timed("same", CI_REPRO, [], s3)
        pull, pull_clones = timed("pull", [["dvc", "pull"]], [], s3)
        same_work("unchanged PR", [main_repo, *same_clones], pull_clones)
        changed, changed_clones = timed("hp", CI_REPRO, [HYPERPARAMETER], s3)
        cold, cold_clones = timed("cold", [["dvc", "repro"]], [HYPERPARAMETER], {})  # no credentials
        same_work("model.C changed", changed_clones, cold_clones)
        rows = [("unchanged PR", same, "dvc pull", pull), ("model.C changed", changed, "cold dvc repro", cold)]
    server.stop()
    print(f"{'pull request':<16} {'PR step':>8} {'against':<15} {'time':>7} {'ratio':>6}")
    for name, step, other_name, other in rows:
        print(f"{name:<16} {step:>7.1f}s {other_name:<15} {other:>6.1f}s {step / other:>5.2f}x")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
