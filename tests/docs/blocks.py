"""The fenced shell blocks of the README and docs/, and the mark above each one.

Every shell block has an HTML comment on the line above it, invisible on GitHub
and on the site: `<!-- run -->` for one that the docs test runs in a fresh copy
of the project, or `<!-- skip: why -->` for one that cannot run there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELLS = ("bash", "sh", "shell", "console", "zsh")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
MARK = re.compile(r"^<!-- (?:(?P<run>run)|skip: (?P<reason>\S.*?)) -->$")


@dataclass(frozen=True)
class ShellBlock:
    """One fenced shell block: where it is, its commands, and its mark (`run`, `skip`, or None)."""

    page: str
    line: int
    text: str
    mark: str | None
    reason: str | None

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def shell_blocks(root: Path, page: str) -> list[ShellBlock]:
    """The shell blocks of the Markdown file at `root / page`, in order."""
    lines = (root / page).read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = next(
            (at for at in range(index + 1, len(lines)) if lines[at].strip() == fence and lines[at].startswith(indent)),
            len(lines),
        )
        if opening["info"] in SHELLS:
            body = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end])
            mark = MARK.match(lines[index - 1].strip()) if index else None
            kind = None if mark is None else ("run" if mark["run"] else "skip")
            blocks.append(ShellBlock(page, index + 1, body + "\n", kind, mark and mark["reason"]))
        index = end + 1
    return blocks


def documented_pages(root: Path) -> list[str]:
    """The README and every page of docs/, relative to `root`."""
    return ["README.md", *(path.relative_to(root).as_posix() for path in sorted((root / "docs").glob("*.md")))]


def all_shell_blocks(root: Path) -> list[ShellBlock]:
    """Every shell block of the README and docs/."""
    return [block for page in documented_pages(root) for block in shell_blocks(root, page)]
