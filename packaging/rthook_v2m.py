# PyInstaller runtime hook (runs before v2m_entry.py in the bundle).
# - On Linux, ctypes.util.find_library looks only at the system's libraries (ldconfig), so the
#   FluidSynth and PortAudio libraries the bundle carries would not be found on a machine without
#   them: look in the bundle first.
# - The bundle's ffprobe (in bin/) goes first on PATH, where core.video.probe looks for it.
import ctypes.util
import glob
import os
import sys

_BUNDLE = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
_BIN = os.path.join(_BUNDLE, "bin")
if os.path.isdir(_BIN):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", os.defpath)

if sys.platform.startswith("linux"):
    _system_find_library = ctypes.util.find_library

    def _find_library(name):
        hits = sorted(glob.glob(os.path.join(_BUNDLE, f"lib{name}.so*")))
        return hits[0] if hits else _system_find_library(name)

    ctypes.util.find_library = _find_library
