"""Benchmark: online serving against in-process predict_proba and FastAPI, batch scoring, the image.

Online: `lockstep serve` and a FastAPI `async def` baseline (a one-row
DataFrame per request through the same Pipeline) each run in their own process
pinned to CPU 0; the load generator (asyncio, keep-alive connections, one
process) is pinned to CPU 1, so it stays off the server's core. Each is driven
for --seconds at 1, 8 and 32 concurrent clients with single-record requests,
and compared with an in-process `predict_proba` of one row.

The prediction log's cost: beside `lockstep serve` runs the same server with the
log as it was before issue 19 (a RotatingFileHandler of 5 x 10 MB, fed by a
QueueListener thread); the two are driven in turn at each number of clients, and
their requests/s and p99 are printed side by side, with the lines each log kept
(`--log-cost`: these two servers only).

Batch: `lockstep predict` on N-row Parquet files (as a process, and its
`score_files` in this process) against a bare `predict_proba` on the same
frame (rows/s), and the peak resident memory of the `lockstep predict`
process (it should not grow with N).

Start to ready: the median of 5 starts of `lockstep serve --model <bundle>`, from
the process's start until GET /v2/health/ready answers 200 on 127.0.0.1, and
beside it what the same command spends importing (the CLI, the server and
uvicorn) and loading the model (`load_version`: the libraries the model is made
of, the file's checks, the fast path's check), each timed in a process of its
own; and the CPU seconds the server had used when ready, which load inflates
less than the wall time. With --start-against REV..., the same figures for a
clone at each REV, started in turn with this checkout's, so that all see the
same load.

Image (--image): `make image` build time, the image's size, and the time from
`buildah run` to ready (needs buildah and `make container-base`).

    python benchmarks/serving.py [--seconds 10] [--clients 1 8 32] [--batch-sizes 1000000 10000000] [--image]
    python benchmarks/serving.py --start-only [--start-against c48a3d8 HEAD]   # start to ready only
    python benchmarks/serving.py --quick   # 2 s per point, 50k and 200k batch rows
    python benchmarks/serving.py --smoke   # a 2,000-row model, 0.5 s per point, 5k batch rows: checks that it runs
    python benchmarks/serving.py --log-cost [--seconds 10] [--clients 1 8 32]   # the two logs only

Every process scores in the pinned numerical environment (numerics.pin_process),
and each comparison is checked to be of the same work: the servers answer the
in-process model's scores, and `lockstep predict`, `score_files` and the bare
predict_proba write the same scores.

The machine needs two cores for the pinning to mean anything; run the full one when nothing else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _env import BIN, REPO_ROOT, clone, command_env, commit, header, load, pinned

NAME = "lockstep"  # the package and command (a new project renames it)
FASTAPI_APP = """
from lockstep import numerics
numerics.pin_process()  # as `lockstep serve` does
import sys, pandas as pd, uvicorn
from fastapi import FastAPI
from lockstep.registry.store import load_version
loaded = load_version(sys.argv[1])
app = FastAPI()

@app.post("/v1/predict")
async def predict(record: dict):
    frame = pd.DataFrame([record])[loaded.contract.feature_names]
    return {"score": float(loaded.model.predict_proba(frame)[0, 1])}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


# What `lockstep serve` imports before it loads the model, then the load, timed in the pinned process.
START_PROBE = """
import json, sys, time
from lockstep import numerics
numerics.pin_process()  # as the `lockstep` command does, before anything is timed
started = time.perf_counter()
import uvicorn
import lockstep.cli, lockstep.serving.server
imported = time.perf_counter()
from lockstep.registry.store import load_version
load_version(sys.argv[1])
print(json.dumps({"imports": imported - started, "load": time.perf_counter() - imported}))
"""
STARTS = 5


