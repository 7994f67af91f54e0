"""The MIDI file: tempo map from the beat grid, 4/4, key signature, chord symbols as lyric
events, scene cuts as markers; written atomically."""
from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from v2m_desktop.core.chords import chord_symbol, flat_key
from v2m_desktop.core.files import atomic_output, check_output

RESOLUTION = 480        # ticks per beat


def new_midi(beats: np.ndarray) -> pretty_midi.PrettyMIDI:
    """An empty PrettyMIDI whose tempo map puts beat k at tick k * RESOLUTION and at beats[k]."""
    beats = np.asarray(beats, dtype=np.float64)
    period = beats[1] - beats[0] if len(beats) > 1 else 0.5
    midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=60.0 / period)
    scales: list[tuple[int, float]] = []
    for k in range(len(beats) - 1):
        scale = (beats[k + 1] - beats[k]) / RESOLUTION
        if not scales or abs(scales[-1][1] - scale) > 1e-12:
            scales.append((k * RESOLUTION, scale))
    midi._tick_scales = scales or [(0, period / RESOLUTION)]
    midi._update_tick_to_time(len(beats) * RESOLUTION)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    return midi


def annotate(midi: pretty_midi.PrettyMIDI, key_root: int, mode: int,
             chord_times: list[tuple[float, float, int]]) -> None:
    """Key signature and one lyric event per chord: its symbol as musicians write it and the
    app shows it ('Am', 'Ebsus2' in a flat key), which a DAW shows as the chord track."""
    midi.key_signature_changes.append(pretty_midi.KeySignature(key_root % 12 + 12 * bool(mode), 0.0))
    flats = flat_key(key_root, mode)
    for start, _, token in chord_times:
        midi.lyrics.append(pretty_midi.Lyric(chord_symbol(token, flats), float(start)))


def midi_bytes(midi: pretty_midi.PrettyMIDI, cuts: list[float]) -> bytes:
    """The Standard MIDI File, with a 'cut' marker at each scene cut on the tempo track."""
    buf = io.BytesIO()
    midi.write(buf)
    buf.seek(0)
    mid = mido.MidiFile(file=buf)
    track = mid.tracks[0]
    events, tick = [], 0
    for msg in track:
        tick += msg.time
        if msg.type != "end_of_track":
            events.append((tick, msg))
    for i, c in enumerate(sorted(cuts)):
        events.append((int(midi.time_to_tick(float(c))), mido.MetaMessage("marker", text=f"cut {i + 1}")))
    events.sort(key=lambda e: e[0])
    new = mido.MidiTrack()
    tick = 0
    for t, msg in events:
        new.append(msg.copy(time=t - tick))
        tick = t
    new.append(mido.MetaMessage("end_of_track", time=1))
    mid.tracks[0] = new
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue()


def write_midi(arr, path, *, source: Path | None = None) -> Path:
    """Write the arrangement's MIDI file (tracks, tempo map, key, chord symbols, cut markers)
    through a temporary file in the same folder; `source` (the video) is never overwritten."""
    path = check_output(Path(path), source)
    data = midi_bytes(arr.midi, arr.cuts)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return path
