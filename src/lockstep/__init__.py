__version__ = "0.1.0"
# The package's own name. Its code never spells it, so a project that renames it keeps every hash.
PACKAGE = __name__