def prod_and_candidate(folder: Path, rows: int) -> tuple[Path, Path, list[dict]]:
    """A prod bundle (`rows` training rows) and a different candidate (half as many) in `folder`, and prod's
    sample records, each keyed by a user id (`loan_id`) so that a rollout can route them stickily."""
    (folder / "prod").mkdir()
    (folder / "candidate").mkdir()
    prod, records = make_bundle(folder / "prod", rows)
    candidate, _ = make_bundle(folder / "candidate", rows // 2)
    return prod, candidate, [record | {"loan_id": f"U{i:09d}"} for i, record in enumerate(records)]


def make_bundle(folder: Path, rows: int = 20_000) -> tuple[Path, list[dict]]:
    """Train the default model on synthetic data, bundle it; return the bundle and sample records."""
    import contextlib

    import pyarrow as pa
    import yaml

    from lockstep.config import parse_params
    from lockstep.contract.model_contract import build_contract, write_contract
    from lockstep.data.prepare import prepare_data
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.modeling.persistence import save_model
    from lockstep.modeling.train import train_model
    from lockstep.registry.bundle import write_bundle

    cfg = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    prepared = prepare_data(generate_credit_data(rows, seed=1), cfg)
    with contextlib.chdir(folder):
        model = train_model(prepared.train, prepared.features, cfg)
        types = save_model(model, Path("models/model.skops"), Path("models/trusted_types.json"))
        write_contract(build_contract(prepared.features, cfg, types), Path("models/contract.json"))
        Path("models/model_card.json").write_text("{}")
        outs = "".join(
            f"    - path: models/{p.name}\n      md5: {hashlib.md5(p.read_bytes()).hexdigest()}\n"
            for p in sorted(Path("models").iterdir())
        )
        Path("dvc.lock").write_text("stages:\n  train:\n    outs:\n" + outs)
        _register_first_version()  # a bundle is made of a registered version only
        write_bundle(Path("bundle"), "v0.1.0", "prod")
    sample = prepared.test.drop(columns=[cfg.data.target]).head(1000)
    return folder / "bundle", pa.Table.from_pandas(sample, preserve_index=False).to_pylist()


def _register_first_version() -> None:
    """Commit the work tree (models/ and dvc.lock) in a new Git repository and register it as v0.1.0."""
    from lockstep import registry

    identity = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    identity |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    os.environ.update(identity)
    Path("dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-f", "dvc.yaml", "dvc.lock"], ["commit", "-q", "-m", "model"]):
        subprocess.run(["git", *args], check=True)
    registry.register(".")


