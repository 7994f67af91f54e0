"""Entry point of the `v2m-desktop` command (the desktop app)."""

from __future__ import annotations

import sys

NOT_BUILT = "v2m-desktop: the desktop app is not built yet; use the `v2m` command line (v2m --help)."


def main(argv: list[str] | None = None) -> int:
    """Start the desktop app; for now, say it is not built yet and return exit code 2."""
    print(NOT_BUILT, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
