"""The one exception type a user sees as a short message instead of a traceback."""


class PipelineError(Exception):
    """Bad input or configuration: the message names the problem and the fix."""
