"""The one exception type whose message is meant for the user."""


class V2MError(Exception):
    """A problem the user can act on (bad input, missing file); shown as one line, no traceback."""


class Cancelled(Exception):
    """Raised inside long work when the user asked to stop; the caller drops partial results."""
