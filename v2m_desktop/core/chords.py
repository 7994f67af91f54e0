"""The chord vocabulary of MuVi-Sync (157 chords + END + PAD), emotion rules, chord names.

Token ids follow the reference: N = 0, then ``1 + 13 * root + (quality - 1)`` for the 12 roots
(C..B) and 13 qualities, END = 157, PAD = 158.  The decoder embeds root and quality ids rather
than the token id; both mappings live here so every stage agrees on them.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from v2m_desktop.core.errors import V2MError

ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
QUALITIES = ("maj", "dim", "sus4", "min7", "min", "sus2", "aug", "dim7",
             "maj6", "hdim7", "7", "min6", "maj7")            # quality ids 1..13
EMOTIONS = ("exciting", "fearful", "tense", "sad", "relaxing", "neutral")
N_ID, END_ID, PAD_ID = 0, 157, 158
N_CHORDS = 157          # N + 156 chords: what generation may draw from
N_TOKENS = 159          # + END + PAD: the output size of the chord model
ROOT_END, ROOT_PAD = 13, 14          # root ids: N 0, C..B 1..12
QUAL_END, QUAL_PAD = 14, 15          # quality ids: N 0, maj..maj7 1..13
N_ROOT_IDS, N_QUAL_IDS = 15, 16

# Which chord qualities each emotion allows (the paper's affective mapping; neutral allows none).
ALLOWED_QUALITIES = {
    "exciting": ("maj", "sus4", "7"),
    "fearful": ("dim", "min7", "dim7", "hdim7"),
    "tense": ("dim", "sus4", "min7", "7"),
    "sad": ("min7", "min", "sus2"),
    "relaxing": ("maj", "maj6", "maj7"),
    "neutral": (),
}


def chord_id(root: int, quality: str) -> int:
    """Token id of a chord given its root index (0 = C) and quality name."""
    return 1 + 13 * (root % 12) + QUALITIES.index(quality)


def chord_name(token: int) -> str:
    """'C', 'A:min', 'N', 'END' or 'PAD' for a token id."""
    if token == N_ID:
        return "N"
    if token == END_ID:
        return "END"
    if token == PAD_ID:
        return "PAD"
    root, q = divmod(int(token) - 1, 13)
    return ROOTS[root] if q == 0 else f"{ROOTS[root]}:{QUALITIES[q]}"


VOCAB = {chord_name(t): t for t in range(N_CHORDS)}


def token_of_name(name: str) -> int:
    """Token id of a dataset chord name ('C', 'A:min', 'N')."""
    try:
        return VOCAB[name]
    except KeyError:
        raise V2MError(f"unknown chord name {name!r}") from None


def root_of(token: int) -> int | None:
    """Root index 0..11 of a chord token, None for N/END/PAD."""
    return None if not 1 <= token <= 156 else (int(token) - 1) // 13


def quality_of(token: int) -> str | None:
    """Quality name of a chord token, None for N/END/PAD."""
    return None if not 1 <= token <= 156 else QUALITIES[(int(token) - 1) % 13]


def _table(fn_n: int, fn_end: int, fn_pad: int, fn_chord: Callable[[int], int]) -> np.ndarray:
    out = np.empty(N_TOKENS, dtype=np.int64)
    out[N_ID], out[END_ID], out[PAD_ID] = fn_n, fn_end, fn_pad
    for t in range(1, 157):
        out[t] = fn_chord(t)
    return out


# Token id -> root id / quality id as the decoder embeds them (N has root 0, quality 0).
ROOT_IDS = _table(0, ROOT_END, ROOT_PAD, lambda t: 1 + (t - 1) // 13)
QUAL_IDS = _table(0, QUAL_END, QUAL_PAD, lambda t: 1 + (t - 1) % 13)


def emotion_masks() -> np.ndarray:
    """[6, 159] float32: 1 where the emotion allows the token's quality (never N, END, PAD)."""
    masks = np.zeros((len(EMOTIONS), N_TOKENS), dtype=np.float32)
    for e, emo in enumerate(EMOTIONS):
        for t in range(1, 157):
            if quality_of(t) in ALLOWED_QUALITIES[emo]:
                masks[e, t] = 1.0
    return masks


