"""The contract: what training hands to serving (task, columns and their rules, classes, threshold)."""
