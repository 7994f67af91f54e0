"""The About box: the version and the shipped models (read from the files; no torch import)."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from v2m_desktop import __version__


def model_description() -> str:
    """The shipped models, for the About box (file names and sizes; no torch import)."""
    from v2m_desktop.core.resources import models_dir
    parts = []
    for name, what in (("chords.pt", "chord model (Affective Multimodal Transformer)"),
                       ("dynamics.pt", "note density and loudness model (bi-GRU)")):
        p = models_dir() / name
        size = f"{p.stat().st_size / 1e6:.1f} MB" if p.is_file() else "missing"
        parts.append(f"{what}: models/{name}, {size}")
    return "<br>".join(parts)


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About v2m-desktop",
                      f"<h3>v2m-desktop {__version__}</h3>"
                      "<p>Original soundtracks that follow a video's cuts, motion and mood.</p>"
                      f"<p>{model_description()}</p>"
                      "<p>Built on the Affective Multimodal Transformer of <i>Video2Music</i> "
                      "(Kang, Poria, Herremans, 2024).</p>")