EMOTION_MASKS = emotion_masks()

_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E",
          "E#": "F", "B#": "C"}
_SUFFIX = {"": "maj", "maj": "maj", "M": "maj", "m": "min", "min": "min", "m7": "min7",
           "min7": "min7", "7": "7", "M7": "maj7", "maj7": "maj7", "m6": "min6", "6": "maj6",
           "M6": "maj6", "maj6": "maj6", "dim": "dim", "o": "dim", "dim7": "dim7", "o7": "dim7",
           "m7b5": "hdim7", "hdim7": "hdim7", "ø": "hdim7", "aug": "aug", "+": "aug",
           "sus4": "sus4", "sus": "sus4", "sus2": "sus2", "min6": "min6"}


def parse_chord_symbol(symbol: str) -> tuple[int, str]:
    """Parse a chord symbol as users write it ('Am', 'F#m7', 'Bb', 'G7', 'C:min') ->
    (root index, quality).  Raises V2MError with the offending symbol."""
    s = symbol.strip()
    if ":" in s:
        root_txt, suffix = s.split(":", 1)
    else:
        n = 2 if len(s) > 1 and s[1] in "#b" else 1
        root_txt, suffix = s[:n], s[n:]
    root_txt = root_txt[:1].upper() + root_txt[1:]
    root_txt = _FLATS.get(root_txt, root_txt)
    if root_txt not in ROOTS or suffix not in _SUFFIX:
        raise V2MError(f"cannot read chord symbol {symbol!r} (try e.g. C, Am, F#m7, Bb, G7)")
    return ROOTS.index(root_txt), _SUFFIX[suffix]


def parse_key(text: str) -> tuple[int, int]:
    """'D minor' / 'Eb major' / 'F#m' -> (tonic root index, mode) with mode 0 major, 1 minor."""
    parts = text.strip().replace("-", " ").split()
    try:
        if len(parts) == 2 and parts[1].lower() in ("major", "minor", "maj", "min"):
            root, _ = parse_chord_symbol(parts[0])
            return root, int(parts[1].lower().startswith("min"))
        if len(parts) == 1:
            root, quality = parse_chord_symbol(parts[0])
            if quality in ("maj", "min"):
                return root, int(quality == "min")
    except V2MError:
        pass
    raise V2MError(f"cannot read key {text!r} (try e.g. 'C major', 'D minor')")


def transpose(token: int, semitones: int) -> int:
    """Move a chord token by semitones; N, END and PAD stay."""
    if not 1 <= token <= 156:
        return int(token)
    root, q = divmod(int(token) - 1, 13)
    return 1 + 13 * ((root + semitones) % 12) + q


# How a musician writes each quality after the root (the display form; parse_chord_symbol reads it).
SYMBOL_SUFFIX = {"maj": "", "min": "m", "dim": "dim", "aug": "aug", "sus2": "sus2", "sus4": "sus4",
                 "7": "7", "maj7": "maj7", "min7": "m7", "maj6": "6", "min6": "m6", "dim7": "dim7",
                 "hdim7": "m7b5"}


FLAT_ROOTS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def flat_key(key_root: int, mode: int) -> bool:
    """Whether a key is written with flats (F, Bb, Eb, Ab, Db major; D, G, C, F, Bb minor), so its
    chords read Bb and Eb, not A# and D#."""
    return key_root % 12 in ((5, 10, 3, 8, 1) if mode == 0 else (2, 7, 0, 5, 10))


def key_name(key_root: int, mode: int) -> str:
    """'Bb major', 'C# minor': a key spelled as it is written."""
    roots = FLAT_ROOTS if flat_key(key_root, mode) else ROOTS
    return f"{roots[key_root % 12]} {'minor' if mode else 'major'}"


def chord_symbol(token: int, flats: bool = False) -> str:
    """'Am', 'F#maj7' ('Gbmaj7' with `flats`), 'N' (no chord): the symbol users read and type."""
    q, root = quality_of(token), root_of(token)
    if q is None or root is None:       # both None together: N, END, PAD
        return chord_name(token)
    return (FLAT_ROOTS if flats else ROOTS)[root] + SYMBOL_SUFFIX[q]
