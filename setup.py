"""The one build step pyproject.toml cannot say: a wheel carries the repository's top-level
models/ and resources/ inside the package (v2m_desktop/models, v2m_desktop/resources), where
v2m_desktop.core.resources looks first. The repository keeps them at its top (the house layout);
an editable install reads them there. Everything else is in pyproject.toml."""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("models", "resources")     # v2m_desktop.core.resources.SHIPPED_FOLDERS


class BuildPyWithShipped(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):     # the checkout's folders serve it
            return
        for name in SHIPPED:
            dest = Path(self.build_lib) / "v2m_desktop" / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(ROOT / name, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithShipped})
