"""The one exception type whose message is meant for the user."""


class V2MError(Exception):
    """A problem the user can act on (bad input, missing file); shown as one line, no traceback."""


class Cancelled(Exception):
    """Raised inside long work when the user asked to stop; the caller drops partial results."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (see cleanup.handling_signals): like KeyboardInterrupt, not an
    Exception, so no `except Exception` swallows it on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
