"""Arrangement: chords and dynamics -> multi-track MIDI on a beat grid that follows the cuts.

Modules, one job each: ``tempo`` (tempo range, beat grid, tempo choice), ``harmony`` (chords
snapped to beats, cadence), ``voicing`` (chord notes, voice leading, bass roots), ``feel``
(density level, velocity, drum level), ``parts`` (piano, bass, pad, drums), ``midi_file`` (tempo
map, key, chord symbols, cut markers, atomic write), ``align`` (cut alignment), ``arranger``
(``arrange()``).
"""
from v2m_desktop.core.arrange.align import cut_alignment
from v2m_desktop.core.arrange.arranger import (
    INSTRUMENTS,
    Arrangement,
    ArrangeOptions,
    arrange,
    parse_instruments,
    parse_tempo,
)
from v2m_desktop.core.arrange.midi_file import write_midi
from v2m_desktop.core.arrange.tempo import TEMPO_RANGES, choose_tempo, tempo_range

__all__ = ["INSTRUMENTS", "TEMPO_RANGES", "ArrangeOptions", "Arrangement", "arrange", "choose_tempo",
           "cut_alignment", "parse_instruments", "parse_tempo", "tempo_range", "write_midi"]
