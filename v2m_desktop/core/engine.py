"""The project engine: a Project made from a video by the scorer's own stages, and everything
derived from a project (the features with the user's emotion targets, the meter, the dynamics
with the user's edits, the arrangement, the audio), recomputed from it on demand."""
from __future__ import annotations

import bisect
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pretty_midi

from v2m_desktop.core.chords import EMOTIONS, transpose
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.notes import NoteEdits, repatched
from v2m_desktop.core.progress import Progress, Run
from v2m_desktop.core.project import Project
from v2m_desktop.core.tracks import ChordTrack, Dynamics

if TYPE_CHECKING:
    from v2m_desktop.core.arrange import Arrangement
    from v2m_desktop.core.arrange.meter import Meter
    from v2m_desktop.core.mix import MixReport
    from v2m_desktop.core.model.checkpoint import Models
    from v2m_desktop.core.video.analysis import Analysis


@dataclass
class Score:
    """A project's music as rendered: what the timeline shows and export writes."""
    analysis: Analysis
    chords: ChordTrack
    dynamics: Dynamics
    arrangement: Arrangement
    audio: np.ndarray
    sample_rate: int
    project: Project                # the project it was rendered from
    timings: dict[str, float] = field(default_factory=dict)
    gain: float | None = None       # the render's gain (the project keeps the first one)
    soundfont: str | None = None    # the SoundFont it was rendered with (None: the bundled one)
    delivered: MixReport | None = None   # the exported mix's loudness and ducking (export_score)
    notes: NoteEdits = field(default_factory=NoteEdits)     # the note edits in `arrangement`
    plain: str = ""                 # what the arrangement under them was made from (Engine.plain_key)


