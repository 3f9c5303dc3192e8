"""Rollout: read what the served arms did, decide (promote, roll back, widen, wait), act, and export manifests."""
