"""Exported manifests: KServe in two steps (prod, then the candidate's canary), Seldon Core 2's Servers, Models, Experiment.

Every manifest is checked against its CRD's openAPIV3Schema, vendored in
crd_schemas/ (README.md there names each source), and for fields the schema
does not know, which Kubernetes would prune without a word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lockstep import registry
from lockstep.cli import main
from lockstep.config import parse_rollout
from lockstep.errors import PipelineError
from lockstep.rollout.export import (
    CAPABILITY,
    kserve_manifests,
    pullable_image,
    seldon_manifests,
)

from tests.shared import write_params

VERSIONS = {"prod": "v0.1.0", "canary": "v0.2.0"}
SHADOW_VERSIONS = {"prod": "v0.1.0", "shadow": "v0.2.0"}
IMAGE = "ghcr.io/acme/credit:{version}"
SCHEMAS = {
    json.loads(path.read_text())["kind"]: json.loads(path.read_text())
    for path in (Path(__file__).parent / "crd_schemas").glob("*.json")
}
METADATA = {"name", "namespace", "labels", "annotations"}


def unknown_fields(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """The paths in `value` that `schema` does not declare (where it does not preserve unknown fields)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, list) and "items" in schema:
        return [bad for i, item in enumerate(value) for bad in unknown_fields(item, schema["items"], f"{where}[{i}]")]
    if not isinstance(value, dict):
        return []
    if "properties" in schema:
        known = schema["properties"]
        return [
            bad
            for key, item in value.items()
            for bad in ([f"{where}.{key}"] if key not in known else unknown_fields(item, known[key], f"{where}.{key}"))
        ]
    if isinstance(schema.get("additionalProperties"), dict):
        extra = schema["additionalProperties"]
        return [bad for key, item in value.items() for bad in unknown_fields(item, extra, f"{where}.{key}")]
    return []


def assert_matches_crd(manifest: dict[str, Any]) -> None:
    """`manifest` is a valid object of its CRD, with no field the CRD does not know."""
    crd = SCHEMAS[manifest["kind"]]
    assert manifest["apiVersion"] == crd["apiVersion"]
    assert set(manifest["metadata"]) <= METADATA
    assert len(manifest["metadata"]["name"]) <= 63
    jsonschema.Draft7Validator(crd["openAPIV3Schema"]).validate(manifest)
    assert unknown_fields(manifest, crd["openAPIV3Schema"]) == []


def all_exports() -> list[tuple[str, dict[str, Any]]]:
    """Every manifest of every target and mode the export supports."""
    canary, ab, shadow = (
        parse_rollout({"mode": "canary", "percent": 10}),
        parse_rollout({"mode": "ab", "split": 30}),
        parse_rollout({"mode": "shadow"}),
    )
    exports = [
        *kserve_manifests("credit", canary, VERSIONS, IMAGE, 10),
        *kserve_manifests("credit", ab, VERSIONS, IMAGE, 30),
        *seldon_manifests("credit", canary, VERSIONS, "s3://m/{version}", IMAGE, 10),
        *seldon_manifests("credit", ab, VERSIONS, "s3://m/{version}", IMAGE, 30),
        *seldon_manifests("credit", shadow, SHADOW_VERSIONS, "s3://m/{version}", IMAGE, None),
    ]
    return [(f"{m['kind']}-{m['metadata']['name']}-{i}", m) for i, m in enumerate(exports)]


@pytest.mark.parametrize(("label", "manifest"), all_exports(), ids=[label for label, _ in all_exports()])
def test_every_exported_manifest_matches_its_crd(label: str, manifest: dict[str, Any]) -> None:
    assert_matches_crd(manifest)


def test_a_field_the_crd_does_not_know_fails_the_check() -> None:
    service = kserve_manifests("m", parse_rollout({"mode": "canary", "percent": 10}), VERSIONS, IMAGE, 10)[1]
    service["spec"]["predictor"]["canaryTraficPercent"] = 10
    service["spec"]["predictor"]["containers"][0]["imagePullPolicy"] = "Always"  # known: passes
    assert unknown_fields(service, SCHEMAS["InferenceService"]["openAPIV3Schema"]) == [
        ".spec.predictor.canaryTraficPercent"
    ]
    service["spec"]["predictor"]["canaryTrafficPercent"] = "ten"
    with pytest.raises(jsonschema.ValidationError):
        assert_matches_crd(service)


@pytest.mark.parametrize(
    "image",
    ["localhost/credit-model:{version}", "localhost:5000/m:1", "credit-model:{version}", "acme/credit:1", ""],
)
def test_an_image_no_cluster_can_pull_is_refused(image: str) -> None:
    with pytest.raises(PipelineError, match="registry"):
        pullable_image("kserve", image, {})


