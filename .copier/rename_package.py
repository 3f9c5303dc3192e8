"""Copier task: make the copied template the project the answers describe.

Copier runs this in the new project's root after it has copied the files, and
again in the project on `copier update`. It runs in Copier's own Python, so it
uses only the standard library and PyYAML (a dependency of Copier). It:

1. moves src/lockstep/ to src/<package>/ (over the existing one on an update);
2. replaces the package name in the files the template ships: imports in tests,
   commands in dvc.yaml and the Makefile, paths in dvc.lock, uv.lock's entry,
   the metric names in monitoring/ (the alert rules and the dashboard);
3. sets the title and first paragraph of the README and of the docs' overview
   (docs/index.md), the docs site's name (mkdocs.yml), drops the sections on
   creating projects (README, docs/), and sets the gate's metric and threshold in
   conf/config.yaml and params.yaml;
4. keeps the shipped dvc.lock true: uv.lock's new hash replaces its old one.
   The package's own files do not mention its name, so their hashes, and every
   output of the pipeline, are the same under any name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PACKAGE = "lockstep"
# The word also appears in its everyday sense ("move in lockstep with Git").
PACKAGE_WORD = re.compile(rf"\b{TEMPLATE_PACKAGE}\b(?! with Git)")
# Environment variables the package names after itself (LOCKSTEP_NUMERICS).
VARIABLE_PREFIX = re.compile(rf"\b{TEMPLATE_PACKAGE.upper()}_")
# The server's Prometheus metrics, as the alert rules and the dashboard name them (lockstep_server_errors_total).
METRIC_PREFIX = re.compile(rf"\b{TEMPLATE_PACKAGE}_")


@cache
def template_settings(template_root: Path = TEMPLATE_ROOT) -> dict[str, Any]:
    """The template's copier.yml: its `_exclude` list and its questions' defaults."""
    return yaml.safe_load((template_root / "copier.yml").read_text(encoding="utf-8"))


def shipped_files(template_root: Path, package: str) -> list[Path]:
    """Where each file the template copies as it is lands in the project (relative paths)."""
    excluded = template_settings(template_root)["_exclude"]
    files = []
    for path in sorted(template_root.rglob("*")):
        relative = path.relative_to(template_root)
        if not path.is_file() or path.suffix == ".jinja":
            continue
        if any(relative.as_posix() == part or relative.as_posix().startswith(part + "/") for part in excluded):
            continue
        parts = list(relative.parts)
        if parts[:2] == ["src", TEMPLATE_PACKAGE]:
            parts[1] = package
        files.append(Path(*parts))
    return files


def move_package(project: Path, package: str) -> None:
    """Move src/lockstep/ to src/<package>/, file by file, replacing what is there."""
    source = project / "src" / TEMPLATE_PACKAGE
    if package == TEMPLATE_PACKAGE or not source.is_dir():
        return
    target = project / "src" / package
    for path in sorted(source.rglob("*")):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            path.replace(destination)
    shutil.rmtree(source)


def distribution_name(package: str) -> str:
    """The name uv.lock records for the project (PEP 503 normalized)."""
    return re.sub(r"[-_.]+", "-", package).lower()


def file_md5(path: Path) -> tuple[str, int]:
    """(md5, size) as DVC records a file dependency."""
    data = path.read_bytes()
    return hashlib.md5(data).hexdigest(), len(data)


def rename_in_text(text: str, relative: Path, package: str) -> str:
    """`text` of the file at `relative`, with the package name replaced."""
    if relative.as_posix() == "uv.lock":
        return text.replace(f'name = "{TEMPLATE_PACKAGE}"', f'name = "{distribution_name(package)}"')
    text = METRIC_PREFIX.sub(f"{package}_", PACKAGE_WORD.sub(package, text))
    return VARIABLE_PREFIX.sub(f"{package.upper()}_", text)


def set_readme_head(text: str, title: str, description: str, template_title: str, template_description: str) -> str:
    """Put the project's title and description at the top of the README, if they differ from the template's."""
    lines = text.split("\n")
    if title != template_title and lines[0] == f"# {template_title}":
        lines[0] = f"# {title}"
    if description != template_description and lines[1] == "":
        end = lines.index("", 2)
        lines[2:end] = [description]
    return "\n".join(lines)


def drop_template_only(text: str) -> str:
    """A page (the README, a docs page) without its template-only section (how to create a project)."""
    start, end = "<!-- template-only", "<!-- /template-only -->\n\n"
    if start not in text or end not in text:
        return text
    return text[: text.index(start)] + text[text.index(end) + len(end) :]


def set_site_name(text: str, title: str, template_title: str) -> str:
    """mkdocs.yml with the docs site named `title`, if it differs from the template's (a JSON string is YAML)."""
    if title == template_title:
        return text
    name = json.dumps(title, ensure_ascii=False)
    return text.replace(f"\nsite_name: {template_title}\n", f"\nsite_name: {name}\n", 1)


