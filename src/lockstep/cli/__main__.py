"""`python -m <package>.cli` runs the command, pinned like the console script."""

from . import run

if __name__ == "__main__":
    run()