class Engine:
    """A project with its analysis and models: what edits that need the models (regenerate)
    and every output read.  The analysis comes from the cache (or is made again).

    Long-lived: the app keeps one per open project, with the caches that outlive an edit (the
    meter, the model's dynamics).  A worker reads a copy of the project while the user edits on
    the live one: `with engine.reading(copy):` makes the copy the engine's project for the job,
    one job at a time."""

    def __init__(self, project: Project, *, analysis: Analysis | None = None, models: Models | None = None,
                 device: str = "auto", progress: Progress | None = None):
        from v2m_desktop.core.device import pick_device
        self.project = project
        self.device = pick_device(device)
        self._analysis = analysis
        self._models = models
        self._meter: Meter | None = None
        self._meter_key: float | None = None
        self._dynamics: tuple[tuple, Dynamics] | None = None    # (targets, the model's prediction under them)
        self._plain_dynamics: Dynamics | None = None            # the model's prediction without targets
        self.progress = progress       # the one protocol (core.progress): a report may cancel
        self._lock = threading.Lock()

    @contextmanager
    def reading(self, project: Project, progress: Progress | None = None) -> Iterator[Engine]:
        """This engine over `project` (a copy of the open project's state) for one job on a
        worker, reporting to `progress`; jobs take turns."""
        with self._lock:
            self.project, self.progress = project, progress
            yield self

    # -- inputs
    @property
    def analysis(self):
        if self._analysis is None:
            from v2m_desktop.core.video.analysis import analyse
            s = self.project.settings
            self._analysis = analyse(Path(self.project.video.path), s.vision, clip_model=s.clip_model,
                                     progress=self.progress, device=str(self.device))
            if self._analysis.seconds != self.project.seconds:
                raise V2MError("the video's analysis does not match the project (a different analysis "
                               "version?); make the project again")
        return self._analysis

    @property
    def models(self) -> Models:
        if self._models is None:
            from v2m_desktop.core.model.checkpoint import load_models
            self._models = load_models(device=self.device)
        return self._models

    def features(self):
        """The video's features with every emotion target blended in by its intensity."""
        return target_features(self.analysis.features(), self.project)

    def meter(self):
        """The tempo grid and bars: from the detected cuts and emotion and the tempo setting only,
        so chord and emotion edits never move it."""
        from v2m_desktop.core.arrange.meter import plan_meter
        key = self.project.settings.tempo
        if self._meter is None or self._meter_key != key:
            a = self.analysis
            self._meter = plan_meter(a.shot_changes, a.info.duration, a.emotion, key)
            self._meter_key = key
        return self._meter

    # -- derived
    def chord_track(self) -> ChordTrack:
        p = self.project
        return ChordTrack(p.tokens.copy(), p.key_root, p.mode, set(p.locks))

    def dynamics(self) -> Dynamics:
        """The model's dynamics with the user's edits.  Under emotion targets the model's
        prediction with the targets is taken inside their seconds only (the model reads the
        whole video both ways, so a target would otherwise nudge the dynamics, and so the
        music, everywhere); predicted again only when the targets change."""
        from v2m_desktop.core.compose import predict_dynamics
        key = tuple((t.start, t.end, t.emotion, t.intensity) for t in self.project.targets)
        if self._dynamics is None or self._dynamics[0] != key:
            if self._plain_dynamics is None:
                self._plain_dynamics = predict_dynamics(self.models[1], self.analysis.features(),
                                                        device=self.device)
            plain = self._plain_dynamics
            spliced = Dynamics(plain.note_density.copy(), plain.loudness.copy())
            if key:
                aimed = predict_dynamics(self.models[1], self.features(), device=self.device)
                for t in self.project.targets:
                    spliced.note_density[t.start:t.end] = aimed.note_density[t.start:t.end]
                    spliced.loudness[t.start:t.end] = aimed.loudness[t.start:t.end]
            self._dynamics = key, spliced
        base = self._dynamics[1]
        d = Dynamics(base.note_density.copy(), base.loudness.copy())
        for kind, arr in (("density", d.note_density), ("loudness", d.loudness)):
            for s, v in self.project.dynamics[kind].items():
                arr[s] = v
        return d

    def arrangement(self, dynamics: Dynamics | None = None):
        from v2m_desktop.core.arrange import ArrangeOptions, arrange
        a, s = self.analysis, self.project.settings
        opts = ArrangeOptions(tempo=s.tempo, instruments=tuple(s.instruments), seed=s.seed,
                              style=s.style, style_ranges=tuple(s.style_ranges))
        dyn = self.dynamics() if dynamics is None else dynamics
        arr = arrange(self.chord_track(), dyn, duration=a.info.duration, cuts=a.shot_changes,
                      motion=a.picture_motion, emotion=self.features().emotion, options=opts,
                      meter=self.meter())
        self.project.notes.over(arr.midi)       # the user's note edits, over every arrangement
        return arr

    def score(self, run: Run | None = None, made=None) -> Score:
        """The project as a Score (what export_score writes), rendered at the project's gain;
        a project without one gets the gain this render chooses in `Score.gain` (its owner fixes
        it with a SetGain edit, so an edit never moves the level of the rest).  `run`: the
        scoring run's bookkeeping (timings, progress, cancel) when it goes on from there;
        `made`: the project's (dynamics, arrangement) when the caller has them already."""
        from v2m_desktop.core.render import render_with_gain
        run = run or Run(self.progress)
        if made is None:
            dyn = self.dynamics()
            arr = run.stage("arrange", self.arrangement, dyn)
        else:
            dyn, arr = made
        s = self.project.settings
        audio, gain = run.stage("render", render_with_gain, arr.midi, soundfont=self._soundfont(),
                                sample_rate=SAMPLE_RATE, duration=self.analysis.info.duration, gain=s.gain,
                                progress=run.report)
        out = self._score(dyn, arr, audio, gain)
        out.timings = run.timings
        return out

    def update(self, before: Score, changed: tuple[int, int] | None = None) -> Score:
        """The project's Score after edits, from `before` (the Score of the project before them):
        only a stretch is re-synthesised and joined into `before`'s audio (render.rerender).
        `changed`: the seconds the edits touched (their Changes, for edits of chords, splits,
        locks, takes and drawn dynamics): the stretch is those seconds widened by LOCAL_BARS
        bars each side (the arranger's locality: no note further from an edit changes).  None:
        the stretch holding every note that differs between the two arrangements.  A change of
        parts, of SoundFont or of gain renders the whole piece."""
        from v2m_desktop.core.render import rerender
        s = self.project.settings
        if before.plain and before.plain == self.plain_key() and changed is not None:
            # only note edits changed: the same arrangement under them, the notes laid over it
            # anew, and only the edited notes' seconds synthesised again
            dyn, arr = before.dynamics, dataclasses.replace(
                before.arrangement, midi=repatched(before.arrangement.midi, before.notes, self.project.notes))
            if before.audio is not None and s.gain is not None and \
                    (before.soundfont, before.gain, before.sample_rate) == (s.soundfont, s.gain, SAMPLE_RATE):
                audio = before.audio.copy()
                end = min(float(changed[1]) + NOTE_TAIL_S, self.analysis.info.duration)
                rerender(audio, arr.midi.instruments, float(changed[0]), end, gain=s.gain,
                         soundfont=self._soundfont(), sample_rate=SAMPLE_RATE)
                return self._score(dyn, arr, audio, s.gain)
            return self.score(made=(dyn, arr))
        dyn = self.dynamics()
        arr = self.arrangement(dyn)
        span, gain = None, s.gain
        if before.audio is not None and gain is not None and \
                (before.soundfont, before.gain, before.sample_rate) == (s.soundfont, gain, SAMPLE_RATE):
            # other parts (a range's style adds or drops an instrument of its own): the notes
            # that differ say where (changed_span; None when a part changed its instrument)
            same = parts_of(before.arrangement.midi) == parts_of(arr.midi)
            # the edit's seconds widened to the arranger's locality bound where no note can
            # differ beyond, then narrowed to the notes that do differ inside it (a chord edit's
            # own bars, most often: a 2-s chord edit re-synthesised 24 s of music, 13-17 s so)
            duration = self.analysis.info.duration
            window = around(changed, arr.bars(), duration) if same and changed is not None else None
            span = changed_span(before.arrangement.midi, arr.midi, window)
        if span is None or gain is None:
            return self.score(made=(dyn, arr))
        audio = before.audio.copy()
        if span[1] > span[0]:
            rerender(audio, arr.midi.instruments, span[0], span[1], gain=gain,
                     soundfont=self._soundfont(), sample_rate=SAMPLE_RATE)
        return self._score(dyn, arr, audio, gain)

    def _score(self, dyn, arr, audio, gain: float | None) -> Score:
        s = self.project.settings
        return Score(self.analysis, self.chord_track(), dyn, arr, audio, SAMPLE_RATE, self.project,
                     gain=gain, soundfont=s.soundfont, notes=self.project.notes, plain=self.plain_key())

    def plain_key(self) -> str:
        """Everything the arrangement is made from (all of the project but its note edits, takes
        and place): equal keys, equal arrangements under the note edits."""
        import json

        from v2m_desktop.core.project import to_dict
        d = to_dict(self.project)
        for k in ("notes", "takes", "program", "video"):
            d.pop(k, None)
        return json.dumps(d, sort_keys=True)

    def _soundfont(self):
        sf = self.project.settings.soundfont
        return Path(sf) if sf else None

    # -- generation
    def regenerate(self, start: int, end: int, seed: int) -> np.ndarray:
        """New chords for seconds [start, end) in the piece's key: the chords before `start` lead
        in, the chord at `end` is joined, locked seconds keep their chords, the meter's rules hold
        (but the range repeats no phrase from before it: it is written anew).
        Works anywhere in a video of any length (a model-length window around the range)."""
        from v2m_desktop.core.model.generate import SamplingOptions, regenerate_span
        p = self.project
        start, end = p.check_range(start, end)
        amt = self.models[0]
        span = amt.cfg.max_len
        if end - start > span:
            raise V2MError(f"regenerate at most {span} s at a time ({start}-{end} s is {end - start} s)")
        shift = ChordTrack.shift_for(p.key_root, p.mode)
        norm = np.array([transpose(int(t), -shift) for t in p.tokens], dtype=np.int64)
        w0 = max(0, end - span)
        w1 = min(p.seconds, w0 + span)
        locks = {s - w0: int(norm[s]) for s in p.locks if start <= s < end}
        rules = self.meter().rules(p.seconds).window(w0, w1)
        opts = SamplingOptions(seed=int(seed), guidance=p.settings.follow_picture)
        out = regenerate_span(amt, self.features().window(w0, w1), p.mode, norm[w0:w1], start - w0, end - w0,
                              locks=locks, rules=rules, options=opts, device=self.device,
                              target_steer=TARGET_STEER * target_intensity(p)[w0:w1])
        new = out[start - w0:end - w0]
        return np.array([transpose(int(t), shift) for t in new], dtype=np.int64)


    def rewrite(self, seed: int) -> np.ndarray:
        """New chords for every second, in the project's key: the locked seconds keep their
        chords, the emotion targets steer, the meter's rules hold (what Generate writes for a
        project that is open)."""
        from v2m_desktop.core.chords import key_name
        from v2m_desktop.core.compose import ComposeSettings, write
        from v2m_desktop.core.model.generate import SamplingOptions
        p = self.project
        settings = ComposeSettings(key=key_name(p.key_root, p.mode), follow_picture=p.settings.follow_picture,
                                   sampling=SamplingOptions(seed=int(seed)))
        locks = {s: int(p.tokens[s]) for s in p.locks}
        track = write(self.features(), self.models.chords, settings, locks=locks, device=self.device,
                      progress=self.progress, rules=self.meter().rules(p.seconds))
        return track.tokens


