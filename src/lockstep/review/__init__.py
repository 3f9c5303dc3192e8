"""Review: compare a revision's model with the base branch's, report, and gate the merge."""
