"""Monitoring: the served model watched against a reference saved at training.

The room holds the reference profile of the training data (`profile`), a window's counts accumulated
chunk by chunk (`window`), and its data-quality and drift checks (`drift`): pure NumPy, SciPy and
pandas, importing nothing from the package's config for now (thresholds are arguments with defaults).
The label-free estimate of performance (`calibration`, `estimate`) sits beside them.
"""
