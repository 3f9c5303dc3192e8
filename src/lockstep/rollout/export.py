"""Export the rollout as Kubernetes manifests, for teams that serve on KServe or Seldon Core 2.

- KServe: an `InferenceService` in two steps, as KServe's canary docs show:
  prod's serving image alone (its first revision takes all the traffic), then
  the candidate's image with `canaryTrafficPercent` (KServe splits between the
  last rolled-out revision, prod, and the new one). KServe has no shadow
  (kserve#2978, kserve#2240), and its split is per request, not sticky.
- Seldon Core 2: per arm a `Server` (an MLServer image that can load the
  bundle) and a `Model` pinned to it, and an `Experiment` whose `candidates`
  split the traffic, or whose `mirror` sends a copy to the shadow. Seldon's
  agent loads models through the Open Inference Protocol's model repository
  API, which only MLServer and Triton serve, so the project's own image cannot
  be a Seldon server. Seldon Core 2 is BSL-licensed since 2024.

`{version}` in an image or storage URI is replaced by each arm's model version.
Images must name a registry a cluster can pull from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import PACKAGE
from ..config import RolloutConfig, load_params
from ..errors import PipelineError
from ..io import atomic_path
from ..registry import PROD

TARGETS = ("kserve", "seldon")
# The repository `make push-image` pushes the serving image to (the deploy workflow's variable).
REGISTRY_ENV = "IMAGE_REGISTRY"
# A Kubernetes object name: a DNS-1123 label.
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Seldon: the capability of the Servers that load the bundle, and the Models' requirement.
CAPABILITY = f"{PACKAGE.replace('_', '-')}-bundle"
KSERVE_API = "serving.kserve.io/v1beta1"
SELDON_API = "mlops.seldon.io/v1alpha1"


def _k8s_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].rstrip("-")
    if not NAME.match(name):
        raise PipelineError(f"{text!r} gives no valid Kubernetes name; pass --name with lowercase letters and digits")
    return name


def pullable_image(target: str, image: str | None, environ: Mapping[str, str]) -> str:
    """`image`, or `$IMAGE_REGISTRY:{version}` for KServe; refused unless it names a registry host."""
    if not image and target == "kserve" and environ.get(REGISTRY_ENV, "").strip():
        image = environ[REGISTRY_ENV].strip().lower() + ":{version}"
    example = {"kserve": f"set {REGISTRY_ENV} (e.g. ghcr.io/acme/model)", "seldon": "an MLServer image, see the docs"}
    if not image:
        raise PipelineError(f"--target {target} needs a registry-qualified --image, or {example[target]}")
    host = image.split("/", 1)[0]
    qualified = "/" in image and ("." in host or ":" in host)
    if not qualified or host.split(":")[0] in ("localhost", "127.0.0.1") or re.search(r"\s", image):
        raise PipelineError(
            f"image {image!r} names no registry a cluster can pull from: "
            f"pass --image <registry host>/<path>:<tag>, or {example[target]}"
        )
    return image


def _inference_service(name: str, labels: dict[str, str], image: str, share: int | None) -> dict[str, Any]:
    api = KSERVE_API
    predictor: dict[str, Any] = {} if share is None else {"canaryTrafficPercent": share}
    predictor["containers"] = [
        {"name": "kserve-container", "image": image, "ports": [{"containerPort": 8080, "protocol": "TCP"}]}
    ]
    metadata = {"name": name, "labels": labels}
    return {"apiVersion": api, "kind": "InferenceService", "metadata": metadata, "spec": {"predictor": predictor}}


def kserve_manifests(
    name: str, settings: RolloutConfig, versions: dict[str, str], image: str, share: int
) -> list[dict[str, Any]]:
    """The InferenceService twice: prod's image alone, then the candidate's with `share`% of requests."""
    if settings.mode == "shadow":
        raise PipelineError("KServe has no shadow traffic (kserve#2978): export with --target seldon instead")
    service = _k8s_name(name)
    mode = str(settings.mode)
    steps = [(PROD, None), (settings.candidate_arm, share)]
    return [
        _inference_service(
            service,
            {"model-version": _k8s_name(versions[arm]), "rollout-arm": str(arm), "rollout-mode": mode},
            image.replace("{version}", versions[arm]),
            arm_share,
        )
        for arm, arm_share in steps
    ]


def seldon_manifests(
    name: str, settings: RolloutConfig, versions: dict[str, str], storage_uri: str, image: str, share: int | None
) -> list[dict[str, Any]]:
    """Per arm a Server and a Model on it; an Experiment: `candidates` with weights, or prod with a `mirror`."""
    experiment = _k8s_name(name)
    models = {arm: _k8s_name(f"{name}-{arm}") for arm in versions}
    servers = [
        {
            "apiVersion": SELDON_API,
            "kind": "Server",
            "metadata": {"name": f"{models[arm]}-server", "labels": {"model-version": _k8s_name(version)}},
            "spec": {
                "serverConfig": "mlserver",
                "capabilities": [CAPABILITY],
                "podSpec": {"containers": [{"name": "mlserver", "image": image.replace("{version}", version)}]},
            },
        }
        for arm, version in versions.items()
    ]
    model_specs = [
        {
            "apiVersion": SELDON_API,
            "kind": "Model",
            "metadata": {"name": models[arm], "labels": {"model-version": _k8s_name(version)}},
            "spec": {
                "storageUri": storage_uri.replace("{version}", version),
                "requirements": [CAPABILITY],
                "server": f"{models[arm]}-server",
            },
        }
        for arm, version in versions.items()
    ]
    candidate = models[settings.candidate_arm]
    if settings.mode == "shadow":
        spec: dict[str, Any] = {
            "default": models[PROD],
            "candidates": [{"name": models[PROD], "weight": 100}],
            "mirror": {"name": candidate, "percent": 100},
        }
    else:
        assert share is not None
        spec = {
            "default": models[PROD],
            "candidates": [{"name": models[PROD], "weight": 100 - share}, {"name": candidate, "weight": share}],
        }
    split = {"apiVersion": SELDON_API, "kind": "Experiment", "metadata": {"name": experiment}, "spec": spec}
    return [*servers, *model_specs, split]


def export_manifests(
    target: str, settings: RolloutConfig, name: str, image: str, storage_uri: str, repo: str = "."
) -> list[dict[str, Any]]:
    """The manifests of the rollout in `settings` for `target`, with the versions GTO's stages hold now."""
    from .. import registry

    if settings.mode == "none":
        raise PipelineError("params.yaml: rollout.mode is none: there is no rollout to export")
    if target not in TARGETS:
        raise PipelineError(f"--target {target!r}: choose one of {TARGETS}")
    versions = {}
    for stage in (PROD, settings.candidate_arm):
        version = registry.stage_version(repo, stage)
        if version is None:
            raise PipelineError(f"no version of {registry.ARTIFACT} is in stage {stage!r}: assign one first")
        versions[stage] = version
    share = settings.candidate_share
    if target == "kserve":
        return kserve_manifests(name, settings, versions, image, round(share or 0))
    return seldon_manifests(name, settings, versions, storage_uri, image, None if share is None else round(share))


