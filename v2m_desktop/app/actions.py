"""Every action of the window, declared as data (as beeref keeps its actions): its text, what it
calls, its shortcuts and tip, and the menus that show it.  `build` makes the QActions; the
window only wires them.

A handler is "target.method" (the targets are the objects the window hands `build`: window,
editing, documents, player, timeline, session) with fixed arguments, if any."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QStyle, QToolBar, QWidget

SK = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    handler: str                                # "target.method"
    keys: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    args: tuple = ()
    checkable: bool = False
    editing: bool = False                       # acts on the open project: off while busy or none


ACTIONS: tuple[ActionSpec, ...] = (
    # files
    ActionSpec("open", "&Open Video…", "documents.open_dialog", (SK.Open,), "Open a video"),
    ActionSpec("save", "&Save Project", "documents.save_project", (SK.Save,),
               "Keep the music to edit or export later (.v2m)"),
    ActionSpec("save_as", "Save Project &As…", "documents.save_project_as", (SK.SaveAs,)),
    ActionSpec("export", "&Export…", "window.export", ("Ctrl+E",), "Export the video with its music"),
    ActionSpec("import_midi", "&Import MIDI…", "editing.import_midi", ("Ctrl+I",),
               "Take the notes of a MIDI file exported here and changed in a DAW", editing=True),
    ActionSpec("preferences", "&Preferences…", "window.open_settings", (SK.Preferences,)),
    ActionSpec("quit", "&Quit", "window.close", (SK.Quit,)),
    # music
    ActionSpec("generate", "&Generate", "editing.generate", ("Ctrl+G",),
               "Write music for the whole video (on an edited project: asks first; Undo takes it back)"),
    ActionSpec("cancel", "&Cancel", "session.cancel", ("Esc",), "Stop the running job"),
    # playback
    ActionSpec("play", "&Play", "player.toggle", ("Space",), "Play or pause"),
    ActionSpec("back", "Back 1 s", "player.step", ("Left",), args=(-1.0,)),
    ActionSpec("forward", "Forward 1 s", "player.step", ("Right",), args=(1.0,)),
    ActionSpec("prev_frame", "Previous Frame", "player.step_frames", (",",), args=(-1,)),
    ActionSpec("next_frame", "Next Frame", "player.step_frames", (".",), args=(1,)),
    ActionSpec("home", "Go to Start", "player.seek", ("Home",), args=(0.0,)),
    ActionSpec("end", "Go to End", "player.seek_end", ("End",)),
    ActionSpec("loop", "&Loop Selection", "window.loop_toggled", ("L",), "Loop the selected range",
               checkable=True),
    # view
    ActionSpec("zoom_in", "Zoom &In", "timeline.zoom_in", ("+", "=", SK.ZoomIn)),
    ActionSpec("zoom_out", "Zoom &Out", "timeline.zoom_out", ("-", SK.ZoomOut)),
    ActionSpec("fit", "&Fit to Window", "timeline.fit", ("Ctrl+0",)),
    # editing: each one core edit on the selection, one undoable command
    ActionSpec("chord", "Set &Chord…", "editing.pick_chord", ("Return",), "Set the chord of the selection",
               editing=True),
    ActionSpec("no_chord", "&No Chord", "editing.set_chord", ("Del",), "Rest over the selection", args=("N",),
               editing=True),
    ActionSpec("lock", "&Lock / Unlock", "editing.toggle_lock", ("K",), "Keep the selected chords",
               editing=True),
    ActionSpec("merge", "&Merge with Next", "editing.merge_next", ("M",),
               "The next chord block takes the selected block's chord", editing=True),
    ActionSpec("split", "&Split at Playhead", "editing.split_here", ("S",),
               "Two chord blocks from the one under the playhead (the chord stays)", editing=True),
    ActionSpec("up", "Transpose &Up", "editing.transpose", ("Ctrl+Up",), args=(1,), editing=True),
    ActionSpec("down", "Transpose &Down", "editing.transpose", ("Ctrl+Down",), args=(-1,), editing=True),
    ActionSpec("regenerate", "&Regenerate Selection", "editing.regenerate", ("Ctrl+R",),
               "New chords for the selection only (a new take)", editing=True),
    ActionSpec("prev_take", "Previous Take", "editing.step_take", ("Alt+Left",), args=(-1,), editing=True),
    ActionSpec("next_take", "Next Take", "editing.step_take", ("Alt+Right",), args=(1,), editing=True),
    ActionSpec("target", "Set Emotion &Target…", "editing.pick_target", ("E",),
               "Ask for an emotion over the selection", editing=True),
    ActionSpec("clear_target", "Clear Emotion Target", "editing.clear_target", ("Shift+E",),
               "Back to the detected emotion over the selection", editing=True),
    ActionSpec("draw", "&Draw Curves", "editing.draw_toggled", ("D",),
               "Drag on the emotion, density or loudness lane to draw it (Shift+drag clears); "
               "without draw mode, Ctrl+drag draws", checkable=True, editing=True),
    ActionSpec("clear_dynamics", "Clear Dynamics Edits", "editing.clear_dynamics", ("Shift+D",),
               "Back to the model's note density and loudness over the selection", editing=True),
    ActionSpec("duck", "Duc&k Selection", "editing.duck_selection", ("U",),
               "The music steps down under the selection, as under speech", editing=True),
    ActionSpec("never_duck", "Never Duck Selection", "editing.never_duck_selection", ("Shift+U",),
               "The music never steps down over the selection", editing=True),
    ActionSpec("style_range", "St&yle for Selection…", "editing.pick_style", ("Y",),
               "A style of its own for the selected seconds (Auto: the piece's style again)", editing=True),
    ActionSpec("copy", "&Copy Chords", "editing.copy_chords", (SK.Copy,), editing=True),
    ActionSpec("paste", "&Paste Chords at the Playhead", "editing.paste_chords", (SK.Paste,), editing=True),
    # help
    ActionSpec("shortcuts", "&Keyboard Shortcuts", "window.show_shortcuts", (SK.HelpContents,)),
    ActionSpec("about", "&About v2m-desktop", "window.about"),
)

# The menus: action names in order, "-" a separator; "undo" and "redo" are the undo stack's own
# actions, "recent" the Open Recent menu, "theme" the Theme menu, "history" and "arrangement"
# the docks' toggles (the window adds those).
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("open", "recent", "-", "save", "save_as", "export", "import_midi", "-", "preferences", "-",
               "quit")),
    ("&Edit", ("undo", "redo", "-", *(a.name for a in ACTIONS if a.editing and a.name != "import_midi"))),
    ("&Music", ("generate", "cancel")),
    ("&Playback", ("play", "back", "forward", "prev_frame", "next_frame", "home", "end", "loop")),
    ("&View", ("zoom_in", "zoom_out", "fit", "-", "history", "arrangement", "theme")),
    ("&Help", ("shortcuts", "about")),
)
TOOLBAR = ("open", "generate", "cancel", "export")


def key_sequences(keys) -> list[QKeySequence]:
    """The QKeySequences of a spec's keys (a standard key may be several on this platform), each
    sequence once."""
    out: list[QKeySequence] = []
    for k in keys:
        for seq in (QKeySequence.keyBindings(k) if isinstance(k, SK) else [QKeySequence(k)]):
            if not seq.isEmpty() and seq not in out:
                out.append(seq)
    return out


def build(owner: QWidget, targets: dict[str, QObject]) -> dict[str, QAction]:
    """The QActions of ACTIONS on `owner` (window shortcuts), connected to their handlers."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        a = QAction(spec.text, owner)
        a.setObjectName(spec.name)
        seqs = key_sequences(spec.keys)
        if seqs:
            a.setShortcuts(seqs)
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if spec.tip:
            a.setStatusTip(spec.tip)
        a.setCheckable(spec.checkable)
        target, method = spec.handler.split(".")
        fn = getattr(targets[target], method)
        if spec.checkable:          # the user's toggle only (not setChecked from code)
            a.triggered.connect(fn)
        else:
            a.triggered.connect(lambda _checked=False, fn=fn, args=spec.args: fn(*args))
        owner.addAction(a)
        actions[spec.name] = a
    return actions


