"""Exported manifests: KServe's canaryTrafficPercent, Seldon Core 2's Experiment with candidates or a mirror.

No schema of these custom resources is available offline (check-jsonschema
vendors none, and kubernetes-validate knows only the core kinds), so the test
checks the YAML and the fields each controller reads, as their documentation
names them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lockstep import registry
from lockstep.cli import main
from lockstep.config import parse_rollout
from lockstep.errors import PipelineError
from lockstep.rollout.export import dump_manifests, kserve_manifests, seldon_manifests

from tests.shared import write_params

VERSIONS = {"prod": "v0.1.0", "canary": "v0.2.0"}


def test_kserve_gets_the_canary_share_and_the_candidates_image() -> None:
    canary = parse_rollout({"mode": "canary", "percent": 10})
    (service,) = yaml.safe_load_all(
        dump_manifests(kserve_manifests("Credit_Risk", canary, "v0.2.0", "reg/m:{version}", 10))
    )
    assert (service["apiVersion"], service["kind"], service["metadata"]["name"]) == (
        "serving.kserve.io/v1beta1",
        "InferenceService",
        "credit-risk",
    )
    predictor = service["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["containers"][0]["image"] == "reg/m:v0.2.0"


def test_kserve_has_no_shadow() -> None:
    with pytest.raises(PipelineError, match="KServe has no shadow traffic"):
        kserve_manifests("m", parse_rollout({"mode": "shadow"}), "v0.2.0", "img", 0)


def test_seldon_mirrors_a_shadow_and_weighs_a_canary() -> None:
    shadow = seldon_manifests(
        "model", parse_rollout({"mode": "shadow"}), {"prod": "v0.1.0", "shadow": "v0.2.0"}, "s3://m/{version}", None
    )
    models, experiment = shadow[:2], shadow[2]
    assert [m["spec"]["storageUri"] for m in models] == ["s3://m/v0.1.0", "s3://m/v0.2.0"]
    assert experiment["kind"] == "Experiment"
    assert experiment["spec"] == {
        "default": "model-prod",
        "candidates": [{"name": "model-prod", "weight": 100}],
        "mirror": {"name": "model-shadow", "percent": 100},
    }
    canary = seldon_manifests("model", parse_rollout({"mode": "ab", "split": 30}), VERSIONS, "s3://m/{version}", 30)
    assert canary[2]["spec"]["candidates"] == [
        {"name": "model-prod", "weight": 70},
        {"name": "model-canary", "weight": 30},
    ]


def test_the_cli_exports_the_versions_in_the_stages(rollout_repo: Path) -> None:
    write_params(rollout_repo / "params.yaml", rollout={"mode": "canary", "percent": 25})
    assert main(["rollout", "export", "--target", "kserve", "--out", "k.yaml", "--image", "reg/m:{version}"]) == 0
    (service,) = yaml.safe_load_all((rollout_repo / "k.yaml").read_text())
    assert service["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert service["spec"]["predictor"]["containers"][0]["image"] == "reg/m:v0.2.0"
    assert main(["rollout", "export", "--target", "seldon", "--out", "s.yaml"]) == 2  # no --storage-uri
    assert not (rollout_repo / "s.yaml").exists()
    registry.unassign(".", "v0.2.0", "canary", "rolled back")
    assert (
        main(["rollout", "export", "--target", "seldon", "--out", "s.yaml", "--storage-uri", "s3://m/{version}"]) == 2
    )
    assert not (rollout_repo / "s.yaml").exists()
