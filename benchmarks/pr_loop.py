"""Benchmark: the pull-request job's pipeline step, against what it saves.

A local S3 (moto) holds main's reproduced pipeline and run-cache, as after a
merge. Then, each in a fresh clone:

- an unchanged pull request: the PR job's pipeline step (what `make ci-repro`
  runs: pull with the run-cache, `dvc repro --pull`) against
  a plain `dvc pull`;
- a pull request that changes one hyperparameter (model.C): the same step
  against a cold `dvc repro` of the same params with no remote.

    python benchmarks/pr_loop.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

REPO_ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-remote"
# What `make ci-repro` runs on a same-repository pull request (CI_REMOTE=ci).
CI_REPRO = [
    ["dvc", "pull", "--run-cache", "--allow-missing"],
    ["lockstep", "run-cache", "pull"],
    ["dvc", "repro", "--pull"],
]


def run(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def clone(source: Path, destination: Path, env: dict[str, str], overrides: list[str]) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(destination)], check=True, env=env)
    if overrides:
        run([["lockstep", "params", *overrides]], destination, env)
    return destination


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh clones per measurement (median)")
    args = parser.parse_args()
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
    env = dict(os.environ, **credentials, AWS_ENDPOINT_URL_S3=f"http://{host}:{port}", DVC_NO_ANALYTICS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    offline = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    with tempfile.TemporaryDirectory(prefix="lockstep-pr-bench-") as tmp:
        root = Path(tmp)
        main_repo = clone(REPO_ROOT, root / "main", env, [])
        run(
            [
                ["dvc", "remote", "add", "--force", "--default", "s3", f"s3://{BUCKET}/main"],
                ["dvc", "repro"],
                ["dvc", "push", "--run-cache"],
            ],
            main_repo,
            env,
        )
        subprocess.run(["git", "commit", "-qam", "Use S3"], cwd=main_repo, check=True, env=env)

        def median(label: str, commands: list[list[str]], overrides: list[str], environment: dict[str, str]) -> float:
            times = [
                run(commands, clone(main_repo, root / f"{label}-{i}", env, overrides), environment)
                for i in range(args.repeats)
            ]
            return statistics.median(times)

        rows = [
            ("unchanged PR", median("same", CI_REPRO, [], env), "dvc pull", median("pull", [["dvc", "pull"]], [], env)),
            (
                "model.C changed",
                median("hp", CI_REPRO, ["model.C=0.5"], env),
                "cold dvc repro",
                median("cold", [["dvc", "repro"]], ["model.C=0.5"], offline),
            ),
        ]
    server.stop()
    print(f"{'pull request':<16} {'PR step':>8} {'against':<15} {'time':>7} {'ratio':>6}")
    for name, step, other_name, other in rows:
        print(f"{name:<16} {step:>7.1f}s {other_name:<15} {other:>6.1f}s {step / other:>5.2f}x")


if __name__ == "__main__":
    main()