def undo_actions(owner: QWidget, stack) -> tuple[QAction, QAction]:
    """The undo stack's Undo and Redo (their text names the edit), with the platform's keys:
    Redo is Ctrl+Shift+Z and Ctrl+Y on Linux and Windows."""
    undo = stack.createUndoAction(owner, "&Undo")
    undo.setShortcuts(key_sequences((SK.Undo,)))
    redo = stack.createRedoAction(owner, "&Redo")
    redo.setShortcuts(key_sequences((SK.Redo, "Ctrl+Shift+Z", "Ctrl+Y")))
    for a in (undo, redo):
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        owner.addAction(a)
    return undo, redo


def install_menus(window: QMainWindow, actions: dict[str, QAction],
                  submenus: dict[str, Callable[[QMenu], None]]) -> None:
    """The menu bar from MENUS: `actions` by name, and `submenus[name](menu)` fills a submenu
    (Open Recent, Theme) for the names that are one."""
    for title, names in MENUS:
        menu = window.menuBar().addMenu(title)
        for name in names:
            if name == "-":
                menu.addSeparator()
            elif name in submenus:
                submenus[name](menu)
            else:
                menu.addAction(actions[name])


def install_toolbar(window: QMainWindow, actions: dict[str, QAction]) -> QToolBar:
    """The main toolbar: TOOLBAR's actions with the style's icons; no button takes the keys."""
    tb = QToolBar("Main")
    tb.setObjectName("main-toolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.setIconSize(QSize(18, 18))
    SP = QStyle.StandardPixmap  # noqa: N806
    icons = {"open": SP.SP_DialogOpenButton, "generate": SP.SP_BrowserReload, "cancel": SP.SP_BrowserStop,
             "export": SP.SP_DialogSaveButton}
    for name in TOOLBAR:
        actions[name].setIcon(window.style().standardIcon(icons[name]))
        tb.addAction(actions[name])
    window.addToolBar(tb)
    for w in tb.findChildren(QWidget):
        w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return tb
