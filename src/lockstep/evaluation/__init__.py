"""Evaluation: metrics, plots, slices, predictions and the model card."""
