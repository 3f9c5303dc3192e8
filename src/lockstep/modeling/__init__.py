"""Modeling: the preprocessing, the estimator, training and model files."""