async def _client(port: int, bodies: list[bytes], until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = 0
    while time.perf_counter() < until:
        body = bodies[index % len(bodies)]
        index += 1
        head = f"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        started = time.perf_counter()
        writer.write(head.encode() + body)
        headers = await reader.readuntil(b"\r\n\r\n")
        if not headers.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(headers.decode())
        length = int(
            next(line.split(b":")[1] for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length"))
        )
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
    writer.close()


def drive(port: int, bodies: list[bytes], clients: int, seconds: float) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) of `clients` keep-alive connections for `seconds`."""
    latencies: list[float] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, bodies, until, latencies) for _ in range(clients)))

    asyncio.run(main())
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / seconds,
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)],
    }


def scores(port: int, bodies: list[bytes]) -> list[tuple[str, float]]:
    """The arm and score the server answers for each body, one request at a time."""
    answers = []
    for body in bodies:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/predict", body, {"content-type": "application/json"}
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
        if "predictions" in answer:
            answers.append((answer["arm"], answer["predictions"][0]["score"]))
        else:  # the FastAPI baseline
            answers.append(("prod", answer["score"]))
    return answers


def expected_scores(bundle: Path, records: list[dict]) -> dict[str, list[float]]:
    """Each record's score, one row at a time in this process: by the serving path, and by the Pipeline.

    The two agree to about 1e-15, not bit for bit: a linear model's sums run in another order (and the
    Pipeline's own score for a row depends on the rows scored with it).
    """
    import numpy as np
    import pandas as pd

    from lockstep.contract.rows import check_rows
    from lockstep.registry.store import load_version

    loaded = load_version(str(bundle))
    frames = [pd.DataFrame([record])[loaded.contract.feature_names] for record in records]
    serving = [float(loaded.predict(check_rows(frame, loaded.contract).columns)["score"][0]) for frame in frames]
    pipeline = [float(loaded.model.predict_proba(frame)[0, 1]) for frame in frames]
    if not np.allclose(serving, pipeline, rtol=1e-12, atol=0):
        raise SystemExit("the serving path and the Pipeline score the same rows differently: not the same model")
    return {"serving": serving, "pipeline": pipeline}


def check_same_scores(name: str, answered: list[tuple[str, float]], expected: dict[str, list[float]]) -> None:
    """Each answer is, to the bit, the score the answering arm's path computes in this process: the same work."""
    for i, (arm, score) in enumerate(answered):
        if score != expected[arm][i]:
            raise SystemExit(f"{name}: record {i} scored {score!r} on {arm}, in process {expected[arm][i]!r}")


def start(command: list[str], port: int) -> subprocess.Popen:
    """Start a server process on CPU 0 and wait until it answers."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=lambda: pin(0))
    if not wait_up(port):
        process.kill()
        raise RuntimeError(f"{command[0]} did not start")
    return process


def wait_up(port: int, timeout: float = 120) -> bool:
    """Whether something answers HTTP on `port` within `timeout` seconds."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1)
            return True
        except urllib.error.HTTPError:  # FastAPI: no health route, but up
            return True
        except OSError:
            time.sleep(0.05)
    return False


def time_to_ready(
    command: list[str], port: int, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[float, float]:
    """Seconds from starting `command` until GET /v2/health/ready answers 200 on 127.0.0.1:`port`, and its CPU seconds.

    The CPU seconds are those the process had used when it was ready (NaN without /proc): on a loaded
    machine its wall time is mostly waiting.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started, cpu_seconds(process.pid)
            except OSError:  # not listening yet, or not ready (an HTTPError is an OSError)
                time.sleep(0.01)
        raise RuntimeError(f"{command[0]} was not ready within {timeout} s")
    finally:
        process.terminate()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (kept across its re-execution), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime, in clock ticks


def start_to_ready(bundle: Path, folder: Path, starts: int = STARTS, against: list[str] | None = None) -> None:
    """Median start to ready of `lockstep serve`, with its imports and model load beside it; and of clones at `against`.

    The variants start in turn, so that all see the same load. The sources are compiled first: this
    machine may set PYTHONDONTWRITEBYTECODE, and a start that compiles measures the compiler.
    """
    variants = {"this checkout": (REPO_ROOT / "src", command_env())}
    for rev in against or []:
        source = clone(folder / f"at-{len(variants)}")
        subprocess.run(["git", "-C", str(source), "checkout", "-q", rev], check=True)
        short = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        variants[f"at {short.stdout.strip()}"] = (source / "src", command_env(source))
    for source, _ in variants.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(source)], check=True)
    serve = [str(BIN / "lockstep"), "serve", "--model", str(bundle), "--port", "18070"]
    serve += ["--prediction-log", str(folder / "start.jsonl")]
    parts = ("ready", "cpu", "imports", "load")
    figures: dict[str, dict[str, list[float]]] = {name: {part: [] for part in parts} for name in variants}
    for _ in range(starts):
        for name, (_, env) in variants.items():
            ready, cpu = time_to_ready(serve, 18070, env)
            figures[name]["ready"].append(ready)
            figures[name]["cpu"].append(cpu)
            probe = subprocess.run(
                [sys.executable, "-c", START_PROBE, str(bundle)], env=env, capture_output=True, text=True, check=True
            )
            for part, seconds in json.loads(probe.stdout.splitlines()[-1]).items():
                figures[name][part].append(seconds)
    print(f"start to ready, median of {starts} (imports and model load: each in a process of its own), {load()}")
    print(f"this checkout: {commit()}")
    print(f"{'':14} {'ready':>8} {'imports':>8} {'load':>8} {'the rest':>9} {'CPU':>8}   each start to ready")
    for name, measured in figures.items():
        ready, cpu, imports, loading = (statistics.median(measured[part]) for part in parts)
        each = " ".join(f"{seconds:.2f}" for seconds in measured["ready"])
        rest = ready - imports - loading
        print(f"{name:14} {ready:7.2f}s {imports:7.2f}s {loading:7.2f}s {rest:8.2f}s {cpu:7.2f}s   {each}")


def pin(cpu: int) -> None:
    """Run this process (and what it starts from now on) on CPU `cpu` only, where the machine has two or more."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {cpu})


def in_process(bundle: Path, records: list[dict], repeats: int = 300) -> dict[str, dict[str, float]]:
    """p50/p99 (ms) on one row, on this process's core: the Pipeline's predict_proba, and the serving path.

    The serving path is what the server's micro-batcher calls (`ModelVersion.predict`: the linear fast
    path where it matches the Pipeline, scores and labels); the rows are checked against the contract first.
    """
    import pandas as pd

    from lockstep.contract.rows import check_rows
    from lockstep.registry.store import load_version

    loaded = load_version(str(bundle))
    frames = [pd.DataFrame([record])[loaded.contract.feature_names] for record in records]
    checked = [check_rows(frame, loaded.contract).columns for frame in frames]
    calls = {
        "Pipeline.predict_proba": lambda i: loaded.model.predict_proba(frames[i]),
        f"serving path ({type(loaded.scorer).__name__})": lambda i: loaded.predict(checked[i]),
    }
    figures = {}
    for name, call in calls.items():
        times = []
        for i in range(repeats):
            started = time.perf_counter()
            call(i % len(records))
            times.append(time.perf_counter() - started)
        times.sort()
        figures[name] = {"p50_ms": 1000 * times[len(times) // 2], "p99_ms": 1000 * times[int(len(times) * 0.99)]}
    return figures


def online(bundle: Path, records: list[dict], clients: list[int], seconds: float, log_only: bool = False) -> None:
    """`lockstep serve`, the same with the rotating-file log, and FastAPI (not with `log_only`), at each `clients`.

    All run at once, pinned to CPU 0, and are driven in turn at each number of clients (the others idle
    meanwhile), so that the two logs are measured on the same machine; their figures are then printed side
    by side, with what each log kept of the requests answered.
    """
    bodies = [json.dumps(record).encode() for record in records]
    expected = expected_scores(bundle, records[:CHECKED])
    if not log_only:
        for name, figures in in_process(bundle, records).items():
            print(f"in-process, one row, {name}: {figures}")
    pin(1)
    serve = ["serve", "--model", str(bundle), "--port", "{port}", "--prediction-log"]
    logs = {DURABLE: bundle.parent / "durable-log", ROTATING: bundle.parent / "rotating-log"}
    servers = {
        DURABLE: [
            str(BIN / "lockstep"),
            *serve,
            str(logs[DURABLE] / "predictions.jsonl"),
        ],
        ROTATING: [sys.executable, "-c", ROTATING_LOG_SERVE, *serve, str(logs[ROTATING] / "predictions.jsonl")],
    }
    if not log_only:
        servers["FastAPI async def"] = [sys.executable, "-c", FASTAPI_APP, str(bundle), "{port}"]
    ports = {name: 18_080 + i for i, name in enumerate(servers)}
    processes: dict[str, subprocess.Popen] = {}
    figures: dict[str, dict[int, dict[str, float]]] = {name: {} for name in servers}
    try:
        for name, command in servers.items():
            processes[name] = start([part.replace("{port}", str(ports[name])) for part in command], ports[name])
            path = "pipeline" if name.startswith("FastAPI") else "serving"
            check_same_scores(name, scores(ports[name], bodies[:CHECKED]), {"prod": expected[path]})
        for count in clients:
            for name in servers:
                figures[name][count] = drive(ports[name], bodies, count, seconds)
                print(f"{name:18} {count:3} clients: {figures[name][count]}")
    finally:
        for process in processes.values():
            process.terminate()  # SIGTERM: each server drains and closes its log
            process.wait()
    log_cost(figures, logs, clients, seconds)


# The two logs compared: this checkout's, and the one before issue 19, in the same server.
DURABLE, ROTATING = "lockstep serve", "rotating-file log"
# `lockstep serve` with the prediction log as it was before issue 19: a RotatingFileHandler of 5 x 10 MB fed
# by a QueueListener thread (what `write` costs a request is then one queue put, as with the durable log).
ROTATING_LOG_SERVE = """
import logging, logging.handlers, queue, sys
import msgspec
from lockstep import numerics
numerics.pin_process()  # as the `lockstep` command does
import lockstep.serving.app


class JsonLines(logging.Formatter):
    def format(self, record):
        return msgspec.json.encode(record.msg).decode()


class RotatingLog:
    def __init__(self, path, max_bytes=10_000_000, backups=5, background=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.handler.setFormatter(JsonLines())
        self.queue = queue.SimpleQueue()
        self.listener = logging.handlers.QueueListener(self.queue, self.handler)
        self.listener.start()

    def write(self, entry):
        self.queue.put(logging.makeLogRecord({"msg": entry, "levelno": logging.INFO, "levelname": "INFO"}))

    def close(self):
        self.listener.stop()
        self.handler.close()


lockstep.serving.app.PredictionLog = RotatingLog
from lockstep.cli import main
sys.exit(main(sys.argv[1:]))
"""


def log_cost(
    figures: dict[str, dict[int, dict[str, float]]], logs: dict[str, Path], clients: list[int], seconds: float
) -> None:
    """The two logs side by side: requests/s and p99 at each number of clients, and the lines each kept.

    Checks that the durable log holds a line for every request its server answered (the same work).
    """
    from lockstep.contract.prediction_log import read_predictions

    answered = {name: CHECKED + sum(round(figures[name][count]["rps"] * seconds) for count in clients) for name in logs}
    durable = sum(1 for _ in read_predictions(logs[DURABLE]))
    rotating = sum(path.read_bytes().count(b"\n") for path in logs[ROTATING].glob("predictions.jsonl*"))
    if durable != answered[DURABLE]:
        raise SystemExit(f"the durable log holds {durable:,} lines for {answered[DURABLE]:,} requests answered")
    print(f"the prediction log's cost, {seconds:g} s per point, the two servers in turn:")
    print(
        f"{'clients':>7}  {'durable req/s':>13} {'p99 ms':>7}  {'rotating req/s':>14} {'p99 ms':>7}  {'req/s ratio':>11}"
    )
    for count in clients:
        new, old = figures[DURABLE][count], figures[ROTATING][count]
        print(
            f"{count:7}  {new['rps']:13,.0f} {new['p99_ms']:7.2f}  {old['rps']:14,.0f} {old['p99_ms']:7.2f}"
            f"  {new['rps'] / old['rps']:11.3f}"
        )
    print(
        f"lines kept: durable {durable:,} of {answered[DURABLE]:,} requests answered; "
        f"rotating file {rotating:,} of {answered[ROTATING]:,}"
    )
    seal_cost(logs[DURABLE])


def seal_cost(log: Path) -> None:
    """What the spool spends sealing one full segment (SEGMENT_BYTES) of the lines this run logged, in CPU time.

    The runs above are too short to fill one; the spool thread seals at niceness 10, beside the handlers.
    """
    import gzip

    from lockstep.serving.log_spool import COMPRESS_LEVEL, seal
    from lockstep.serving.prediction_log import SEGMENT_BYTES

    lines = b"".join(gzip.decompress(path.read_bytes()) for path in sorted(log.rglob("*.jsonl.gz")))
    segment = log / "full.jsonl"
    segment.write_bytes((lines * (SEGMENT_BYTES // len(lines) + 1))[:SEGMENT_BYTES])
    started = time.process_time()
    sealed = seal(segment)
    cpu = time.process_time() - started
    per_line = cpu / (SEGMENT_BYTES / (len(lines) / lines.count(b"\n")))
    print(
        f"sealing a {SEGMENT_BYTES / 2**20:.0f} MB segment of these lines (gzip level {COMPRESS_LEVEL}): {cpu:.2f} s CPU, "
        f"{per_line * 1e6:.1f} us per line, {SEGMENT_BYTES / sealed.stat().st_size:.1f}x smaller"
    )


# The records whose answers are checked against the in-process scores, before each server is driven.
CHECKED = 20

# The process's own peak (VmHWM, in kB): ru_maxrss would count the benchmark's memory too, as a
# started process's maximum starts from its parent's at fork time.
PEAK_RSS = """
from lockstep import numerics
numerics.pin_process()  # as the `lockstep` command does
import re, sys
from lockstep.cli import main
code = main(sys.argv[1:])
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1), file=sys.stderr)
sys.exit(code)
"""


def batch(bundle: Path, records: list[dict], sizes: list[int], folder: Path, bare_max: int = 1_000_000) -> None:
    """Rows/s of `lockstep predict` (and of a bare predict_proba up to `bare_max` rows), and its peak RSS."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lockstep.registry.store import load_version
    from lockstep.serving.batch import score_files

    loaded = load_version(str(bundle))
    chunk = pa.Table.from_pandas(pd.DataFrame(records * (100_000 // len(records))), preserve_index=False)
    for size in sizes:
        path = folder / f"rows-{size}.parquet"
        with pq.ParquetWriter(path, chunk.schema) as writer:
            for start_row in range(0, size, len(chunk)):
                writer.write_table(chunk.slice(0, min(len(chunk), size - start_row)))
        bare = in_process = "-"
        bare_scores = None
        if size <= bare_max:  # in turn, 3 times each, medians: one run varies by tens of percent here
            frame = pd.read_parquet(path)[loaded.contract.feature_names]
            bare_rates, rates = [], []
            for _ in range(3):
                started = time.perf_counter()
                bare_scores = loaded.model.predict_proba(frame)[:, 1]
                bare_rates.append(size / (time.perf_counter() - started))
                # The same scoring as `lockstep predict` (read, check, score, write), without the process start.
                started = time.perf_counter()
                score_files(path, loaded, folder / "in-process.parquet", folder / "in-process.rejects.parquet")
                rates.append(size / (time.perf_counter() - started))
            del frame
            bare, in_process = f"{statistics.median(bare_rates):,.0f}", f"{statistics.median(rates):,.0f}"
        started = time.perf_counter()
        command = ["predict", "--model", str(bundle), "--input", str(path), "--output", str(folder / "out.parquet")]
        done = subprocess.run([sys.executable, "-c", PEAK_RSS, *command], check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
        written = pq.read_table(folder / "out.parquet", columns=["score"])["score"].to_numpy()
        if len(written) != size:
            raise SystemExit(f"the predict command scored {len(written):,} of {size:,} rows: not the same work")
        if bare_scores is not None:
            in_process_scores = pq.read_table(folder / "in-process.parquet", columns=["score"])["score"].to_numpy()
            if not (np.array_equal(written, bare_scores) and np.array_equal(in_process_scores, bare_scores)):
                raise SystemExit(f"batch {size:,}: the predict command, score_files and predict_proba differ")
        print(
            f"batch {size:>11,} rows: lockstep predict {size / seconds:,.0f} rows/s (process, imports included), "
            f"score_files in-process {in_process} rows/s, bare predict_proba {bare} rows/s; "
            f"lockstep predict peak RSS {peak_mb:,.0f} MB"
        )


def image(bundle: Path) -> None:
    cache = Path(os.environ.get("CONTAINER_CACHE", Path.home() / ".cache" / f"{NAME}-container"))
    buildah = ["buildah", "--root", str(cache / "storage"), "--runroot", str(cache / "run"), "--storage-driver", "vfs"]
    tag = f"localhost/{NAME}-model:bench"
    started = time.perf_counter()
    subprocess.run(
        [
            "make",
            "image",
            f"MODEL={bundle}",
            f"IMAGE={tag}",
            f"BASE_IMAGE=localhost/{NAME}-base:bookworm-python3.11-slim",
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    print(f"image build: {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "image.tar"
        subprocess.run([*buildah, "push", tag, f"oci-archive:{archive}"], check=True, capture_output=True)
        # The archive holds the layers gzip-compressed, as a registry stores and serves them.
        print(f"image size: {archive.stat().st_size / 1e6:.0f} MB compressed (OCI archive, gzip layers)")
    container = subprocess.run([*buildah, "from", tag], check=True, capture_output=True, text=True).stdout.strip()
    command = [NAME, "serve", "--model", "/model", "--port", "18090", "--prediction-log", "/tmp/p.jsonl"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*buildah, "run", "--isolation", "chroot", "--network", "host", container, "--", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if wait_up(18090):
            print(f"image start to ready: {time.perf_counter() - started:.1f} s")
    finally:
        os.killpg(process.pid, 15)
        process.wait()
        subprocess.run([*buildah, "rm", container], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--image", action="store_true", help="also build and start the image (buildah)")
    parser.add_argument("--quick", action="store_true", help="2 s per point, 50k and 200k batch rows")
    parser.add_argument("--smoke", action="store_true", help="a 2,000-row model, 0.5 s per point, 5k batch rows")
    parser.add_argument("--log-cost", action="store_true", help="only the durable log against the rotating file")
    parser.add_argument("--start-only", action="store_true", help="only the start to ready figures")
    parser.add_argument("--start-against", metavar="REV", nargs="+", default=[], help="also clones at REV..., in turn")
    args = parser.parse_args()
    rows = 20_000
    if args.quick:
        args.seconds, args.batch_sizes = 2, [50_000, 200_000]
    if args.smoke:
        args.seconds, args.clients, args.batch_sizes, rows = 0.5, [1, 8], [5_000], 2_000
    if args.log_cost:
        header("serving: the prediction log's cost")
        with tempfile.TemporaryDirectory() as scratch:
            online(*make_bundle(Path(scratch), rows), args.clients, args.seconds, log_only=True)
        print(f"at the end: {load()}")
        return
    header("serving")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        bundle, records = make_bundle(folder, rows)
        start_to_ready(bundle, folder, 1 if args.smoke else STARTS, args.start_against)
        if not args.start_only:
            online(bundle, records, args.clients, args.seconds)
            batch(bundle, records, args.batch_sizes, folder)
        if args.image:
            image(bundle)
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
