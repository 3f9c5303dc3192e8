"""Benchmark: the dataset registry against `dvc import` (issue 22).

A registry (a clone of this checkout with bare origin) publishes a CSV of the synthetic loans, its DVC remote a
shared folder. Two consumers (clones too, each with a remote of its own) take the same version:
- `data use`: this project's command, then `dvc repro`;
- `dvc import` of the same file at the same tag, the same data config written by hand, then `dvc repro`.

Side by side:
(a) the time from the first command to a reproduced pipeline;
(b) `dvc pull` in a fresh clone of each consumer, with the registry reachable, then with its origin and its
    remote moved away (unreachable);
(c) `data list` on a registry with --versions versions (goal: under 2 s), a fresh process each time.

    python benchmarks/datasets.py [--rows 20000] [--versions 100] [--repeats 3] [--workdir DIR]
    python benchmarks/datasets.py --smoke   # 3,000 rows, 5 versions, once
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _env import clone, command_env, header, load, pinned

from lockstep import PACKAGE

DATA = "data/source/loans.csv"


def run(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in `project` with its own src/ first; fail loudly unless asked not to."""
    done = subprocess.run(list(args), cwd=project, env=command_env(project), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {project}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def timed(project: Path, *args: str, check: bool = True) -> tuple[float, bool]:
    """Seconds a command takes, and whether it succeeded."""
    start = time.perf_counter()
    done = run(project, *args, check=check)
    return time.perf_counter() - start, done.returncode == 0


def project(workdir: Path, name: str) -> tuple[Path, Path]:
    """A clone of this checkout with a bare origin and a DVC remote folder of its own."""
    root, origin, remote = workdir / name, workdir / f"{name}.git", workdir / f"{name}-remote"
    clone(root)
    run(workdir, "git", "init", "-q", "--bare", "-b", "main", str(origin))
    run(root, "git", "remote", "set-url", "origin", str(origin))
    run(root, "dvc", "remote", "add", "-q", "-d", "shared", str(remote))
    run(root, "git", "commit", "-q", "-m", "shared remote", ".dvc/config")
    run(root, "git", "push", "-q", "origin", "HEAD:main")
    return root, origin


def make_registry(workdir: Path, rows: int) -> tuple[Path, Path]:
    """The registry, with version v1.0.0 of `loans` published."""
    from lockstep.data.synthetic import generate_credit_data

    root, origin = project(workdir, "registry")
    generate_credit_data(rows, 7).to_csv(root / DATA, index=False)
    run(root, "dvc", "add", "-q", DATA)
    run(root, "git", "add", f"{DATA}.dvc", "data/source/.gitignore")
    run(root, "git", "commit", "-q", "-m", "loans")
    run(root, PACKAGE, "data", "publish", "loans", "--path", DATA, "--version", "1.0.0", "--push")
    return root, origin


def share(root: Path, message: str) -> None:
    """Commit everything, push it to origin, and the data to the project's remote."""
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", message)
    run(root, "git", "push", "-q", "origin", "HEAD:main")
    run(root, "dvc", "push", "-q")


def consume_with_use(workdir: Path, registry: Path) -> tuple[Path, float]:
    root, _ = project(workdir, "consumer-use")
    seconds = timed(root, PACKAGE, "data", "use", str(registry), "loans@1.0.0")[0]
    seconds += timed(root, "dvc", "repro")[0]
    share(root, "use loans")
    return root, seconds


def consume_with_import(workdir: Path, registry: Path, data_config: Path) -> tuple[Path, float]:
    root, _ = project(workdir, "consumer-import")
    shutil.copy(data_config, root / "conf" / "data" / "loans.yaml")  # the same config, written by hand
    config = root / "conf" / "config.yaml"
    config.write_text(config.read_text().replace("- data: synthetic", "- data: loans"))
    seconds = timed(root, "dvc", "import", "-q", str(registry), DATA, "-o", DATA, "--rev", "loans@v1.0.0")[0]
    seconds += timed(root, PACKAGE, "params")[0]
    seconds += timed(root, "dvc", "repro")[0]
    share(root, "import loans")
    return root, seconds


def fresh_pull(workdir: Path, consumer: Path, name: str) -> tuple[float, bool]:
    """`dvc pull` in a fresh clone of `consumer`'s origin (its remote is an absolute folder in Git)."""
    fresh = workdir / name
    shutil.rmtree(fresh, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(consumer.parent / f"{consumer.name}.git"), str(fresh)], check=True)
    return timed(fresh, "dvc", "pull", "-q", check=False)


def many_versions(registry: Path, versions: int) -> None:
    """Publish patch versions until the registry has `versions`; each changes one row of the data."""
    import pandas as pd

    frame = pd.read_csv(registry / DATA)
    for index in range(1, versions):
        frame.loc[0, "age"] = 18 + index % 80
        frame.to_csv(registry / DATA, index=False)
        run(registry, "dvc", "add", "-q", DATA)
        run(registry, "git", "commit", "-q", "-m", f"loans {index}", f"{DATA}.dvc")
        run(registry, PACKAGE, "data", "publish", "loans", "--path", DATA, "--bump", "patch")
    run(registry, "git", "push", "-q", "--follow-tags", "origin", "HEAD:main")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--smoke", action="store_true", help="3,000 rows, 5 versions, once")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.versions, args.repeats = 3000, 5, 1
    header("datasets")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-datasets-"))
    workdir.mkdir(parents=True, exist_ok=True)
    registry, origin = make_registry(workdir, args.rows)
    used, use_seconds = consume_with_use(workdir, origin)
    imported, import_seconds = consume_with_import(workdir, origin, used / "conf" / "data" / "loans.yaml")
    print(f"(a) {args.rows:,} rows, first command to a reproduced pipeline:")
    print(f"    data use + dvc repro   {use_seconds:7.2f} s")
    print(f"    dvc import + dvc repro {import_seconds:7.2f} s")
    print("(b) dvc pull in a fresh clone of the consumer:")
    reachable = [fresh_pull(workdir, consumer, f"{consumer.name}-fresh") for consumer in (used, imported)]
    moved = workdir / "away"
    moved.mkdir()
    for gone in (origin, workdir / "registry-remote", registry):
        shutil.move(gone, moved / gone.name)
    unreachable = [fresh_pull(workdir, consumer, f"{consumer.name}-offline") for consumer in (used, imported)]
    for label, up, down in zip(("data use", "dvc import"), reachable, unreachable, strict=True):
        print(
            f"    {label:<10} registry reachable {up[0]:6.2f} s ({'ok' if up[1] else 'FAILED'}), "
            f"unreachable {down[0]:6.2f} s ({'ok' if down[1] else 'FAILED'})"
        )
    for gone in moved.iterdir():
        shutil.move(gone, workdir / gone.name)
    many_versions(registry, args.versions)
    listed = [timed(registry, PACKAGE, "data", "list", str(origin))[0] for _ in range(args.repeats)]
    lines = run(registry, PACKAGE, "data", "list", str(origin)).stdout.count("\nloans ")
    print(f"(c) data list, {lines} versions: median {statistics.median(listed):.2f} s of {len(listed)} (goal < 2 s)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
