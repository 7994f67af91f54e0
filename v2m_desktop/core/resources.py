"""Where the shipped files are: the models (`models/`) and the app's resources (`resources/`:
icons, the desktop entry, the .v2m MIME type).

One lookup for every kind of install. A wheel and the bundle carry both folders inside the
package (`v2m_desktop/models`, `v2m_desktop/resources`: setup.py's build step copies them
there); a checkout, and so an editable install, keeps them at the top of the repository (the house
layout). No torch or Qt import here: the app reads it before either is loaded."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SHIPPED_FOLDERS = ("models", "resources")


def package_dir() -> Path:
    """The installed package's folder (a real folder: wheels and the bundle are unpacked)."""
    return Path(str(files("v2m_desktop")))


def shipped_dir(name: str) -> Path:
    """`name` ("models" or "resources") inside the package, else beside it in a checkout; when
    neither exists, the package's path, so an error names where an install keeps it."""
    if name not in SHIPPED_FOLDERS:
        raise ValueError(f"not a shipped folder: {name}")
    inside = package_dir() / name
    for candidate in (inside, package_dir().parent / name):
        if candidate.is_dir():
            return candidate
    return inside


def models_dir() -> Path:
    return shipped_dir("models")


def resource(relative: str) -> Path:
    """A file under resources/, e.g. resource("icons/v2m-desktop.svg")."""
    return shipped_dir("resources") / relative
