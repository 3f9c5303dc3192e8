"""Monitoring: the served model watched against a reference saved at training."""
