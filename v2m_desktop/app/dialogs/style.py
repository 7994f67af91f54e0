"""A style for the selected seconds: one of the styles, or Auto (the piece's style there again)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QListWidget, QListWidgetItem

from v2m_desktop.app.dialogs import form_with_ok_cancel


class StyleDialog(QDialog):
    chosen = Signal(str)        # a style's key, or auto

    def __init__(self, span_text: str, parent=None):
        super().__init__(parent)
        from v2m_desktop.core.arrange.styles import AUTO, all_styles
        self.setWindowTitle("Style for Selection")
        self.styles = QListWidget()
        for key, name, tip in [(AUTO, "Auto (the piece's style)", "No style of its own here")] + \
                [(k, s.name, s.summary) for k, s in sorted(all_styles().items(), key=lambda kv: kv[1].name)]:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(tip)
            self.styles.addItem(item)
        self.styles.setCurrentRow(0)
        self.styles.itemActivated.connect(lambda _item: self.accept())
        form = QFormLayout()
        form.addRow(QLabel(span_text))
        form.addRow(self.styles)
        form_with_ok_cancel(self, form)

    def accept(self) -> None:
        super().accept()
        item = self.styles.currentItem()
        if item is not None:
            self.chosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))
