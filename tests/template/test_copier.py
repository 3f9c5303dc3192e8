"""The Copier template: a new project from this repository, and updates to it.

These tests render the committed repository with the `copier` command, as a
user would, and are themselves excluded from the projects they create.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import PACKAGE, REPO_ROOT, VENV_BIN, Project, copy_project, fresh_shell_env, tool_env

ANSWERS = {
    "project_name": "Acme Churn Risk",
    "package_name": "acme_churn",
    "description": "Predicts which Acme customers churn next quarter.",
    "author_name": "Acme ML team",
    "author_email": "ml@acme.example",
    "s3_remote_url": "s3://acme-models/churn",
    "primary_metric": "average_precision",
}
# Files only the template has: what copier.yml excludes (its settings, the rename task, these tests), and the twins.
EXCLUDED = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["_exclude"]
TEMPLATE_ONLY = re.compile("|".join([rf"^{re.escape(path)}(/.*)?$" for path in EXCLUDED] + [r".*\.jinja$"]))
# "lockstep" may stay where it is an ordinary word or names the template, not the package.
ALLOWED_MENTIONS = re.compile(r"Lockstep template|in lockstep with Git")


def copier(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the `copier` command of this environment."""
    return subprocess.run(
        [str(VENV_BIN / "copier"), *args], cwd=cwd, env=tool_env(), capture_output=True, text=True, check=False
    )


def render(template: Project, destination: Path, answers: dict[str, str], vcs_ref: str = "HEAD") -> Path:
    """`copier copy --trust` the template with `answers` (defaults for the rest) into `destination`."""
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    result = copier(
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        vcs_ref,
        *data,
        str(template.root),
        str(destination),
        cwd=destination.parent,
    )
    assert result.returncode == 0, result.stderr
    return destination


