"""Monitoring: the served model watched against a reference saved at training.

The reference (the training data's profile and the label-free estimate's calibration) is fitted and written
by evaluate (`evaluation.reference`), so the monitor never reads the training data. This room holds a window's
counts accumulated chunk by chunk (`window`), its data-quality and drift checks (`drift`) and the label-free
estimate of performance (`estimate`): pure NumPy, SciPy and pandas (thresholds are arguments with defaults).
"""
