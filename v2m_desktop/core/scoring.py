"""Scoring a video: the one path from a video to music (`v2m score`, `v2m project new`, the app's
Generate, batch scoring).  The scorer's first stages (analyse, then the chords written on the
meter) make a Project with the run's settings, and the project's Engine arranges and renders it.
It sits above both the engine and the pipeline (settings, outputs, export) and is imported by
neither."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

from v2m_desktop.core.arrange.meter import plan_meter
from v2m_desktop.core.compose import write
from v2m_desktop.core.device import pick_device
from v2m_desktop.core.edits import SetGain
from v2m_desktop.core.engine import Engine, Score
from v2m_desktop.core.model.checkpoint import Models, load_models
from v2m_desktop.core.pipeline import ScoreSettings, check_settings
from v2m_desktop.core.progress import Progress, Run
from v2m_desktop.core.project import Project, Settings, VideoRef, fingerprint
from v2m_desktop.core.tracks import ChordTrack
from v2m_desktop.core.video.analysis import Analysis, analyse


@dataclass
class Written:
    """The scorer's first stages for a video: its analysis and the chords written on its meter,
    with the chord seed they were sampled with and the run's bookkeeping."""
    analysis: Analysis
    chords: ChordTrack
    chord_seed: int
    run: Run


def chord_seed_of(settings: ScoreSettings) -> int:
    """The chord sampler's seed: the one given, or one drawn now (so the project keeps it)."""
    seed = settings.compose.sampling.seed
    return random.randrange(1 << 31) if seed is None else int(seed)


def write_chords(video: Path, settings: ScoreSettings, models: Models, *, analysis: Analysis | None = None,
                 progress: Progress | None = None) -> Written:
    """Analyse a video (unless its `analysis` is given) and write its chords on the meter (the
    tempo map and bars, planned from the shot changes first)."""

    from v2m_desktop.core.render import preload
    check_settings(settings)
    preload(settings.soundfont)         # the bank loads while the video is analysed
    run = Run(progress)
    device = pick_device(settings.device)
    if analysis is None:
        analysis = run.stage("analyse", analyse, Path(video), settings.vision, clip_model=settings.clip_model,
                             cache_dir=settings.cache_dir, progress=run.report, device=str(device))
    feats = analysis.features()
    meter = plan_meter(analysis.shot_changes, analysis.info.duration, analysis.emotion,
                       settings.arrange.tempo)
    seed = chord_seed_of(settings)
    compose = replace(settings.compose, sampling=replace(settings.compose.sampling, seed=seed))
    chords = run.stage("compose", write, feats, models.chords, compose, device=device, progress=run.report,
                       rules=meter.rules(len(feats)))
    return Written(analysis, chords, seed, run)


def settings_of(score_settings: ScoreSettings, chord_seed: int | None = None) -> Settings:
    """A project's settings from the scorer's (the command line's options)."""
    a, c = score_settings.arrange, score_settings.compose
    return Settings(vision=score_settings.vision, clip_model=score_settings.clip_model, tempo=a.tempo,
                    instruments=tuple(a.instruments), soundfont=str(score_settings.soundfont)
                    if score_settings.soundfont else None, seed=int(a.seed),
                    follow_picture=float(c.follow_picture), chord_seed=chord_seed, style=a.style)


def new_project(video: Path, analysis: Analysis, chords: ChordTrack, score_settings: ScoreSettings,
                chord_seed: int | None = None) -> Project:
    """The Project of a video's analysis and the chords written for it, with the scorer's
    settings ("auto" vision resolved to the analysis it made)."""
    info = analysis.info
    ref = VideoRef(str(Path(video).resolve()), fingerprint(video), float(info.duration),
                   int(analysis.seconds))
    settings = replace(settings_of(score_settings, chord_seed), vision=analysis.vision)
    return Project(ref, settings, chords.tokens.copy(), chords.key_root, chords.mode, set(chords.locks))


def score_video(video: Path, settings: ScoreSettings | None = None, *, progress: Progress | None = None,
                models: Models | None = None, analysis: Analysis | None = None) -> Score:
    """A video's music: its Score, whose `project` is the new Project with its render gain fixed
    (a SetGain edit), so a first edit joins into the audio.  `models` and `analysis`: what the
    caller already holds (a batch worker), else they are loaded or made."""
    return score_with_engine(video, settings, progress=progress, models=models, analysis=analysis)[1]


def score_with_engine(video: Path, settings: ScoreSettings | None = None, *, progress: Progress | None = None,
                      models: Models | None = None, analysis: Analysis | None = None) -> tuple[Engine, Score]:
    """score_video, with the new project's Engine (the app keeps it for the project's edits)."""
    settings = settings or ScoreSettings()
    t0 = time.perf_counter()
    # a Ray task gets the models back as a plain tuple
    models = Models(*models) if models is not None else \
        load_models(settings.chords_model, settings.dynamics_model, pick_device(settings.device))
    loaded = time.perf_counter() - t0
    w = write_chords(Path(video), settings, models, analysis=analysis, progress=progress)
    w.run.timings["load models"] = loaded
    project = new_project(video, w.analysis, w.chords, settings, w.chord_seed)
    engine = Engine(project, analysis=w.analysis, models=models, device=settings.device, progress=progress)
    score = engine.score(run=w.run)
    if project.settings.gain is None and score.gain is not None:
        SetGain(score.gain).apply(project)
    return engine, score
