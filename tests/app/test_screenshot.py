"""`v2m-desktop VIDEO --generate --screenshot OUT.png` under Xvfb: a real window on a real
display, the real models; the picture is not blank and the lanes are drawn."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from v2m_desktop.app.timeline.lanes import PART_COLOURS, QUALITY_COLOURS


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed")
def test_screenshot_of_a_generated_window(bbb, tmp_path):
    out = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               V2M_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m",
                        "v2m_desktop.app.main", str(bbb), "--generate", "--seed", "0",
                        "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    img = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB888)
    assert img.width() >= 800 and img.height() >= 600
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    rgb = np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3).astype(int)
    assert rgb.std() > 20                                  # not blank
    background = np.median(rgb[-h // 3:].reshape(-1, 3), axis=0)
    timeline = rgb[h // 2:]
    differs = (np.abs(timeline - background).sum(-1) > 40).mean()
    assert differs > 0.15                                  # the lanes are drawn over the background

    def share(colour):
        want = np.array(QColor(colour).getRgb()[:3])
        return (np.abs(timeline - want).sum(-1) < 20).mean()
    assert share(QUALITY_COLOURS["maj"]) + share(QUALITY_COLOURS["min"]) > 0.002     # chord blocks
    assert share(PART_COLOURS["bass"]) > 0.001 and share(PART_COLOURS["piano"]) > 0.0005  # notes
    video = rgb[60:h // 2 - 60, w // 4: 3 * w // 4]
    assert video.std() > 30                                # the video's frame, not a black box
