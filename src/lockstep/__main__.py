"""`python -m <package>` runs the command, pinned like the console script."""

from .cli import run

if __name__ == "__main__":
    run()