def set_gate(text: str, metric: str, threshold: float) -> str:
    """Set `gate.metric` and `gate.threshold` in a YAML file, leaving the rest byte for byte.

    The `gate:` block may be nested (dvc.lock records the whole params.yaml under the check_params stage).
    """
    lines = text.split("\n")
    start = next(index for index, line in enumerate(lines) if line.strip() == "gate:")
    child = " " * (len(lines[start]) - len(lines[start].lstrip()) + 2)
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line.strip() and not line.startswith(child) and not line.strip().startswith("#"):
            break
        key, _, value = line.strip().partition(": ")
        if key == "metric" and value.split("#")[0].strip() != metric:
            lines[index] = f"{child}metric: {metric}"
        if key == "threshold" and float(value.split("#")[0]) != threshold:
            lines[index] = f"{child}threshold: {threshold!r}"
    return "\n".join(lines)


def update_uv_lock_hash(dvc_lock: str, old: tuple[str, int], new: tuple[str, int]) -> str:
    """Replace uv.lock's recorded (md5, size) `old` by `new` in dvc.lock's text."""
    pattern = re.compile(rf"(- path: uv\.lock\n\s+hash: md5\n\s+md5: ){old[0]}(\n\s+size: ){old[1]}\n")
    return pattern.sub(rf"\g<1>{new[0]}\g<2>{new[1]}\n", dvc_lock)


def main() -> None:
    """Parse the answers Copier passes and rename the project in the current folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--description", required=True)
    parser.add_argument("--gate-metric", required=True)
    parser.add_argument("--gate-threshold", type=float, required=True)
    args = parser.parse_args()
    project = Path.cwd()

    move_package(project, args.package)
    old_uv_lock = file_md5(TEMPLATE_ROOT / "uv.lock")
    if args.package != TEMPLATE_PACKAGE:
        for relative in shipped_files(TEMPLATE_ROOT, args.package):
            path = project / relative
            try:
                text = path.read_text(encoding="utf-8")
            except (FileNotFoundError, UnicodeDecodeError):
                continue  # excluded by the user, or binary
            renamed = rename_in_text(text, relative, args.package)
            if renamed != text:
                path.write_text(renamed, encoding="utf-8")

    settings = template_settings()
    template_title, template_description = (settings[key]["default"] for key in ("project_name", "description"))
    renamed = (args.package, args.project_name) != (TEMPLATE_PACKAGE, template_title)
    pages = [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    for page in (path for path in pages if path.is_file()):
        text = page.read_text(encoding="utf-8")
        if page.name in ("README.md", "index.md"):  # the two that open with the title and description
            text = set_readme_head(text, args.project_name, args.description, template_title, template_description)
        if renamed:
            text = drop_template_only(text)
        if text != page.read_text(encoding="utf-8"):
            page.write_text(text, encoding="utf-8")
    site = project / "mkdocs.yml"
    if site.is_file():
        site.write_text(set_site_name(site.read_text(encoding="utf-8"), args.project_name, template_title))
    for name in ("conf/config.yaml", "params.yaml"):
        path = project / name
        if path.is_file():
            path.write_text(set_gate(path.read_text(encoding="utf-8"), args.gate_metric, args.gate_threshold))
    dvc_lock = project / "dvc.lock"
    if dvc_lock.is_file() and (project / "uv.lock").is_file():
        text = update_uv_lock_hash(dvc_lock.read_text(encoding="utf-8"), old_uv_lock, file_md5(project / "uv.lock"))
        if "\n        gate:\n" in text:  # check_params records the whole params.yaml, the gate with it
            text = set_gate(text, args.gate_metric, args.gate_threshold)
        dvc_lock.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
