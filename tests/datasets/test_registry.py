"""The dataset registry end to end: a registry project publishes, a consumer uses, updates and reproduces offline.

Two real Git repositories with bare origins, real DVC, and the moto S3 server with a bucket for each.
The registry keeps its S3 endpoint in `.dvc/config.local` (out of Git), as a team with its own
settings would: that is DVC's #8544, and `--source-remote-config` is the one-line fix this tool names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, VENV_BIN, Project, copy_project, fresh_shell_env
from tests.datasets.world import DATA, ENV, World, clone, command, loans, make_world, publish_csv
from tests.s3 import CREDENTIALS, s3_client
from tests.shared import link_environment


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> World:
    return make_world(tmp_path_factory, s3_endpoint, "registry-test")


def test_use_pins_the_version_and_the_model_card_names_it(world: World) -> None:
    consumer = world.consumer
    pin = yaml.safe_load(consumer.read("data/source/loans.csv.dvc"))["meta"]["dataset"]
    assert pin["version"] == "v1.0.0"
    assert pin["repo"] == str(world.registry.origin)
    assert "- data: loans" in consumer.read("conf/config.yaml")
    assert yaml.safe_load(consumer.read("params.yaml"))["data"]["ingest"]["path"] == DATA
    card = json.loads(consumer.read("models/model_card.json"))
    assert card["data"]["published"]["version"] == "v1.0.0"
    sheet = json.loads(consumer.read("data/datasheets/loans.json"))
    assert sheet["rows"] == 3000
    assert sheet["license"] == "CC0"
    assert sheet["source"]["command"] == f"dvc add {DATA}"
    listed = command(consumer, "data", "list", str(world.registry.origin)).stdout
    assert "loans" in listed
    assert "v1.0.0" in listed
    assert "prod" in listed


def test_a_missing_version_or_name_gets_one_line(world: World) -> None:
    origin = str(world.registry.origin)
    cases = {
        ("loans@9.9.9", *world.source_config): "has no version or stage '9.9.9'",
        ("nosuch@1.0.0", *world.source_config): "publishes no dataset 'nosuch'",
    }
    runs = [(world.consumer, ("data", "use", origin, *args), expected) for args, expected in cases.items()]
    # DVC's #10157 (pulling an imported folder): a folder is not a dataset, said in one line.
    runs.append((world.registry, ("data", "publish", "loans", "--path", "data/source"), "is a folder"))
    for project, args, expected in runs:
        failed = command(project, *args, check=False)
        assert failed.returncode == 2, failed.stdout
        errors = [line for line in failed.stdout.splitlines() if "error:" in line]
        assert len(errors) == 1, failed.stdout
        assert expected in errors[0], failed.stdout
    assert world.consumer.git_status() == ""


def test_a_project_made_with_copier_starts_as_a_consumer(world: World, tmp_path: Path) -> None:
    # Before the update test below, which takes the registry away.
    template = copy_project(tmp_path / "template")
    root = tmp_path / "new-project"
    answer = f"start_dataset={world.registry.origin} loans@1.0.0"
    made = subprocess.run(
        [
            str(VENV_BIN / "copier"),
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            "--data",
            answer,
            str(template.root),
            str(root),
        ],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    new = Project(root, root)
    new.run("git", "init", "-q", "-b", "main")
    new.commit_all("Create a consumer from the template")
    assert link_environment(REPO_ROOT, root)
    settings = f"START_DATASET_ARGS=--source-remote-config endpointurl={world.endpoint}"
    new.run("make", "repro", settings, env=fresh_shell_env() | CREDENTIALS)
    card = json.loads(new.read("models/model_card.json"))
    assert card["data"]["published"]["version"] == "v1.0.0"
    assert "?? data/source/loans.csv.dvc" in new.git_status()  # pinned, for the user to commit
    again = new.run("make", "repro", settings, env=fresh_shell_env() | CREDENTIALS).stdout
    assert "data use" not in again  # pinned once


def test_an_update_is_a_reviewed_diff_and_reproduces_with_the_registry_offline(world: World, tmp_path: Path) -> None:
    registry, consumer = world.registry, world.consumer
    publish_csv(registry, loans(3500), "Loans: 500 more")  # the same 3,000 rows first, then 500 new ones
    # A new version does not move the pin: `dvc repro` reproduces what is committed (an import's is the same).
    assert "Data and pipelines are up to date." in consumer.run("dvc", "status", env=ENV).stdout
    consumer.run("git", "checkout", "-q", "-b", "data-update")
    # DVC's #8544: the registry's endpoint lives in its config.local, which a fetch cannot see.
    unset = command(consumer, "data", "update", "loans", check=False)
    assert unset.returncode == 2, unset.stdout
    assert "pass them with --source-remote-config" in unset.stdout, unset.stdout
    assert consumer.git_status() == ""
    # What a crash during an update can leave: the new bytes, the old pin. Ingest refuses it; running again finishes.
    shutil.copy(registry.root / DATA, consumer.root / DATA)
    stopped = consumer.run("dvc", "repro", "--force", "--single-item", "ingest", env=ENV, check=False)
    assert stopped.returncode != 0, stopped.stdout
    assert "or an update was interrupted" in stopped.stdout, stopped.stdout
    command(consumer, "data", "update", "loans", *world.source_config)
    consumer.run("dvc", "repro", env=ENV)
    consumer.commit_all("Update loans to v1.1.0")
    command(consumer, "report", "--base", "main", "--out", "reports")
    report = consumer.read("reports/report.md")
    assert "v1.0.0 → **v1.1.0**" in report, report
    assert "3,000 → 3,500: 500 added, 0 removed, 3,000 kept (matched by loan_id)" in report, report
    # The gate compares the two models on the new test set, not each on its own.
    assert "the base model was scored again on this revision's 700 test rows" in report, report
    assert "paired bootstrap, 1000 resamples of 700 test rows" in report, report

    # A version that drops a column breaks the contract: refused, one line per difference, until accepted.
    publish_csv(registry, loans(3500).drop(columns=["loan_purpose"]), "Loans without a purpose")
    refused = command(consumer, "data", "update", "loans", *world.source_config, check=False)
    assert refused.returncode == 2, refused.stdout
    assert "column 'loan_purpose' is gone" in refused.stdout, refused.stdout
    assert "--accept-schema-change" in refused.stdout
    assert consumer.git_status() == ""
    command(consumer, "data", "update", "loans", "--accept-schema-change", *world.source_config)
    consumer.run("dvc", "repro", env=ENV)
    consumer.commit_all("Update loans to v1.2.0, without loan_purpose")
    consumer.run("dvc", "push", env=ENV)
    consumer.run("git", "push", "-q", "origin", "data-update")
    command(consumer, "report", "--base", "main", "--out", "reports")
    report = consumer.read("reports/report.md")
    assert "schema: column 'loan_purpose' is gone" in report, report
    assert "the base model cannot score the new one" in report, report
    locked = consumer.read("dvc.lock")

    # The registry goes away: its origin and its bucket.
    shutil.move(registry.origin, tmp_path / "gone.git")
    client = s3_client(world.endpoint)
    for listed in client.list_objects_v2(Bucket=world.registry_bucket).get("Contents", []):
        client.delete_object(Bucket=world.registry_bucket, Key=listed["Key"])
    client.delete_bucket(Bucket=world.registry_bucket)

    fresh = clone(consumer, tmp_path / "fresh", world.endpoint)
    fresh.run("dvc", "pull", env=ENV)
    assert link_environment(REPO_ROOT, fresh.root)
    fresh.run("make", "repro", env=fresh_shell_env() | CREDENTIALS)
    assert fresh.git_status() == ""
    fresh.run("dvc", "repro", "--force", env=ENV)  # every stage runs again, from the pinned bytes alone
    assert fresh.read("dvc.lock") == locked
    assert fresh.git_status() == ""
    verified = command(fresh, "data", "verify").stdout
    assert "unreachable, so not re-checked" in verified

    # A chain: the consumer publishes what it uses, and a third project takes it with the first registry gone.
    command(fresh, "data", "publish", "loans", "--path", DATA, "--version", "1.0.0", "--push")
    third = copy_project(tmp_path / "third")
    command(third, "data", "use", str(consumer.origin), "loans@1.0.0", *world.source_config)
    assert third.read(DATA) == fresh.read(DATA)

    # A tampered byte in the consumer's own remote. DVC trusts the remote (its `verify` is off), so
    # `dvc pull` takes it; `data verify` and ingest, whenever it runs, stop with one line.
    md5 = yaml.safe_load(fresh.read(f"{DATA}.dvc"))["outs"][0]["md5"]
    key = f"store/files/md5/{md5[:2]}/{md5[2:]}"
    body = client.get_object(Bucket=world.consumer_bucket, Key=key)["Body"].read()
    client.put_object(Bucket=world.consumer_bucket, Key=key, Body=body.replace(b"salaried", b"Salaried", 1))
    tampered = clone(consumer, tmp_path / "tampered", world.endpoint)
    tampered.run("dvc", "pull", env=ENV, check=False)
    checked = command(tampered, "data", "verify", check=False)
    assert checked.returncode == 2, checked.stdout
    assert checked.stdout.count("the copy is corrupted") == 1, checked.stdout
    stopped = tampered.run("dvc", "repro", "--force", "--single-item", "ingest", env=ENV, check=False)
    assert stopped.returncode != 0, stopped.stdout
    assert "the copy is corrupted" in stopped.stdout, stopped.stdout
    assert tampered.git_status() == ""  # nothing recorded in dvc.lock
