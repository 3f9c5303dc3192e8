"""The README is a map and docs/ the manual: its size, the site's nav, links, marked examples, no dated figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.docs.blocks import all_shell_blocks, documented_pages

README_MAX_LINES = 200
# A link in Markdown: [text](target). Only relative targets are checked here; the site's build checks docs/.
LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
ISO_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def nav_pages(nav: list) -> list[str]:
    """Every page that mkdocs.yml's `nav` lists, depth first."""
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def prose(text: str) -> str:
    """`text` without its fenced blocks and code spans: what a reader takes as statements."""
    text = re.sub(r"^( *)(```|~~~).*?^\1\2", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def test_the_readme_is_a_map_under_200_lines() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines: move reference text to docs/"


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    nav = nav_pages(yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    pages = sorted(path.relative_to(REPO_ROOT / "docs").as_posix() for path in (REPO_ROOT / "docs").rglob("*.md"))
    assert sorted(nav) == pages
    assert len(set(nav)) == len(nav)


def test_the_readmes_links_to_files_resolve() -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    targets = [match["target"].split("#")[0] for match in LINK.finditer(text)]
    local = [target for target in targets if target and "://" not in target]
    assert local, "the README links to no page of docs/"
    assert [target for target in local if not (REPO_ROOT / target).exists()] == []


@pytest.mark.parametrize("block", all_shell_blocks(REPO_ROOT), ids=lambda block: block.name)
def test_every_shell_example_says_whether_it_runs(block) -> None:
    assert block.mark is not None, (
        f"{block.name}: put <!-- run --> (tests/docs runs it) or <!-- skip: why --> on the line above the block"
    )


@pytest.mark.parametrize("page", documented_pages(REPO_ROOT))
def test_no_dated_figures_outside_benchmarks(page: str) -> None:
    dates = ISO_DATE.findall(prose((REPO_ROOT / page).read_text(encoding="utf-8")))
    assert dates == [], f"{page} mentions {dates}: figures that date (times, loads) belong in BENCHMARKS.md"


def test_the_benchmarks_page_includes_benchmarks_md() -> None:
    page = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert '--8<-- "BENCHMARKS.md"' in page
    assert Path(REPO_ROOT / "BENCHMARKS.md").is_file()
