"""The desktop app: all Qt (PySide6) code lives here; it drives v2m_desktop.core."""
