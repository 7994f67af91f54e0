"""The Qt binding itself: PySide6 6.12.0 lost a reference to None on every call of a Qt method
that returns nothing, and Python 3.11 aborts when None's count runs out (after a few thousand
repaints of the lanes).  pyproject.toml keeps that version out; this test catches it again."""
from __future__ import annotations

import sys

from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_none_alive(qapp):
    label = QLabel()
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for _ in range(2000):
            label.setText("x")
            painter.drawRect(0, 0, 2, 2)
        lost = before - sys.getrefcount(None)
    finally:
        painter.end()
    assert lost < 100, f"{lost} references to None lost in 4000 calls: a broken PySide6 build"
