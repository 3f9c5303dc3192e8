"""Serving: batch scoring of files, and the HTTP API, both through `store.load_version` and `predict_columns`."""