def tracked_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` outside .git, relative path -> content."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """This repository as a committed Git repo: what `copier copy <url>` clones."""
    return copy_project(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def acme(template: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered with non-default answers, committed to a new Git repository."""
    root = render(template, tmp_path_factory.mktemp("acme") / "acme-churn", ANSWERS)
    new = Project(root, root)
    new.run("git", "init", "-q", "-b", "main")
    new.commit_all("Create Acme Churn Risk from the Lockstep template")
    return root


def test_default_answers_render_the_repository_itself(template: Project, tmp_path: Path) -> None:
    rendered = tracked_files(render(template, tmp_path / "default", {}))
    expected = {name: data for name, data in tracked_files(template.root).items() if not TEMPLATE_ONLY.match(name)}
    answers = yaml.safe_load(rendered.pop(".copier-answers.yml"))
    drifted = sorted(name for name in expected.keys() | rendered.keys() if expected.get(name) != rendered.get(name))
    assert drifted == [], "the template and the repository differ; edit the .jinja twin and the file together"
    assert answers["package_name"] == PACKAGE
    assert "reserved_package_names" not in answers


def test_a_new_project_has_its_names_everywhere(acme: Path) -> None:
    package = ANSWERS["package_name"]
    assert (acme / "src" / package / "cli" / "__init__.py").is_file()
    assert not (acme / "src" / PACKAGE).exists()
    assert not (acme / "tests" / "template").exists()
    assert not (acme / "copier.yml").exists()
    pyproject = (acme / "pyproject.toml").read_text()
    assert 'name = "acme-churn"' in pyproject
    assert f'{package} = "{package}.cli:run"' in pyproject
    assert 'authors = [{ name = "Acme ML team", email = "ml@acme.example" }]' in pyproject
    readme = (acme / "README.md").read_text().splitlines()
    assert readme[:3] == ["# Acme Churn Risk", "", ANSWERS["description"]]
    dvc_yaml = yaml.safe_load((acme / "dvc.yaml").read_text())
    assert {stage["cmd"] for stage in dvc_yaml["stages"].values()} == {
        f"{package} {name}" for name in ("params --validate", "ingest", "prepare", "train", "evaluate")
    }
    assert f"from {package}.config import" in (acme / "tests" / "unit" / "config" / "test_loader.py").read_text()
    assert f"increase({package}_server_errors_total[5m])" in (acme / "monitoring" / "alerts.yml").read_text()
    assert f'"{package}_feature_drift_distance' in (acme / "monitoring" / "dashboard.json").read_text()


def test_the_docs_site_has_the_new_names_and_builds(acme: Path, tmp_path: Path) -> None:
    package = ANSWERS["package_name"]
    assert yaml.safe_load((acme / "mkdocs.yml").read_text())["site_name"] == ANSWERS["project_name"]
    assert (acme / "docs" / "index.md").read_text().splitlines()[:3] == [
        f"# {ANSWERS['project_name']}",
        "",
        ANSWERS["description"],
    ]
    assert f"`{package} serve --model" in (acme / "docs" / "serving.md").read_text()
    template_page = (acme / "docs" / "template.md").read_text()
    assert "## Pull template updates" in template_page
    assert "Start a new project" not in template_page
    result = subprocess.run(
        [str(VENV_BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=acme,
        env=tool_env(NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_no_template_syntax_or_old_name_is_left(acme: Path) -> None:
    leftovers = []
    for name, data in tracked_files(acme).items():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # parquet and other binary files
        for number, line in enumerate(text.splitlines(), 1):
            jinja = re.search(r"(?<!\$)\{\{|\{%", line)
            old_name = re.search(PACKAGE, ALLOWED_MENTIONS.sub("", line), re.IGNORECASE)
            if jinja or old_name:
                leftovers.append(f"{name}:{number}: {line.strip()}")
    assert leftovers == []


def test_the_answers_are_recorded_for_copier_update(acme: Path) -> None:
    answers = yaml.safe_load((acme / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in ANSWERS} == ANSWERS
    assert answers["gate_threshold"] == pytest.approx(0.3)
    assert answers["_commit"]
    assert Path(answers["_src_path"]).name == "work"  # the template repository it was made from


def test_the_gate_answers_reach_the_config(acme: Path) -> None:
    for name in ("conf/config.yaml", "params.yaml"):
        gate = yaml.safe_load((acme / name).read_text())["gate"]
        assert (gate["metric"], gate["threshold"]) == ("average_precision", 0.3)


def test_the_s3_answer_is_the_default_remote(acme: Path, template: Project) -> None:
    remotes = Project(acme, acme).run("dvc", "remote", "list").stdout.splitlines()
    assert [line.split()[0] for line in remotes] == ["local", "s3"]
    assert remotes[1].split()[1:] == [ANSWERS["s3_remote_url"], "(default)"]
    assert template.run("dvc", "config", "core.remote").stdout.strip() == "local"


def test_the_shipped_dvc_lock_matches_the_new_project(acme: Path) -> None:
    status = json.loads(Project(acme, acme).run("dvc", "status", "--json").stdout)
    changed_deps = {
        path: change
        for entries in status.values()
        for entry in entries
        if isinstance(entry, dict)
        for path, change in entry.get("changed deps", {}).items()
        if not isinstance(change, dict)  # a params file's changed keys
    }
    # The answers set the gate in params.yaml and in check_params' record of it, so no stage's params changed.
    params_changed = {
        stage
        for stage, entries in status.items()
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("changed deps", {}).get("params.yaml"), dict)
    }
    assert params_changed == set()
    # Only outputs of earlier stages are missing (nothing has run yet); code, config and uv.lock all match.
    assert set(changed_deps.values()) == {"deleted"}
    assert all(path.startswith(("data/raw/", "data/prepared/", "models/")) for path in changed_deps)


@pytest.mark.parametrize("package_name", ["longest_" + "n" * 32, "x", "zz_last"])
def test_any_valid_package_name_gives_a_lint_clean_project(
    template: Project, tmp_path: Path, package_name: str
) -> None:
    root = render(template, tmp_path / "project", {"package_name": package_name})
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([str(VENV_BIN / "ruff"), *command], cwd=root, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("package_name=My-Package", 'package_name "My-Package" is not a valid package name: use 1 to 40 lowercase'),
        ("package_name=3d_model", 'package_name "3d_model" is not a valid package name'),
        ("package_name=pandas", 'package_name "pandas" is taken'),
        ("package_name=class", 'package_name "class" is taken'),
        ("package_name=json", 'package_name "json" is taken'),
        ("description=C:\\data", "description must be one line without double quotes or backslashes"),
        ("s3_remote_url=https://bucket/x", 's3_remote_url "https://bucket/x" is not an S3 URL: use s3://bucket/prefix'),
        (
            "start_dataset=credit-loans@1.0.0",
            'start_dataset "credit-loans@1.0.0" is not a registry URL and NAME@VERSION',
        ),
    ],
)
def test_a_bad_answer_is_refused_with_its_reason(template: Project, tmp_path: Path, answer: str, message: str) -> None:
    destination = tmp_path / "never"
    result = copier(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "HEAD",
        "--data",
        answer,
        str(template.root),
        str(destination),
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert message in result.stderr.strip().splitlines()[-1]
    assert not destination.exists()


def test_copier_update_brings_a_newer_template_into_the_project(tmp_path: Path) -> None:
    template = copy_project(tmp_path / "template")
    template.run("git", "tag", "v1.0.0")
    project = Project(render(template, tmp_path / "acme-churn", ANSWERS, vcs_ref="v1.0.0"), tmp_path)
    project.run("git", "init", "-q", "-b", "main")
    project.commit_all("Create the project")
    package = ANSWERS["package_name"]
    readme = project.read("README.md").replace("## Quickstart", "Our own notes.\n\n## Quickstart")
    (project.root / "README.md").write_text(readme)
    features = project.root / "src" / package / "modeling" / "features.py"
    features.write_text(features.read_text() + "\n# Our own note in the package.\n")
    project.commit_all("Our own changes")
    our_lock = project.read("dvc.lock")

    # The template moves on: a new model config, and a change to the package's code.
    (template.root / "conf" / "model" / "extra_trees.yaml").write_text(
        "_target_: sklearn.ensemble.ExtraTreesClassifier\nn_estimators: 200\nrandom_state: ${seed}\n"
    )
    cli = template.root / "src" / PACKAGE / "cli" / "__init__.py"
    cli.write_text(cli.read_text().replace("plus the tools around it.", "plus the tools around it (v1.1)."))
    lock = template.root / "dvc.lock"
    lock.write_text(lock.read_text().replace("schema: '2.0'", "schema: '2.0'\n# the template's own results"))
    template.commit_all("Template v1.1.0")
    template.run("git", "tag", "v1.1.0")

    result = copier("update", "--trust", "--defaults", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert "plus the tools around it (v1.1)." in project.read(f"src/{package}/cli/__init__.py")
    assert project.read("conf/model/extra_trees.yaml").startswith("_target_: sklearn.ensemble.ExtraTreesClassifier")
    assert "Our own notes." in project.read("README.md")
    assert "# Our own note in the package." in features.read_text()
    assert project.read("dvc.lock") == our_lock  # the project's results are its own
    assert not (project.root / "src" / PACKAGE).exists()
    assert yaml.safe_load(project.read(".copier-answers.yml"))["_commit"] == "v1.1.0"
    conflicts = [line for line in project.git_status().splitlines() if line[:2] in ("UU", "AA", "DU", "UD")]
    assert conflicts == []
    assert not list(project.root.rglob("*.rej"))


def test_bake_a_new_project_then_its_lint_fast_tests_and_bit_for_bit_repro(acme: Path) -> None:
    """The whole promise (`make test-template`): create, commit, lint, test, `make repro`, and Git stays clean."""
    shipped_lock = (acme / "dvc.lock").read_text()
    env = fresh_shell_env()
    for target in ("lint", "test-fast", "repro"):
        result = subprocess.run(
            ["make", target], cwd=acme, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert result.returncode == 0, f"make {target} failed:\n{result.stdout[-6000:]}"
    assert "Running stage 'evaluate'" in result.stdout
    assert (acme / "dvc.lock").read_text() == shipped_lock, "make repro did not reproduce the shipped dvc.lock"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=acme, capture_output=True, text=True).stdout
    assert status == ""
