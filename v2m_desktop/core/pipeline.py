"""A scoring run's settings (as a user types them, checked in one place), its outputs (checked
before any work) and its export.  The run itself is `scoring.score_video`; the command line, the
app and batch scoring all drive these, with progress by the one protocol of core.progress.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from v2m_desktop.core.arrange import ArrangeOptions
from v2m_desktop.core.compose import ComposeSettings
from v2m_desktop.core.engine import Score
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.mix import Delivered
from v2m_desktop.core.progress import Progress, Run


@dataclass
class ScoreSettings:
    vision: str = "auto"                   # auto, clip or basic
    clip_model: str | None = None
    compose: ComposeSettings = field(default_factory=ComposeSettings)
    arrange: ArrangeOptions = field(default_factory=ArrangeOptions)
    soundfont: Path | None = None
    device: str = "auto"
    chords_model: Path | None = None       # default: the shipped models
    dynamics_model: Path | None = None
    cache_dir: Path | None = None

    @classmethod
    def build(cls, *, vision: str = "auto", clip_model: str | None = None, device: str = "auto",
              soundfont=None, key: str | None = None, primer: str = "", seed: int | None = None,
              temperature: float = 1.0, follow_picture: float = 1.5, tempo="auto",
              instruments=None, cache_dir: Path | None = None, style: str = "auto") -> ScoreSettings:
        """The scorer's settings from the values a user gives, as typed (the command line's
        options, the app's preferences): parsed and checked here, in one place, so a bad value
        fails with its one line before any work."""
        from v2m_desktop.core.arrange import INSTRUMENTS, parse_instruments, parse_tempo
        from v2m_desktop.core.arrange.styles import parse_style
        from v2m_desktop.core.model.generate import SamplingOptions
        tempo = parse_tempo(tempo)
        settings = cls(
            vision=vision, clip_model=clip_model or None, device=device,
            soundfont=Path(soundfont) if soundfont else None, cache_dir=cache_dir,
            compose=ComposeSettings(key=key or None, primer=primer or "", follow_picture=follow_picture,
                                    sampling=SamplingOptions(temperature=temperature, seed=seed)),
            arrange=ArrangeOptions(tempo=tempo, instruments=parse_instruments(instruments or INSTRUMENTS),
                                   seed=seed or 0, style=parse_style(style)))
        check_settings(settings)
        return settings


def check_settings(settings: ScoreSettings) -> None:
    """Every setting that can be wrong, checked before minutes of analysis are spent."""
    from v2m_desktop.core.arrange import parse_instruments
    from v2m_desktop.core.arrange.arranger import check_tempo
    from v2m_desktop.core.compose import check_settings as check_compose
    from v2m_desktop.core.render import check_soundfont, fluidsynth_module
    check_compose(settings.compose)
    parse_instruments(settings.arrange.instruments)
    if settings.arrange.tempo is not None:
        check_tempo(settings.arrange.tempo)
    check_soundfont(settings.soundfont)
    fluidsynth_module()


# each output's file names by what it holds: a WAV named .mp4 (or an MP4 named .wav) plays
# nowhere, and `-o song.wav` wrote an MP4 under that name
SUFFIXES = {"the MP4": (".mp4", ".m4v", ".mov"), "the MIDI file": (".mid", ".midi"),
            "the WAV file": (".wav",)}


def _hint(path: Path) -> str:
    """Which output a file's name says it is."""
    for what, suffixes in SUFFIXES.items():
        if path.suffix.lower() in suffixes:
            return f" ({path.suffix} is a name for {what})"
    return ""


@dataclass
class Outputs:
    """Where a scoring run writes; any may be None. The run writes them all or none."""
    mp4: Path | None = None
    midi: Path | None = None
    wav: Path | None = None
    stems: Path | None = None
    keep_original_audio: float = 0.0
    duck_db: float | None = None    # the music's duck under speech (None: the project's, else 10)
    loudness: float | None = None   # delivery target in LUFS (None: the project's, else -14)

    def keep_mix_in(self, project) -> None:
        """The original sound's level, the duck depth and the loudness target given here kept in
        a new project's settings (its later exports mix the same way)."""
        from v2m_desktop.core.export import check_original_level
        from v2m_desktop.core.mix import check_duck_db, parse_loudness
        project.settings.original_level = check_original_level(self.keep_original_audio)
        if self.duck_db is not None:
            project.settings.duck_db = check_duck_db(self.duck_db)
        if self.loudness is not None:
            project.settings.loudness = parse_loudness(self.loudness)

    def files(self, instruments=None) -> list[tuple[str, Path]]:
        """(what, path) of every file the run will write; a stem per instrument (default: all)."""
        from v2m_desktop.core.arrange import INSTRUMENTS, parse_instruments
        named = [("the MP4", self.mp4), ("the MIDI file", self.midi), ("the WAV file", self.wav)]
        out = [(what, Path(p)) for what, p in named if p is not None]
        if self.stems is not None:
            names = list(dict.fromkeys(instruments or INSTRUMENTS))
            parse_instruments([n.split("-")[0] for n in names])     # a range's style: 'piano-lofi'
            for name in names:
                out.append((f"the stem {name}.wav", Path(self.stems) / f"{name}.wav"))
        return out

    def notes(self, video: Path) -> list[str]:
        """What the outputs will leave out of the video, one line each, said before the work."""
        from v2m_desktop.core.export import Subtitles
        note = Subtitles.of(Path(video)).note() if self.mp4 else None
        return [note] if note else []

    def check(self, video: Path, instruments=None) -> None:
        """Fail before any work when an output cannot be written, would replace the input, or
        names the same file as another output (resolved: links, './', case where the file
        system ignores it). Creates nothing."""
        from v2m_desktop.core.export import check_original_level
        from v2m_desktop.core.files import check_output, check_writable, creatable_folder, same_file
        from v2m_desktop.core.mix import check_duck_db, parse_loudness
        check_original_level(self.keep_original_audio)
        if self.duck_db is not None:
            check_duck_db(self.duck_db)
        if self.loudness is not None:
            parse_loudness(self.loudness)
        files = self.files(instruments)
        if self.stems is not None:
            stems = Path(self.stems)
            if stems.exists() and not stems.is_dir():
                raise V2MError(f"cannot create the stems folder {stems}: it is a file")
            for what, path in files:
                if same_file(stems, path):
                    raise V2MError(f"the stems folder and {what} are both {path}; give each its own name")
            creatable_folder(stems, "stems folder")
        for i, (what, path) in enumerate(files):
            check_output(path, Path(video))
            for other, path2 in files[:i]:
                if same_file(path, path2):
                    raise V2MError(f"{other} and {what} are the same file ({path2} and {path}); "
                                   "give each output its own name")
        for what, named in (("the MP4", self.mp4), ("the MIDI file", self.midi), ("the WAV file", self.wav)):
            if named is not None and Path(named).suffix.lower() not in SUFFIXES[what]:
                raise V2MError(f"{named}: {what} needs a name ending in {' or '.join(SUFFIXES[what])}"
                               f"{_hint(Path(named))}")
        for _, path in files:
            if self.stems is None or Path(path).parent != Path(self.stems):
                # a missing or read-only folder fails here, not after the MP4 is written
                check_writable(path)


