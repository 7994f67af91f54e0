"""Which General MIDI SoundFont plays the music when the user names none: MuseScore General
(MIT; Debian's musescore-general-soundfont-small, a .sf3) when the bundle or the system has it,
else TimGM6mb, the 6 MB bank pretty_midi carries (a bare `pip install`).  Found without any
setting; `installed()` lists every SoundFont in the usual places (the Preferences' choice)."""
from __future__ import annotations

import functools
from pathlib import Path

from v2m_desktop.core.resources import resource

# the preferred banks, best first, by file name; looked for in the folders below
PREFERRED = ("MuseScore_General.sf3", "MuseScore_General_Lite.sf3", "MuseScore_General.sf2",
             "MuseScore_General_Lite.sf2")
SYSTEM_FOLDERS = (Path("/usr/share/sounds/sf3"), Path("/usr/share/sounds/sf2"),
                  Path("/usr/share/soundfonts"), Path("/usr/local/share/soundfonts"),
                  Path.home() / ".local/share/soundfonts")
SUFFIXES = (".sf2", ".sf3")


def bundled_folder() -> Path:
    """Where the Linux bundle ships its bank (resources/soundfonts)."""
    return resource("soundfonts")


def timgm6mb() -> Path:
    """The General MIDI SoundFont bundled with pretty_midi (TimGM6mb, 6 MB): the fallback."""
    import pretty_midi
    return Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"


def _folders() -> list[Path]:
    return [bundled_folder(), *SYSTEM_FOLDERS]


@functools.lru_cache(maxsize=1)
def default_soundfont() -> Path:
    """The best bank found (a real file: a link is followed), else TimGM6mb."""
    for folder in _folders():
        for name in PREFERRED:
            path = folder / name
            if path.is_file():
                return path.resolve()
    return timgm6mb()


def installed() -> list[Path]:
    """Every SoundFont in the bundle and the usual system folders (links resolved, each once),
    the default first, TimGM6mb last."""
    out = [default_soundfont()]
    for folder in _folders():
        if folder.is_dir():
            out += sorted(p.resolve() for p in folder.iterdir()
                          if p.suffix.lower() in SUFFIXES and p.is_file())
    out.append(timgm6mb())
    return list(dict.fromkeys(out))
