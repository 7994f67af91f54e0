"""Render resources/icons/v2m-desktop.svg to the PNG sizes a desktop needs
(resources/icons/v2m-desktop-SIZE.png). Run again after changing the SVG:
    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make-icons.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs it
    svg = QSvgRenderer(str(ICONS / "v2m-desktop.svg"))
    if not svg.isValid():
        print("make-icons: the SVG does not parse", file=sys.stderr)
        return 1
    for size in SIZES:
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        svg.render(painter)
        painter.end()
        out = ICONS / f"v2m-desktop-{size}.png"
        if not img.save(str(out)):
            print(f"make-icons: cannot write {out}", file=sys.stderr)
            return 1
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