def export_score(result: Score, video: Path, outputs: Outputs, *, soundfont: Path | None = None,
                 progress: Progress | None = None) -> dict:
    """Write the asked-for files; returns {kind: path}. All or nothing: each goes to a
    temporary file, and they are renamed into place only when every one is written; on any
    failure (or Cancelled, or a signal) the temporary files and the folders made are removed."""
    from v2m_desktop.core.arrange import write_midi
    from v2m_desktop.core.export import export_delivery, write_stems, write_wav
    from v2m_desktop.core.files import output_set
    from v2m_desktop.core.mix import CEILING_DBTP, apply_gain
    from v2m_desktop.core.render import render_stems
    run = Run(progress)
    written: dict[str, Path | list[Path]] = {}
    t0 = time.perf_counter()
    mixed = _deliver(result, video, outputs) if (outputs.mp4 or outputs.wav or outputs.stems) else None
    with output_set() as files:
        if outputs.stems:       # first: another output may be asked for inside it
            files.folder(Path(outputs.stems))
        if outputs.mp4 and mixed is not None:
            written["mp4"], heard = export_delivery(video, mixed.mix, result.sample_rate, outputs.mp4,
                                                    duration=result.analysis.info.duration,
                                                    ceiling_dbtp=CEILING_DBTP, progress=run.report)
            mixed.loudness = heard      # the MP4's sound as a player decodes it
        if outputs.midi:
            written["midi"] = write_midi(result.arrangement, outputs.midi, source=video)
        if outputs.wav and mixed is not None:
            written["wav"] = write_wav(mixed.music, result.sample_rate, outputs.wav, source=video)
        if outputs.stems and mixed is not None:
            run.report("export", 0.9)
            stems = render_stems(result.arrangement, soundfont=soundfont, gain=result.gain,
                                 sample_rate=result.sample_rate,
                                 duration=result.analysis.info.duration)
            for stem in stems.values():     # ducked and levelled as the mix's music is
                apply_gain(stem, mixed.ducked, mixed.duck_db, result.sample_rate, mixed.gain)
            run.report("export", 0.95)
            written["stems"] = write_stems(stems, result.sample_rate, outputs.stems)
        run.report("export", 1.0)       # cancelled now: nothing is renamed into place
    result.timings["export"] = time.perf_counter() - t0
    if mixed is not None:
        result.delivered = mixed.report()
    return written


def _deliver(result: Score, video: Path, outputs: Outputs) -> Delivered:
    """The exported sound (core.mix.deliver): the outputs' duck depth and loudness target, else
    the project's; the project's added and removed duck ranges."""
    from v2m_desktop.core.export import deliver_mix
    s = result.project.settings
    duck = s.duck_db if outputs.duck_db is None else outputs.duck_db
    target, calm = delivery_aim(result, outputs.loudness)
    return deliver_mix(result.audio, result.sample_rate, video, duration=result.analysis.info.duration,
                       level=outputs.keep_original_audio, has_sound=result.analysis.info.has_audio,
                       speech=result.analysis.speech, added=s.duck_add, removed=s.duck_remove,
                       duck_db=float(duck), target=target, calm=calm)


def delivery_aim(result: Score, loudness: str | float | None = None) -> tuple[float, float]:
    """(the delivery's loudness target in LUFS: `loudness`, else the project's; how far under it
    the piece sits by design: mix.calm_lu of what the render's gain withheld)."""
    from v2m_desktop.core.mix import calm_lu, parse_loudness
    from v2m_desktop.core.render import withheld_db
    target = parse_loudness(result.project.settings.loudness if loudness is None else loudness)
    return target, calm_lu(withheld_db(result.gain))
