"""The bundle's one program: the desktop app, or the `v2m` command line when it is started under
that name (the `v2m` link beside it) or given one of v2m's commands (`v2m-desktop score ...`)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def cli_commands() -> set[str]:
    from v2m_desktop.cli import build_parser
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main() -> int:
    args = sys.argv[1:]
    invoked = Path(sys.argv[0]).name.lower().removesuffix(".exe")
    if invoked == "v2m" or (args and args[0] in cli_commands()):
        from v2m_desktop.cli import main as cli
        return cli(args)
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")  # as app/main.py
    from v2m_desktop.app.main import main as app
    return app(args)


if __name__ == "__main__":
    sys.exit(main())
