"""Data: where the raw table comes from, what it must look like, and the split."""
