"""The app's settings, kept with QSettings, and the theme (dark or light, following the system
unless the user chose one)."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ORG = APP = "v2m-desktop"
# core.arrange.INSTRUMENTS (not imported: no torch at start-up)
INSTRUMENTS = ("piano", "bass", "pad", "drums", "melody")
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "dark", "light")
MAX_RECENT = 10


class AppSettings:
    """Typed access to QSettings; every value has a default and is read fresh each time."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings(ORG, APP)

    def _get(self, key: str, default, cast):
        value = self.q.value(key, default)
        try:
            return cast(value)
        except (TypeError, ValueError):
            return default

    @property
    def device(self) -> str:
        d = self._get("device", "auto", str)
        return d if d in DEVICES else "auto"

    @device.setter
    def device(self, v: str) -> None:
        self.q.setValue("device", v)

    @property
    def clip_folder(self) -> str:
        return self._get("clip_folder", "", str)

    @clip_folder.setter
    def clip_folder(self, v: str) -> None:
        self.q.setValue("clip_folder", v)

    @property
    def soundfont(self) -> str:
        return self._get("soundfont", "", str)

    @soundfont.setter
    def soundfont(self, v: str) -> None:
        self.q.setValue("soundfont", v)

    @property
    def instruments(self) -> tuple[str, ...]:
        raw = self._get("instruments", ",".join(INSTRUMENTS), str)
        chosen = tuple(i for i in INSTRUMENTS if i in raw.split(","))
        return chosen or INSTRUMENTS

    @instruments.setter
    def instruments(self, v) -> None:
        self.q.setValue("instruments", ",".join(v))

    @property
    def theme(self) -> str:
        t = self._get("theme", "system", str)
        return t if t in THEMES else "system"

    @theme.setter
    def theme(self, v: str) -> None:
        self.q.setValue("theme", v)

    @property
    def original_level(self) -> float:
        return min(max(self._get("original_level", 0.0, float), 0.0), 1.0)

    @original_level.setter
    def original_level(self, v: float) -> None:
        self.q.setValue("original_level", float(v))

    @property
    def export_extras(self) -> set[str]:
        """What the export dialog also wrote last time ('midi', 'wav', 'stems')."""
        value = self._get("export/extras", "", str)
        return {k for k in value.split(",") if k in ("midi", "wav", "stems")}

    @export_extras.setter
    def export_extras(self, v) -> None:
        self.q.setValue("export/extras", ",".join(sorted(v)))

    @property
    def recent(self) -> list[str]:
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        items = [path] + [p for p in self.recent if p != path]
        self.q.setValue("recent", items[:MAX_RECENT])

    def clear_recent(self) -> None:
        self.q.setValue("recent", [])

    def sync(self) -> None:
        self.q.sync()


def is_dark(theme: str) -> bool:
    if theme in ("dark", "light"):
        return theme == "dark"
    from PySide6.QtCore import Qt
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str) -> None:
    """Fusion with a dark or a light palette."""
    app.setStyle("Fusion")
    if not is_dark(theme):
        app.setPalette(app.style().standardPalette())
        return
    pal = QPalette()
    roles = {QPalette.ColorRole.Window: "#2b2d31", QPalette.ColorRole.WindowText: "#e6e6e6",
             QPalette.ColorRole.Base: "#1f2023", QPalette.ColorRole.AlternateBase: "#2b2d31",
             QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#35373c",
             QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3d7bd9",
             QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#35373c",
             QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#8a8d93",
             QPalette.ColorRole.Mid: "#4a4c52", QPalette.ColorRole.Dark: "#18191b",
             QPalette.ColorRole.Light: "#45474d", QPalette.ColorRole.Link: "#6ea8ff"}
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7d8086"))
    app.setPalette(pal)
