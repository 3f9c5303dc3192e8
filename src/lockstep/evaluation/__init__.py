"""Evaluation: metrics, plots, slices, predictions, the model card and the monitoring reference."""
