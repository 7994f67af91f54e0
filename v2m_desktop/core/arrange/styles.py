"""Styles: what the band is and how it plays, as data (one file each in resources/styles).

A style sets each part's General MIDI instrument, accompaniment pattern, register and place in
the mix, the drum groove (or none) and swing, the felt tempo range, the pattern levels it plays
at and the picture it suits (the Auto choice).  The files are TOML, read with tomllib and checked
with pydantic, so a bad file is refused with one line naming its field.  `StylePlan` says which
style plays when: the piece's style, and styles set for ranges (scenes) over it."""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.resources import resource

AUTO = "auto"
ROLES = ("piano", "bass", "pad", "drums", "melody")   # the parts; "piano" is the accompaniment
PATTERNS = {"piano": ("arpeggio", "strum", "ostinato", "sustained"),
            "bass": ("cells", "pulse", "sustained"), "pad": ("sustained",), "melody": ("lead",)}
DRUM_NOTES = {"kick": 36, "stick": 37, "snare": 38, "clap": 39, "hat": 42, "open hat": 46,
              "crash": 49, "ride": 51, "floor tom": 41, "low tom": 45, "mid tom": 47,
              "high tom": 50, "tambourine": 54, "shaker": 70}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartStyle(_Strict):
    program: int
    pattern: str
    pitches: tuple[int, int, float] = Field(alias="register")   # lowest, highest, centre
    mix: tuple[int, int, int, int]          # CC 7 volume, 10 pan, 91 reverb, 93 chorus

    @field_validator("program", mode="before")
    @classmethod
    def _gm(cls, v):
        if isinstance(v, str):
            try:
                return pretty_midi.instrument_name_to_program(v)
            except ValueError:
                raise ValueError(f"not a General MIDI instrument: {v!r}") from None
        return v

    @field_validator("mix")
    @classmethod
    def _cc(cls, v):
        if not all(0 <= x <= 127 for x in v):
            raise ValueError("mix values are 0-127")
        return v

    @field_validator("pitches")
    @classmethod
    def _reg(cls, v):
        if not 0 <= v[0] < v[1] <= 127 or not v[0] <= v[2] <= v[1]:
            raise ValueError("register is [lowest, highest, centre], lowest < centre < highest")
        return v


class DrumStyle(_Strict):
    kit: int = Field(ge=0, le=127)
    hats: str = "eighths"                   # "eighths" (sixteenths when dense) or "none"
    light: tuple[tuple[float, str, float], ...]
    full: tuple[tuple[float, str, float], ...]
    mix: tuple[int, int, int, int]

    @field_validator("light", "full")
    @classmethod
    def _hits(cls, v):
        for beat, name, vel in v:
            if name not in DRUM_NOTES or not 0 <= beat < 4 or not 0 < vel <= 1.5:
                raise ValueError(f"a hit is [beat 0-4, one of {', '.join(DRUM_NOTES)}, level], not "
                                 f"{[beat, name, vel]}")
        return v

    def bar(self, level: int) -> list[tuple[float, int, float]]:
        """(beat, GM drum note, velocity factor) of one bar at drum level 1 (light) or 2."""
        return [(float(b), DRUM_NOTES[n], float(f)) for b, n, f in (self.light if level == 1 else self.full)]


class AutoHint(_Strict):
    emotions: dict[str, float]
    energy: float = Field(ge=0, le=1)
    pace: float = Field(ge=0)               # cuts a minute
    max_energy: float = Field(default=1.0, ge=0, le=1)   # a sparse style: only for a picture this calm

    @field_validator("emotions")
    @classmethod
    def _emo(cls, v):
        bad = [k for k in v if k not in EMOTIONS]
        if bad:
            raise ValueError(f"unknown emotion {bad[0]!r} (one of {', '.join(EMOTIONS)})")
        return v


class Style(_Strict):
    key: str                                # the file's name: what the user types
    name: str
    summary: str
    tempo: tuple[float, float]
    swing: float = Field(default=0.0, ge=0, le=0.25)
    levels: tuple[int, int] = (0, 4)
    auto: AutoHint
    parts: dict[str, PartStyle]
    drums: DrumStyle | None = None

    @field_validator("parts")
    @classmethod
    def _parts(cls, v):
        for role, part in v.items():
            if role not in PATTERNS:
                raise ValueError(f"unknown part {role!r} (one of {', '.join(PATTERNS)})")
            if part.pattern not in PATTERNS[role]:
                raise ValueError(f"the {role} plays {' or '.join(PATTERNS[role])}, not {part.pattern!r}")
        return v

    def has(self, role: str) -> bool:
        return self.drums is not None if role == "drums" else role in self.parts

    @property
    def drum_style(self) -> DrumStyle:
        """The drums of a style that has them (every caller checks `has("drums")` first)."""
        assert self.drums is not None, f"the {self.key} style has no drums"
        return self.drums

    def program(self, role: str) -> int:
        return self.drum_style.kit if role == "drums" else self.parts[role].program

    def mix(self, role: str) -> tuple[int, int, int, int]:
        return self.drum_style.mix if role == "drums" else self.parts[role].mix

    def level(self, level: int, bpm: float) -> int:
        """A pattern level (0-4 from the note density) as this style plays it at `bpm`: a beat
        slower than the style's tempo range plays a level busier, a faster one a level calmer,
        within the style's levels."""
        level += (bpm < self.tempo[0]) - (bpm > self.tempo[1])
        return int(min(max(level, self.levels[0]), self.levels[1]))

    def swung(self, pos):
        """A beat position with the off-beat eighths `swing` of a beat late (beats stay put)."""
        if not self.swing:
            return pos
        whole = np.floor(pos)
        frac = pos - whole
        half = 0.5 + self.swing
        return whole + np.where(frac < 0.5, frac * half / 0.5, half + (frac - 0.5) * (1 - half) / 0.5)


