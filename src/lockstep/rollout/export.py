"""Export the rollout as Kubernetes manifests, for teams that serve on KServe or Seldon Core 2.

- KServe: an `InferenceService` whose predictor runs the candidate's serving
  image with `canaryTrafficPercent` (KServe keeps the last ready revision, prod,
  for the rest). KServe has no shadow (kserve#2978, kserve#2240), and its split
  is per request, not sticky per user.
- Seldon Core 2: a `Model` per version and an `Experiment` whose `candidates`
  split the traffic, or whose `mirror` sends a copy to the shadow. Seldon Core 2
  is BSL-licensed since 2024.

`{version}` in the image or storage URI is replaced by each model version.
"""

from __future__ import annotations

import re
from typing import Any

from ..config import RolloutConfig
from ..errors import PipelineError
from ..registry import PROD

TARGETS = ("kserve", "seldon")
# A Kubernetes object name: a DNS-1123 subdomain label.
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _k8s_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].rstrip("-")
    if not NAME.match(name):
        raise PipelineError(f"{text!r} gives no valid Kubernetes name; pass --name with lowercase letters and digits")
    return name


def kserve_manifests(
    name: str, settings: RolloutConfig, candidate_version: str, image: str, share: int
) -> list[dict[str, Any]]:
    """An InferenceService that sends `share`% of requests to the candidate's image (a canary or an A/B split)."""
    if settings.mode == "shadow":
        raise PipelineError("KServe has no shadow traffic (kserve#2978): export with --target seldon instead")
    service = _k8s_name(name)
    return [
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                "name": service,
                "labels": {"model-version": _k8s_name(candidate_version), "rollout-mode": str(settings.mode)},
            },
            "spec": {
                "predictor": {
                    "canaryTrafficPercent": share,
                    "containers": [
                        {
                            "name": "kserve-container",
                            "image": image.replace("{version}", candidate_version),
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        }
                    ],
                }
            },
        }
    ]


def seldon_manifests(
    name: str, settings: RolloutConfig, versions: dict[str, str], storage_uri: str, share: int | None
) -> list[dict[str, Any]]:
    """A Model per arm's version and an Experiment: `candidates` with weights, or prod with a `mirror` (shadow)."""
    experiment = _k8s_name(name)
    models = {arm: _k8s_name(f"{name}-{arm}") for arm in versions}
    manifests: list[dict[str, Any]] = [
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Model",
            "metadata": {"name": models[arm], "labels": {"model-version": _k8s_name(version)}},
            "spec": {"storageUri": storage_uri.replace("{version}", version)},
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
    manifests.append(
        {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment", "metadata": {"name": experiment}, "spec": spec}
    )
    return manifests


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
        return kserve_manifests(name, settings, versions[settings.candidate_arm], image, round(share or 0))
    return seldon_manifests(name, settings, versions, storage_uri, None if share is None else round(share))


def dump_manifests(manifests: list[dict[str, Any]]) -> str:
    """The manifests as one multi-document YAML text, in order."""
    import yaml

    return yaml.safe_dump_all(manifests, sort_keys=False)
