"""Monitoring: the served model watched against a reference saved at training.

The reference (the training data's profile and the label-free estimate's calibration) is fitted and written
by evaluate (`evaluation.reference`), so the monitor never reads the training data. This room holds a window's
counts accumulated chunk by chunk (`window`), its data-quality and drift checks (`drift`), the label-free
estimate of performance (`estimate`), the logs cut into windows per arm and version (`logs`), the monitor that
checks each window and applies the alert rule (`monitor`), and its report (`report`, `plots`, `commands`):
pure NumPy, SciPy and pandas, with matplotlib for the plots.
"""
