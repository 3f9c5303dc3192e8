"""The one exception type a user sees as a short message instead of a traceback."""


class PipelineError(Exception):
    """Bad input or configuration: the message names the problem and the fix.

    `row`: the position of the first row the problem is in, within the table checked, if it is in rows
    (compute=dask adds where its partition starts, and names it).
    """

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row