SAMPLE_RATE = 44100
# emotion steering added under a full-intensity target when chords are regenerated (the
# sampler's own is 1). Measured over 20 seeds on Big Buck Bunny under a sad target: the minor
# share of 20-40 s went 0.29 -> 0.65 (0.16 untargeted), and the share of takes of 0-12 s and
# 30-45 s without a minor chord 0.70 and 0.55 -> 0; the chords stay among the model's likely ones
TARGET_STEER = 4.0


# what an edit's Change says about the music: changes of no note (the render's gain, the
# original sound's level and ducking, where the file is, the takes kept, the locks) need no new
# render; changes of chords, splits, drawn dynamics and note edits change notes only near their seconds
SOUNDLESS_CHANGES = ("gain", "level", "path", "takes", "locks")
LOCAL_CHANGES = ("chords", "splits", "dynamics", "notes")


def changed_seconds(changes) -> tuple[int, int] | None:
    """The seconds Engine.update re-renders around for these Changes (one edit's or several):
    their span when every one is local, else None (the arrangements are compared)."""
    sounding = [c for c in changes if c.what not in SOUNDLESS_CHANGES]
    if not sounding or any(c.what not in LOCAL_CHANGES for c in sounding):
        return None
    return min(c.start for c in sounding), max(c.end for c in sounding)


