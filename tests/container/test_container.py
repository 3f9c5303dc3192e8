"""The serving image: built from the Containerfile with buildah, run, and compared with the server on the host.

`make test-container` runs this (it builds the cached debootstrap base first); `make test` does not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.data.prepare import PreparedData

from tests.conftest import PACKAGE, REPO_ROOT, tool_env
from tests.http_client import Client, free_port, wait_ready
from tests.unit.serving.test_api import records
from tests.unit.serving.test_serve_faults import serve_process

IMAGE = "localhost/lockstep-model:test"
LOCAL_BASE = f"localhost/{PACKAGE}-base:bookworm-python3.11-slim"
CACHE = Path(os.environ.get("CONTAINER_CACHE", Path.home() / ".cache" / f"{PACKAGE}-container"))
BUILDAH = ["buildah", "--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run"), "--storage-driver", "vfs"]


def buildah(*args: str) -> str:
    return subprocess.run([*BUILDAH, *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def image(bundle: Path) -> dict:
    """The image built by `make image` for the test bundle, on the debootstrap base; its config."""
    started = time.monotonic()
    subprocess.run(
        ["make", "--no-print-directory", "image", f"MODEL={bundle}", f"IMAGE={IMAGE}", f"BASE_IMAGE={LOCAL_BASE}"],
        cwd=REPO_ROOT,
        env=tool_env(CONTAINER_CACHE=str(CACHE)),
        check=True,
    )
    print(f"image built in {time.monotonic() - started:.0f} s")
    return json.loads(buildah("inspect", "--type", "image", IMAGE))


@pytest.fixture(scope="module")
def container(image: dict) -> Iterator[str]:
    """A working container of the image; removed afterwards."""
    name = buildah("from", IMAGE).strip()
    yield name
    buildah("rm", name)


def test_the_image_runs_as_non_root_with_labels_and_a_healthcheck(image: dict, container: str) -> None:
    config = image["Docker"]["config"]
    assert config["User"] == "10001:10001"
    assert "/v2/health/ready" in " ".join(config["Healthcheck"]["Test"])
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == "v0.3.0"
    assert len(labels["org.opencontainers.image.revision"]) == 40
    uid = buildah("run", "--isolation", "chroot", container, "--", "python3.11", "-c", "import os; print(os.getuid())")
    assert uid.strip() == "10001"
    modules = buildah(
        "run",
        "--isolation",
        "chroot",
        container,
        "--",
        "python3.11",
        "-c",
        "import importlib.util as u;"
        " print([m for m in ('dvc', 'hydra', 'matplotlib', 'pandera', 'pyarrow', 'pip', 'setuptools') if u.find_spec(m)])",
    )
    assert modules.strip() == "[]"  # the serving dependency group only, without the installer


def test_the_image_keeps_nothing_the_base_was_built_with(container: str) -> None:
    # Issue 19: debootstrap's downloaded packages and apt's lists, kept in the cached rootfs, made the base
    # layer 108.5 MB (gzip) instead of 50.2. The cuts are made when the base is committed (make container-base).
    patterns = ("/debootstrap", "/var/cache/apt/archives/*.deb", "/var/cache/apt/*.bin", "/var/lib/apt/lists/*_*")
    patterns += ("/var/log/*.log", "/var/cache/debconf/*-old", "/var/lib/dpkg/*-old")
    script = f"import glob; print(sorted(path for pattern in {patterns!r} for path in glob.glob(pattern)))"
    left = buildah("run", "--isolation", "chroot", container, "--", "python3.11", "-c", script)
    assert left.strip() == "[]"


def test_the_served_image_answers_as_the_server_on_the_host(
    container: str, bundle: Path, prepared: PreparedData, tmp_path: Path
) -> None:
    port = free_port()
    command = [PACKAGE, "serve", "--model", "/model", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--prediction-log", "/var/log/lockstep/predictions.jsonl"]
    server = subprocess.Popen(
        [*BUILDAH, "run", "--isolation", "chroot", "--network", "host", container, "--", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        print(f"start to ready: {wait_ready(base, server):.1f} s")
        body = records(prepared.test.head(25))
        from_image = Client(base).request("POST", "/v1/predict", body)
        # The reference runs through the console script too: pinned numerics (numerics.py) like the image's
        # entry point. In pytest's own process (native numerics) a score can differ in its last bit.
        local_port = free_port()
        local = serve_process(bundle, local_port, tmp_path / "log.jsonl")
        try:
            wait_ready(f"http://127.0.0.1:{local_port}", local)
            on_host = Client(f"http://127.0.0.1:{local_port}").request("POST", "/v1/predict", body)
        finally:
            local.terminate()
            local.wait(timeout=60)
        assert from_image[0] == on_host[0] == 200
        assert from_image[1] == on_host[1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_the_image_is_pushed_tagged_with_its_model_version_within_150_mb(
    image: dict, bundle: Path, tmp_path: Path
) -> None:
    # The deploy workflow's push step (`make push-image`), to a local OCI archive instead of GHCR.
    archive = tmp_path / "image.tar"
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "push-image",
            f"MODEL={bundle}",
            f"IMAGE={IMAGE}",
            f"REGISTRY=oci-archive:{archive}",
        ],
        cwd=REPO_ROOT,
        env=tool_env(CONTAINER_CACHE=str(CACHE)),
        check=True,
    )
    with tarfile.open(archive) as tar:
        (manifest,) = json.load(tar.extractfile("index.json"))["manifests"]
        assert manifest["annotations"]["org.opencontainers.image.ref.name"] == "v0.3.0"
        blob = json.load(tar.extractfile(f"blobs/sha256/{manifest['digest'].removeprefix('sha256:')}"))
        config = json.load(tar.extractfile(f"blobs/sha256/{blob['config']['digest'].removeprefix('sha256:')}"))
        layers = [
            tar.getmember(f"blobs/sha256/{layer['digest'].removeprefix('sha256:')}").size for layer in blob["layers"]
        ]
    assert (
        config["config"]["Labels"]["org.opencontainers.image.revision"]
        == image["Docker"]["config"]["Labels"]["org.opencontainers.image.revision"]
    )
    print(f"compressed layers (MB): {[round(size / 1e6, 1) for size in layers]}, total {sum(layers) / 1e6:.1f}")
    assert sum(layers) <= 150e6  # issue 12's budget, gzip layers as a registry stores them