def styles_dir() -> Path:
    return resource("styles")


@functools.lru_cache(maxsize=1)
def all_styles() -> dict[str, Style]:
    """Every shipped style by its key, in a fixed order (the files' names)."""
    folder = styles_dir()
    out = {}
    for path in sorted(folder.glob("*.toml")):
        out[path.stem] = load_style(path)
    if not out:
        raise V2MError(f"no styles found in {folder} (a broken install?)")
    return out


def load_style(path: Path) -> Style:
    """One style file, checked; V2MError names the file and the first bad field."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        return Style(key=Path(path).stem, **data)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise V2MError(f"cannot read the style {path}: {e}") from None
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise V2MError(f"the style {path.name}: {where}: {err['msg']}") from None
    except TypeError as e:
        raise V2MError(f"the style {path.name}: {e}") from None


def parse_style(name, *, auto: bool = True) -> str:
    """A style's key from what a user types ('lofi', 'Lo-fi', 'upbeat pop', 'auto')."""
    text = str(name or AUTO).strip().lower()
    if auto and text == AUTO:
        return AUTO
    styles = all_styles()
    squeeze = "".join(ch for ch in text if ch.isalnum())
    for key, style in styles.items():
        if squeeze in (key, "".join(ch for ch in style.name.lower() if ch.isalnum())):
            return key
    choices = ", ".join(styles) + (", auto" if auto else "")
    raise V2MError(f"unknown style {name!r} (choose from {choices})")


def choose_style(emotion: np.ndarray, energy: float, cuts_per_minute: float) -> str:
    """Auto: the style whose hint fits the picture best: its mean emotion (probabilities) on the
    style's emotion weights, less how far the picture's energy and pace are from the style's."""
    emo = np.asarray(emotion, dtype=np.float64).reshape(-1, len(EMOTIONS))
    mean = emo.mean(0) if len(emo) else np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")]
    mean = mean / max(mean.sum(), 1e-9)

    def fit(style: Style) -> float:
        h = style.auto
        weights = max(sum(h.emotions.values()), 1e-9)
        match = sum(w * mean[EMOTIONS.index(e)] for e, w in h.emotions.items()) / weights
        return match - 1.5 * abs(energy - h.energy) - 0.02 * abs(cuts_per_minute - h.pace)
    fits = [st for st in all_styles().values() if energy <= st.auto.max_energy] or list(all_styles().values())
    return max(fits, key=fit).key


@dataclass(frozen=True)
class StylePlan:
    """Which style plays when: (start s, end s, style key) spans covering [0, duration), in
    order; a range's style wins over the piece's (the last range given wins where they meet)."""
    spans: tuple[tuple[float, float, str], ...]

    @classmethod
    def build(cls, piece: str, ranges, duration: float) -> StylePlan:
        owner = [piece]
        bounds = [0.0, float(duration)]
        for a, b, key in ranges or ():
            a, b = max(float(a), 0.0), min(float(b), float(duration))
            if b <= a:
                continue
            cuts = sorted(set(bounds) | {a, b})
            new_owner = []
            for x0, x1 in zip(cuts, cuts[1:]):
                mid = 0.5 * (x0 + x1)
                k = int(np.searchsorted(bounds, mid, side="right") - 1)
                new_owner.append(key if a <= mid < b else owner[k])
            bounds, owner = cuts, new_owner
        spans: list[tuple[float, float, str]] = []
        for (x0, x1), key in zip(zip(bounds, bounds[1:]), owner):
            if spans and spans[-1][2] == key:
                spans[-1] = (spans[-1][0], x1, key)
            else:
                spans.append((x0, x1, key))
        return cls(tuple(spans))

    def keys(self) -> list[str]:
        """The styles that play, each once, the piece's (the first span's) first."""
        return list(dict.fromkeys(k for _, _, k in self.spans))

    def of(self, key: str) -> list[tuple[float, float]]:
        return [(a, b) for a, b, k in self.spans if k == key]

    def at(self, t: float) -> str:
        for a, b, k in self.spans:
            if a <= t < b:
                return k
        return self.spans[-1][2]


def check_ranges(ranges, seconds: int | None = None) -> tuple[tuple[int, int, str], ...]:
    """A project's style ranges as kept: whole seconds, start < end, known styles."""
    out = []
    for r in ranges or ():
        try:
            a, b, key = int(r[0]), int(r[1]), parse_style(r[2], auto=False)
        except (TypeError, ValueError, IndexError):
            raise V2MError(f"a style range is [start, end, style], not {r!r}") from None
        if not 0 <= a < b or (seconds is not None and b > seconds):
            raise V2MError(f"the style range {a}-{b} s is outside the video")
        out.append((a, b, key))
    return tuple(out)