# a note edit's stretch goes on this long after its notes' seconds, so their releases end inside
# it and the join out falls where the old audio agrees closely (measured on a moved piano note:
# the splice's SNR against a full render 74 dB at 0 s, 103 dB at 1 s)
NOTE_TAIL_S = 1.0

# an edit's notes stay within this many bars of its seconds (tests/core/arrange/test_arrange_local.py
# finds every note starting 1.5 bars outside a chord edit unchanged; bench edit checks the splice
# against a full render)
LOCAL_BARS = 2


def parts_of(midi) -> list[tuple[str, int, bool]]:
    return [(i.name, i.program, i.is_drum) for i in midi.instruments]


def around(changed: tuple[int, int], bars: np.ndarray, duration: float) -> tuple[float, float]:
    """Seconds `changed` widened to LOCAL_BARS whole bars before and after."""
    bars_list = bars.tolist()
    i = bisect.bisect_right(bars_list, changed[0]) - 1 - LOCAL_BARS
    j = bisect.bisect_left(bars_list, changed[1]) + LOCAL_BARS
    start = bars_list[i] if i >= 0 else 0.0
    end = bars_list[j] if j < len(bars_list) else duration
    return float(start), float(end)


def changed_span(a, b, window: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """The seconds [start, end) holding every note or controller event that differs between two
    arrangements' MIDI ((0, 0) when none does); a part only one of them has (a range's style
    brings its own instrument) is silent in the other; None when a part changed its instrument.
    `window`: only the events inside it are compared (the caller knows none differs outside)."""
    pa, pb = {i.name: i for i in a.instruments}, {i.name: i for i in b.instruments}
    same = all((pa[n].program, pa[n].is_drum) == (pb[n].program, pb[n].is_drum)
               for n in pa.keys() & pb.keys())
    if not same or len(pa) != len(a.instruments) or len(pb) != len(b.instruments):
        return None
    silent = pretty_midi.Instrument(0)
    w0, w1 = window if window is not None else (-np.inf, np.inf)
    times = []
    for ia, ib in ((pa.get(n, silent), pb.get(n, silent)) for n in pa.keys() | pb.keys()):
        na = {(n.start, n.end, n.pitch, n.velocity) for n in ia.notes if n.end > w0 and n.start < w1}
        nb = {(n.start, n.end, n.pitch, n.velocity) for n in ib.notes if n.end > w0 and n.start < w1}
        for n in na ^ nb:
            times += [n[0], n[1]]
        ca = {(c.time, c.number, c.value) for c in ia.control_changes if w0 <= c.time < w1}
        cb = {(c.time, c.number, c.value) for c in ib.control_changes if w0 <= c.time < w1}
        times += [c[0] for c in ca ^ cb]
    return (min(times), max(times)) if times else (0.0, 0.0)


def target_intensity(project: Project) -> np.ndarray:
    """[seconds] the intensity of the emotion target over each second (0 where none is set)."""
    out = np.zeros(project.seconds, dtype=np.float32)
    for t in project.targets:
        out[t.start:t.end] = np.maximum(out[t.start:t.end], t.intensity)
    return out


def target_features(feats, project: Project):
    """`feats` with each target's emotion blended over its seconds: (1 - i) detected + i target."""
    if not project.targets:
        return feats
    from dataclasses import replace
    emotion = feats.emotion.copy()
    for t in project.targets:
        one = np.zeros(len(EMOTIONS), dtype=emotion.dtype)
        one[EMOTIONS.index(t.emotion)] = 1.0
        emotion[t.start:t.end] = (1 - t.intensity) * emotion[t.start:t.end] + t.intensity * one
    return replace(feats, emotion=emotion)
