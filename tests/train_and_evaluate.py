"""Run `train` then `evaluate` in each DIR, in one process pinned as the command pins itself.

Usage: python train_and_evaluate.py DIR [DIR ...] (absolute paths, each holding
params.yaml and data/prepared/). One process for several models saves the
imports that dominate a stage's time; the CPU-matrix test runs one per machine.
"""

import os
import sys

from lockstep import numerics

numerics.pin_process()  # as cli.run does, before NumPy loads

from lockstep.cli import main  # noqa: E402

for directory in sys.argv[1:]:
    os.chdir(directory)
    for stage in ("train", "evaluate"):
        if main([stage]) != 0:
            sys.exit(f"{stage} failed in {directory}")
