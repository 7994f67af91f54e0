"""`v2m bench music`'s styles section: one clip scored once, then arranged and rendered in every
style; per style its instruments, tempo, notes a second, register, share of energy above 2 kHz,
and how far it is from the nearest other style; and the audio checks a creator makes (no
clipping, no clicks, no gaps)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi

from v2m_desktop.core.progress import Progress, report

GAP_S = 1.0          # silence (under -60 dBFS) this long before the final fade counts as a gap
CLICK = 0.25         # a sample-to-sample jump this large, where the music around is quiet, is a click


def rhythm_profile(midi: pretty_midi.PrettyMIDI, beats: np.ndarray) -> np.ndarray:
    """[16] the share of onsets on each sixteenth of the bar (bars of four beats)."""
    onsets = [n.start for i in midi.instruments for n in i.notes]
    pos = np.interp(onsets, beats, np.arange(len(beats))) if onsets else np.zeros(0)
    hist = np.bincount(np.round(pos * 4).astype(int) % 16, minlength=16).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


def style_distance(a: dict, b: dict) -> float:
    """0 (the same) .. 1: half the share of (part, instrument) pairs the two do not share, half
    how far their rhythms lie apart (half the L1 distance of their sixteenth profiles)."""
    pa, pb = set(map(tuple, a["parts"])), set(map(tuple, b["parts"]))
    inst = 1 - len(pa & pb) / max(len(pa | pb), 1)
    rhythm = 0.5 * float(np.abs(np.asarray(a["profile"]) - np.asarray(b["profile"])).sum())
    return 0.5 * inst + 0.5 * rhythm


def audio_checks(audio: np.ndarray, sr: int) -> dict:
    """Clipped samples, clicks (a jump between neighbouring samples far above the music's own
    motion there) and gaps (silence inside the piece, the final fade left out)."""
    x = np.asarray(audio, dtype=np.float64)
    clipped = int((np.abs(x) >= 0.999).sum())
    d = np.abs(np.diff(x, axis=0)).max(1)
    local = np.convolve(d, np.ones(441) / 441, mode="same")
    clicks = int(((d > CLICK) & (d > 20 * local)).sum())
    block = int(0.05 * sr)
    rms = np.sqrt([np.mean(x[i:i + block] ** 2) for i in range(0, len(x) - block, block)])
    silent = 20 * np.log10(rms + 1e-12) < -60
    body = silent[:max(len(silent) - int(1.5 / 0.05), 0)]     # not the final ring-out and fade
    longest = run = 0
    for s in body:
        run = run + 1 if s else 0
        longest = max(longest, run)
    return {"clipped": clipped, "clicks": clicks, "longest_silence_s": longest * 0.05,
            "gaps": int(longest * 0.05 >= GAP_S)}


def bench_styles(video: Path, folder: Path, seed: int = 0, progress: Progress | None = None,
                 keep: Path | None = None) -> dict:
    """Score `video` once (basic vision, `seed`, key F major), then arrange and render it in every
    style.  `keep`: a folder to write each style's MIDI and WAV into (to listen to)."""
    from v2m_desktop.core import edits as E
    from v2m_desktop.core.arrange import stats as st
    from v2m_desktop.core.arrange.styles import all_styles
    from v2m_desktop.core.compose import ComposeSettings
    from v2m_desktop.core.lab.bench import audio_stats
    from v2m_desktop.core.model.generate import SamplingOptions
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_with_engine
    settings = ScoreSettings(vision="basic", cache_dir=Path(folder) / "cache",
                             compose=ComposeSettings(key="F major", sampling=SamplingOptions(seed=seed)))
    settings.arrange.seed = seed
    engine, first = score_with_engine(video, settings)
    project = first.project
    rows = {}
    styles = all_styles()
    for k, key in enumerate(styles):
        report(progress, f"style {key}", k / len(styles))
        E.SetStyle(key).apply(project)
        project.settings.gain = None            # each style's own level
        result = engine.score()
        arr = result.arrangement
        notes = st.notes(arr)
        pitched = [n.pitch for name, n in notes if name != "drums"]
        rows[key] = {
            "name": styles[key].name,
            "parts": [(i.name, pretty_midi.program_to_instrument_name(i.program) if not i.is_drum
                       else f"kit {i.program}") for i in arr.midi.instruments],
            "tempo": arr.tempo, "felt_tempo": list(styles[key].tempo),
            "notes_per_s": len(notes) / arr.duration,
            "register": [int(min(pitched)), int(max(pitched))] if pitched else [0, 0],
            "mean_pitch": float(np.mean(pitched)) if pitched else 0.0,
            "profile": rhythm_profile(arr.midi, arr.beat_times).tolist(),
            "render_s": result.timings.get("render", float("nan")),
            **audio_stats(result.audio, result.sample_rate),
            **audio_checks(result.audio, result.sample_rate)}
        if keep is not None:
            from v2m_desktop.core.arrange import write_midi
            from v2m_desktop.core.export import write_wav
            keep.mkdir(parents=True, exist_ok=True)
            write_midi(arr, keep / f"{Path(video).stem}-{key}.mid")
            write_wav(result.audio, result.sample_rate, keep / f"{Path(video).stem}-{key}.wav")
    for key, row in rows.items():
        others = [(style_distance(row, o), k) for k, o in rows.items() if k != key]
        row["nearest"], row["nearest_style"] = min(others)
    return {"video": str(video), "seed": seed, "cuts": len(first.analysis.shot_changes), "styles": rows}


def style_lines(r: dict) -> list[str]:
    lines = [f"styles on {Path(r['video']).name} (seed {r['seed']}, F major, {r['cuts']} shot changes):",
             f"  {'style':10s} {'bpm':>5s} {'felt':>7s} {'notes/s':>7s} {'register':>8s} {'>2kHz':>6s} "
             f"{'LUFS':>6s} {'peak':>6s} {'clip/click/gap':>14s} {'nearest':>16s}  instruments"]
    for key, s in r["styles"].items():
        parts = ", ".join(f"{p}: {i}" for p, i in s["parts"])
        lines.append(f"  {key:10s} {s['tempo']:5.1f} {s['felt_tempo'][0]:3.0f}-{s['felt_tempo'][1]:<3.0f} "
                     f"{s['notes_per_s']:7.2f} {s['register'][0]:3d}-{s['register'][1]:<4d} "
                     f"{100 * s['above_2khz']:5.1f}% {s['lufs']:6.1f} {s['peak_dbfs']:6.1f} "
                     f"{s['clipped']:4d}/{s['clicks']:d}/{s['gaps']:d}      "
                     f"{s['nearest']:.2f} {s['nearest_style']:10s}  {parts}")
    return lines
