"""Benchmark: how many requests a shadow loses under load, at 1, 8 and 32 clients (issue 19).

`lockstep serve` runs in shadow mode as the README runs it: on uvloop (which
uvicorn picks), with the rollout's default queue, a fresh server per point.
Two bundles of the default model (trained on two synthetic samples of
different sizes) play `prod` and the candidate. Each point warms the shadow up
(its process has scored a request), then sends a bounded number of requests
from that many keep-alive HTTP clients on 127.0.0.1 (asyncio, one process),
waits until the shadow has scored or dropped every one of them, and reads the
server's /metrics: the requests the shadow scored without error, dropped
(queue full, or a pipe that failed), or counted as crashed. Lost is every
request not scored: with an error, dropped, or not accounted for after
--settle seconds (a shadow that stalled). Two shapes of request: one record
(the README's), and many records per request, so that a batch overfills the
pipe to the shadow's process (the case that broke it before).

Neither the server nor the load generator is pinned to a core: the shadow's
process runs at niceness 19 wherever the kernel finds room, as it would for a
user. Before each server is driven, its shadow must have logged, to the bit,
the scores that the candidate computes in this process (the same work).

    python benchmarks/shadow.py [--requests 5000] [--wide-requests 500] [--wide-rows 200] [--settle 600]
    python benchmarks/shadow.py --smoke   # 2,000-row models, 200 requests per point: checks that it runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package: imported by path
from _env import BIN, header, load, pinned
from serving import NAME, expected_scores, prod_and_candidate, wait_up

CLIENTS = (1, 8, 32)
GOAL = 0.001  # at most this share of requests not shadowed, and no crash counted
CHECKED = 20  # warm-up requests whose shadow scores are checked against this process's


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _client(port: int, bodies: list[bytes], indexes: range) -> None:
    """POST `bodies[i]` for each i in `indexes` to /v1/predict on one keep-alive connection; each must be a 200."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in indexes:
        body = bodies[i % len(bodies)]
        head = f"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        headers = await reader.readuntil(b"\r\n\r\n")
        if not headers.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(headers.decode())
        length = next(line for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length"))
        await reader.readexactly(int(length.split(b":")[1]))
    writer.close()


def send(port: int, bodies: list[bytes], clients: int, requests: int) -> float:
    """Send `requests` of `bodies` from `clients` connections (request i from client i % clients); the seconds taken."""

    async def main() -> None:
        await asyncio.gather(*(_client(port, bodies, range(c, requests, clients)) for c in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started


def shadow_counts(port: int) -> dict[str, float]:
    """The shadow's counters in /metrics: requests it scored (with or without error), dropped, errors, crashes."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    counts = dict.fromkeys(("scored", "dropped", "errors", "crashes"), 0.0)
    prefixes = {
        "scored": NAME + '_arm_requests_total{arm="shadow"',  # no doubled braces: Copier reads them
        "dropped": f"{NAME}_shadow_dropped_total ",
        "errors": NAME + "_shadow_errors_total{",
        "crashes": NAME + '_shadow_errors_total{kind="crash"}',
    }
    for line in text.splitlines():
        for name, prefix in prefixes.items():
            if line.startswith(prefix):
                counts[name] += float(line.rsplit(" ", 1)[1])
    return counts


def wait_accounted(port: int, total: int, timeout: float) -> dict[str, float]:
    """The counts once the shadow has scored or dropped `total` requests in all (or after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    counts = shadow_counts(port)
    while counts["scored"] + counts["dropped"] < total and time.monotonic() < deadline:
        time.sleep(0.2)
        counts = shadow_counts(port)
    return counts


def check_shadow_scores(log: Path, bodies: list[bytes], expected: list[float]) -> None:
    """The shadow's logged scores of the warm-up requests are, to the bit, the candidate's in this process."""
    from lockstep.contract.prediction_log import read_predictions

    first = {json.loads(body)[0]["loan_id"]: i for i, body in enumerate(bodies[:CHECKED])}
    logged: dict[str, float] = {}
    for line in read_predictions(log):
        if not line.served and line.error is None:  # the first scored line of each (the run reuses the bodies)
            logged.setdefault(line.ids[0], line.outputs["score"][0])
    for loan_id, i in first.items():
        if logged.get(loan_id) != expected[i]:
            raise SystemExit(f"the shadow scored request {i} {logged.get(loan_id)!r}, in process {expected[i]!r}")


def point(
    paths: tuple[Path, Path, Path], bodies: list[bytes], clients: int, requests: int, settle: float
) -> tuple[dict[str, float], Path]:
    """A fresh shadow server: warmed up, then `requests` from `clients` clients; its counts and rps, and its log."""
    import subprocess

    prod, candidate, folder = paths
    port = free_port()
    rollout = folder / f"shadow-{port}.yaml"
    rollout.write_text(f"mode: shadow\ncandidate: {candidate}\n")
    log = folder / f"log-{port}"
    command = [str(BIN / NAME), "serve", "--model", str(prod), "--port", str(port), "--rollout", str(rollout)]
    process = subprocess.Popen(
        [*command, "--prediction-log", str(log / "predictions.jsonl")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not wait_up(port):
            raise RuntimeError("lockstep serve did not start")
        send(port, bodies, 1, CHECKED)  # and the shadow's process starts
        before = wait_accounted(port, CHECKED, settle)
        seconds = send(port, bodies[CHECKED:] + bodies[:CHECKED], clients, requests)
        after = wait_accounted(port, CHECKED + requests, settle)
    finally:
        process.terminate()
        process.wait(timeout=60)
    counts = {name: after[name] - before[name] for name in after}
    counts["lost"] = requests - (counts["scored"] - counts["errors"])
    return counts | {"rps": requests / seconds}, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000, help="one-record requests per point")
    parser.add_argument("--wide-requests", type=int, default=500, help="many-record requests per point")
    parser.add_argument("--wide-rows", type=int, default=200, help="records per many-record request")
    parser.add_argument(
        "--settle", type=float, default=600, help="seconds to wait for the shadow to score or drop every request"
    )
    parser.add_argument("--smoke", action="store_true", help="2,000-row models, 200 (and 40) requests per point")
    args = parser.parse_args()
    rows = 20_000
    if args.smoke:
        args.requests, args.wide_requests, args.wide_rows, rows = 200, 40, 200, 2_000
    header("shadow")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prod, candidate, keyed = prod_and_candidate(folder, rows)
        expected = expected_scores(candidate, keyed[:CHECKED])["serving"]
        shapes = {
            "1 record": (args.requests, [json.dumps([record]).encode() for record in keyed]),
            f"{args.wide_rows} records": (args.wide_requests, _wide(keyed, args.wide_rows, args.wide_requests)),
        }
        print(f"shadow loss (requests not shadowed; goal < {100 * GOAL:.1f}% and no crash), a fresh server per point:")
        print(" " * 38 + "".join(f"{f'{c} client(s)':>13}" for c in CLIENTS))
        met = True
        for shape, (requests, bodies) in shapes.items():
            column = []
            for clients in CLIENTS:
                counts, log = point((prod, candidate, folder), bodies, clients, requests, args.settle)
                if shape == "1 record":
                    check_shadow_scores(log, bodies, expected)
                met &= counts["lost"] / requests < GOAL and counts["crashes"] == 0
                column.append(counts | {"lost": 100 * counts["lost"] / requests})
            title = f"{requests:,} requests of {shape}"
            for stat, form in (("lost", "{:.2f}%"), ("crashes", "{:.0f}"), ("dropped", "{:.0f}"), ("rps", "{:.0f}")):
                cells = "".join(f"{form.format(figures[stat]):>13}" for figures in column)
                print(f"{title:28}{stat:>10}{cells}", flush=True)
                title = ""
        print(f"goal (< {100 * GOAL:.1f}% lost, no crash) at every point: {'met' if met else 'NOT met'}")
    print(f"at the end: {load()}")


def _wide(records: list[dict], rows: int, requests: int) -> list[bytes]:
    """`requests` bodies of `rows` records each (records reused, each request's loan_ids its own)."""
    return [
        json.dumps([records[(i * rows + j) % len(records)] | {"loan_id": f"W{i}-{j}"} for j in range(rows)]).encode()
        for i in range(requests)
    ]


if __name__ == "__main__":
    pinned()
    main()
