"""`python -m <package>` runs the command, pinned like the console script."""

from .cli import run

run()