def test_the_image_comes_from_image_registry_as_make_push_image_pushes_it() -> None:
    assert pullable_image("kserve", None, {"IMAGE_REGISTRY": "ghcr.io/Acme/credit"}) == "ghcr.io/acme/credit:{version}"
    assert pullable_image("kserve", "reg.example:5000/m:{version}", {}) == "reg.example:5000/m:{version}"
    with pytest.raises(PipelineError, match="--image"):
        pullable_image("seldon", None, {"IMAGE_REGISTRY": "ghcr.io/acme/credit"})  # not an MLServer image


def test_kserve_serves_prod_first_then_gives_the_candidate_its_share() -> None:
    canary = parse_rollout({"mode": "canary", "percent": 10})
    prod, candidate = kserve_manifests("Credit_Risk", canary, VERSIONS, IMAGE, 10)
    assert prod["metadata"]["name"] == candidate["metadata"]["name"] == "credit-risk"
    assert "canaryTrafficPercent" not in prod["spec"]["predictor"]
    assert prod["spec"]["predictor"]["containers"][0]["image"] == "ghcr.io/acme/credit:v0.1.0"
    assert candidate["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert candidate["spec"]["predictor"]["containers"][0]["image"] == "ghcr.io/acme/credit:v0.2.0"


def test_kserve_has_no_shadow() -> None:
    with pytest.raises(PipelineError, match="KServe has no shadow traffic"):
        kserve_manifests("m", parse_rollout({"mode": "shadow"}), SHADOW_VERSIONS, IMAGE, 0)


def test_seldon_models_run_on_a_server_that_can_load_the_bundle() -> None:
    manifests = seldon_manifests(
        "model", parse_rollout({"mode": "ab", "split": 30}), VERSIONS, "s3://m/{version}", IMAGE, 30
    )
    servers = {m["metadata"]["name"]: m["spec"] for m in manifests if m["kind"] == "Server"}
    models = [m["spec"] for m in manifests if m["kind"] == "Model"]
    assert [m["storageUri"] for m in models] == ["s3://m/v0.1.0", "s3://m/v0.2.0"]
    for model in models:
        server = servers[model["server"]]
        assert set(model["requirements"]) <= set(server["capabilities"]) == {CAPABILITY}
        assert server["serverConfig"] == "mlserver"
    assert [s["podSpec"]["containers"] for s in servers.values()] == [
        [{"name": "mlserver", "image": "ghcr.io/acme/credit:v0.1.0"}],
        [{"name": "mlserver", "image": "ghcr.io/acme/credit:v0.2.0"}],
    ]
    assert manifests[-1]["spec"]["candidates"] == [
        {"name": "model-prod", "weight": 70},
        {"name": "model-canary", "weight": 30},
    ]


def test_seldon_mirrors_a_shadow() -> None:
    shadow = seldon_manifests(
        "model", parse_rollout({"mode": "shadow"}), SHADOW_VERSIONS, "s3://m/{version}", IMAGE, None
    )
    assert shadow[-1]["kind"] == "Experiment"
    assert shadow[-1]["spec"] == {
        "default": "model-prod",
        "candidates": [{"name": "model-prod", "weight": 100}],
        "mirror": {"name": "model-shadow", "percent": 100},
    }


def test_the_cli_writes_prod_and_the_canary_as_two_steps(rollout_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_params(rollout_repo / "params.yaml", rollout={"mode": "canary", "percent": 25})
    monkeypatch.setenv("IMAGE_REGISTRY", "ghcr.io/acme/credit")
    assert main(["rollout", "export", "--target", "kserve", "--out", "k.yaml"]) == 0
    prod_text = (rollout_repo / "k.prod.yaml").read_text()
    assert "kubectl apply -f k.prod.yaml" in prod_text
    assert "kubectl wait" in prod_text
    ((prod,), (candidate,)) = (
        list(yaml.safe_load_all(prod_text)),
        list(yaml.safe_load_all((rollout_repo / "k.yaml").read_text())),
    )
    assert prod["spec"]["predictor"]["containers"][0]["image"] == "ghcr.io/acme/credit:v0.1.0"
    assert candidate["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert candidate["spec"]["predictor"]["containers"][0]["image"] == "ghcr.io/acme/credit:v0.2.0"


def test_the_cli_refuses_what_cannot_deploy(
    rollout_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_params(rollout_repo / "params.yaml", rollout={"mode": "canary", "percent": 25})
    monkeypatch.delenv("IMAGE_REGISTRY", raising=False)
    assert main(["rollout", "export", "--target", "kserve", "--out", "k.yaml"]) == 2  # no registry
    assert main(["rollout", "export", "--target", "kserve", "--out", "k.yaml", "--image", "localhost/m:1"]) == 2
    assert not (rollout_repo / "k.yaml").exists()
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert all("registry" in line for line in errors), errors
    seldon = ["rollout", "export", "--target", "seldon", "--out", "s.yaml", "--image", IMAGE]
    assert main(seldon) == 2  # no --storage-uri
    registry.unassign(".", "v0.2.0", "canary", "rolled back")
    assert main([*seldon, "--storage-uri", "s3://m/{version}"]) == 2  # no candidate
    assert not (rollout_repo / "s.yaml").exists()