def dump_manifests(manifests: list[dict[str, Any]], comment: str = "") -> str:
    """The manifests as one multi-document YAML text, in order, after `comment` as `#` lines."""
    import yaml

    header = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return header + yaml.safe_dump_all(manifests, sort_keys=False)


def _kserve_files(out: Path, manifests: list[dict[str, Any]]) -> dict[Path, str]:
    prod, candidate = manifests
    prod_file = out.with_name(f"{out.stem}.prod{out.suffix}")
    name = prod["metadata"]["name"]
    first = (
        f"Step 1 (skip it if prod's image already serves `{name}`), and the rollback:\n"
        f"prod's version alone. KServe's first revision takes all the traffic, and\n"
        f"canaryTrafficPercent splits between the last rolled-out revision and a new one.\n"
        f"  kubectl apply -f {prod_file.name}\n"
        f"  kubectl wait --for=condition=Ready inferenceservice/{name}\n"
        f"Then step 2: kubectl apply -f {out.name}"
    )
    second = (
        f"Step 2: the candidate's version with canaryTrafficPercent; the rest goes to the\n"
        f"last rolled-out revision, which must be prod's: first apply {prod_file.name} (step 1)\n"
        f"unless prod's image already serves `{name}` at 100%."
    )
    return {prod_file: dump_manifests([prod], first), out: dump_manifests([candidate], second)}


def run_export(
    target: str,
    out: Path,
    name: str,
    image: str | None,
    storage_uri: str | None,
    params_file: Path,
    environ: Mapping[str, str] = os.environ,
) -> list[Path]:
    """Write the rollout's manifests for `target` (KServe: two steps, two files); return the files written."""
    if target == "seldon" and not storage_uri:
        raise PipelineError("--target seldon needs --storage-uri, e.g. s3://models/credit/{version}")
    pulled = pullable_image(target, image, environ)
    settings = load_params(params_file).rollout
    manifests = export_manifests(target, settings, name, pulled, storage_uri or "")
    if target == "kserve":
        files = _kserve_files(out, manifests)
    else:
        note = (
            f"One Server per arm runs {pulled}: an MLServer image with\n"
            f'{PACKAGE}.serving.mlserver_runtime in it (docs/rollouts.md, "Export to KServe or Seldon").\n'
            f"Each Model's storageUri must be a bundle folder as `{PACKAGE} bundle` writes it.\n"
            f"Apply the whole file: kubectl apply -f {out.name}"
        )
        files = {out: dump_manifests(manifests, note)}
    for path, text in files.items():
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return list(files)
