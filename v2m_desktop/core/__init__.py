"""The Qt-free core: analysis, generation, arrangement, synthesis, export and project files."""

import contextlib
import io
import os

# pyfluidsynth prints where it found its library when it is imported with CI set, and pretty_midi
# imports it: then import it once here, quietly, so that no command's output carries that line
# (without CI it loads when synthesis or MIDI first needs it, not at every start-up)
if os.environ.get("CI"):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            import fluidsynth  # noqa: F401
        except (ImportError, OSError):
            pass    # render.fluidsynth_module() says what to install when synthesis needs it
