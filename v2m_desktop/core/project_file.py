"""The .v2m file's schema: what a project file may hold, checked before anything reads it.

A project file is untrusted input (a download, a mail attachment, a damaged disk), so every
field is typed and bounded here, in one pydantic model: whole numbers are whole numbers, numbers
are finite and in range, ranges are ordered and inside the video, lists are no longer than the
video has seconds, unknown fields are refused. (core.project reads the file bounded: regular
files only, at most MAX_BYTES, deep nesting refused.) A failure is one line naming the field, e.g.
`P.v2m: settings.tempo must be a number of BPM or "auto", not "fast"`.

To add a field: add it to the model below with a `description` that completes "... must be"
(the error message says it), and to the dataclass in core.project; tests/core/test_untrusted.py
checks that the two agree."""
from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from v2m_desktop.core.arrange.arranger import INSTRUMENTS, TEMPO_LIMITS
from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.limits import FOLLOW_PICTURE_MAX
from v2m_desktop.core.mix import DEFAULT_LOUDNESS, DUCK_DB, MAX_DUCK_DB
from v2m_desktop.core.notes import MAX_NOTES

MAX_SECONDS = 24 * 3600         # the longest video a project may describe
MAX_TEXT = 4096                 # a path, a model id, a chord symbol: far below this
MAX_TAKES = 1000                # versions of one regenerated range
GAIN_MAX = 1000.0
DYNAMICS_TOP = {"density": 40.0, "loudness": 1.0}      # as core.edits.SetDynamics bounds them

_FINGERPRINT = r"^\d{1,20}:[0-9a-f]{32}$"
_SECOND_KEY = r"^\d{1,6}$"


def _chord(symbol: str) -> str:
    from v2m_desktop.core.project import _token
    try:
        _token(symbol)
    except V2MError as e:
        raise PydanticCustomError("v2m_chord", "{why}", {"why": str(e)}) from None
    return symbol


def _key(text: str) -> str:
    from v2m_desktop.core.chords import parse_key
    try:
        parse_key(text)
    except V2MError:
        raise PydanticCustomError("v2m_key", "not a key", {}) from None
    return text


def _auto_tempo(value: Any) -> Any:
    return None if value == "auto" else value


def _listed(value: Any) -> Any:
    """The project's own tuples of ranges (a Project's settings, not yet through JSON) as the
    lists the file holds; anything else is left for the schema to judge."""
    if isinstance(value, tuple):
        return [list(x) if isinstance(x, tuple) else x for x in value]
    return value


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise PydanticCustomError("v2m_repeat", "repeats", {})
    return values


Text = Annotated[str, Field(max_length=MAX_TEXT)]
Chord = Annotated[str, Field(min_length=1, max_length=16), AfterValidator(_chord)]
Second = Annotated[int, Field(ge=0, le=MAX_SECONDS)]
Span = Annotated[list[Annotated[float, Field(ge=0, le=MAX_SECONDS)]], Field(min_length=2, max_length=2)]


Spans = Annotated[list[Span], BeforeValidator(_listed)]


class _Strict(BaseModel):
    """No coercion ("3" is not 3, true is not 1), no NaN or infinity, no unknown fields."""
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class VideoModel(_Strict):
    path: Text = Field(min_length=1, description="the video's file name (text)")
    fingerprint: str = Field(pattern=_FINGERPRINT, description="SIZE:HASH as v2m writes it")
    duration: float = Field(gt=0, le=MAX_SECONDS,
                            description=f"the video's length in seconds (above 0, at most {MAX_SECONDS})")
    seconds: int = Field(ge=1, le=MAX_SECONDS,
                         description=f"a whole number of seconds from 1 to {MAX_SECONDS}")

    @model_validator(mode="after")
    def _seconds_fit(self):
        # the analysis keeps ceil(duration) seconds (at least 1); a frame's rounding either way
        if abs(self.seconds - max(1, math.ceil(self.duration))) > 1:
            raise _at("video.seconds", f"does not fit the video's duration ({self.duration:g} s)")
        return self


class SettingsModel(_Strict):
    vision: Literal["basic", "clip", "auto"] = Field(default="basic", description='"basic", "clip" or "auto"')
    clip_model: Text | None = Field(default=None, description="a CLIP model name or folder (text) or null")
    tempo: Annotated[float | None, BeforeValidator(_auto_tempo)] = Field(
        default=None, ge=TEMPO_LIMITS[0], le=TEMPO_LIMITS[1],
        description=f'a number of BPM ({TEMPO_LIMITS[0]:g}-{TEMPO_LIMITS[1]:g}) or "auto"')
    instruments: Annotated[list[Literal[INSTRUMENTS]], AfterValidator(_unique)] = Field(  # type: ignore[valid-type]
        list(INSTRUMENTS), min_length=1, max_length=len(INSTRUMENTS),
        description=f"a list of different instruments from {', '.join(INSTRUMENTS)}",
        json_schema_extra={"each": f"one of {', '.join(INSTRUMENTS)}"})
    soundfont: Text | None = Field(default=None, description="a SoundFont file name (text) or null")
    seed: int = Field(default=0, ge=0, lt=2**32, description=f"a whole number from 0 to {2**32 - 1}")
    original_level: float = Field(default=0.0, ge=0, le=1, description="a level from 0 to 1")
    follow_picture: float = Field(default=1.5, ge=0, le=FOLLOW_PICTURE_MAX,
                                  description=f"a strength from 0 to {FOLLOW_PICTURE_MAX:g}")
    gain: float | None = Field(default=None, gt=0, le=GAIN_MAX,
                               description=f"a render gain above 0, at most {GAIN_MAX:g}, or null")
    chord_seed: int | None = Field(default=None, ge=0, lt=2**32,
                                   description=f"a whole number from 0 to {2**32 - 1}, or null")
    duck_db: float = Field(default=DUCK_DB, ge=0, le=MAX_DUCK_DB,
                           description=f"a duck depth from 0 to {MAX_DUCK_DB:g} dB")
    duck_add: Spans = Field(default_factory=list, max_length=MAX_SECONDS,
                            description="a list of [START, END] ranges in seconds",
                            json_schema_extra={"each": "a range [START, END] in seconds"})
    duck_remove: Spans = Field(default_factory=list, max_length=MAX_SECONDS,
                               description="a list of [START, END] ranges in seconds",
                               json_schema_extra={"each": "a range [START, END] in seconds"})
    loudness: float = Field(default=DEFAULT_LOUDNESS, ge=-40, le=-5,
                            description="a loudness target from -40 to -5 LUFS")
    style: str = Field(default="auto", min_length=1, max_length=64,
                       description='a style name or "auto"')
    style_ranges: Annotated[list[Annotated[list[int | str], Field(min_length=3, max_length=3)]],
                            BeforeValidator(_listed)] = Field(
        default_factory=list, max_length=MAX_SECONDS, description="a list of [START, END, STYLE] ranges",
        json_schema_extra={"each": "a range [START, END, STYLE]"})


class TargetModel(_Strict):
    start: Second = Field(description="a whole second")
    end: Second = Field(description="a whole second")
    emotion: Literal[EMOTIONS] = Field(  # type: ignore[valid-type]
        description=f"one of {', '.join(EMOTIONS)}")
    intensity: float = Field(ge=0, le=1, description="an intensity from 0 to 1")


class NoteModel(_Strict):
    part: str = Field(min_length=1, max_length=64, description="a part's track name (text)")
    pitch: int = Field(ge=0, le=127, description="a MIDI pitch from 0 to 127")
    start: float = Field(ge=0, le=MAX_SECONDS, description="a time in seconds")
    end: float = Field(ge=0, le=MAX_SECONDS, description="a time in seconds")
    velocity: int = Field(ge=1, le=127, description="a velocity from 1 to 127")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.start < self.end:
            raise _at("a note", f"must end after it starts, not {self.start:g}-{self.end:g} s")
        return self


class NoteEditsModel(_Strict):
    removed: list[NoteModel] = Field(default_factory=list, max_length=MAX_NOTES,
                                     description="a list of the arrangement's notes taken out",
                                     json_schema_extra={"each": "a note object"})
    added: list[NoteModel] = Field(default_factory=list, max_length=MAX_NOTES,
                                   description="a list of the notes the user put in",
                                   json_schema_extra={"each": "a note object"})


class TakesModel(_Strict):
    start: Second = Field(description="a whole second")
    end: Second = Field(description="a whole second")
    current: int = Field(ge=0, lt=MAX_TAKES, description="the number of a take")
    takes: list[list[Chord]] = Field(min_length=1, max_length=MAX_TAKES,
                                     description="a list of takes, each a list of chord symbols",
                                     json_schema_extra={"each": 'a chord symbol such as "Am" or "N"'})
    notes: list[NoteEditsModel] | None = Field(default=None, max_length=MAX_TAKES,
                                               description="a list of each take's note edits",
                                               json_schema_extra={"each": "an object of note edits"})


class DynamicsModel(_Strict):
    density: dict[Annotated[str, Field(pattern=_SECOND_KEY)],
                  Annotated[float, Field(ge=0, le=DYNAMICS_TOP["density"])]] = Field(
        default_factory=dict, description="an object of seconds and note densities",
        json_schema_extra={"each": f"a note density from 0 to {DYNAMICS_TOP['density']:g}"})
    loudness: dict[Annotated[str, Field(pattern=_SECOND_KEY)],
                   Annotated[float, Field(ge=0, le=DYNAMICS_TOP["loudness"])]] = Field(
        default_factory=dict, description="an object of seconds and loudnesses",
        json_schema_extra={"each": f"a loudness from 0 to {DYNAMICS_TOP['loudness']:g}"})


class ProjectModel(_Strict):
    format: int = Field(ge=1, description="a format number")
    program: Text | None = Field(default=None, description="the program that wrote it (text)")
    video: VideoModel = Field(description="an object with the path, fingerprint, duration and seconds")
    settings: SettingsModel = Field(default_factory=lambda: SettingsModel.model_validate({}),
                                    description="an object of settings")
    key: Annotated[str, AfterValidator(_key)] = Field(max_length=32, description='a key such as "D minor"')
    chords: list[Chord] = Field(min_length=1, max_length=MAX_SECONDS,
                                description="a list of chord symbols, one a second",
                                json_schema_extra={"each": 'a chord symbol such as "Am" or "N"'})
    locks: list[Annotated[list[Second], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, max_length=MAX_SECONDS, description="a list of [START, END] ranges",
        json_schema_extra={"each": "a range [START, END] of whole seconds"})
    splits: list[Second] = Field(default_factory=list, max_length=MAX_SECONDS,
                                 description="a list of whole seconds",
                                 json_schema_extra={"each": "a whole second"})
    targets: list[TargetModel] = Field(default_factory=list, max_length=MAX_SECONDS,
                                       description="a list of emotion targets",
                                       json_schema_extra={"each": "an emotion target object"})
    dynamics: DynamicsModel = Field(default_factory=DynamicsModel,
                                    description="an object with density and loudness edits")
    takes: list[TakesModel] = Field(default_factory=list, max_length=MAX_SECONDS,
                                    description="a list of regenerated ranges",
                                    json_schema_extra={"each": "an object of a range's takes"})
    notes: NoteEditsModel = Field(default_factory=NoteEditsModel,
                                  description="an object with the removed and added notes")
    recovery_of: Text | None = Field(default=None, description="the project a recovery copy belongs to")

    @model_validator(mode="after")
    def _inside_the_video(self):
        """Cross-field bounds: every second inside the video, every range ordered."""
        T = self.video.seconds
        if len(self.chords) != T:
            raise _at("chords", f"has {len(self.chords)} chords for a {T}-s video (one a second)")
        for i, (a, b) in enumerate(self.locks):
            if not a < b <= T:
                raise _at(f"locks[{i}]", f"must be a range inside the video's {T} s, not [{a}, {b}]")
        for i, s in enumerate(self.splits):
            if not 0 < s < T:
                raise _at(f"splits[{i}]", f"must be a second from 1 to {T - 1}, not {s}")
        for i, t in enumerate(self.targets):
            if not t.start < t.end <= T:
                raise _at(f"targets[{i}]", f"must lie inside the video's {T} s, not {t.start}-{t.end}")
        for kind in ("density", "loudness"):
            for s in getattr(self.dynamics, kind):
                if int(s) >= T:
                    raise _at(f"dynamics.{kind}", f"edits second {s}, past the video's {T} s")
        for kind in ("duck_add", "duck_remove"):
            for i, (a, b) in enumerate(getattr(self.settings, kind)):
                if not a < b <= self.video.duration:
                    raise _at(f"settings.{kind}[{i}]", f"must be a range inside the video's "
                              f"{self.video.duration:g} s, not [{a:g}, {b:g}]")
        for i, t in enumerate(self.takes):
            if not t.start < t.end <= T:
                raise _at(f"takes[{i}]", f"must lie inside the video's {T} s, not {t.start}-{t.end}")
            if t.current >= len(t.takes):
                raise _at(f"takes[{i}].current", f"must be below {len(t.takes)}, not {t.current}")
            if any(len(x) != t.end - t.start for x in t.takes):
                raise _at(f"takes[{i}].takes", f"must each hold {t.end - t.start} chords")
            if t.notes is not None and len(t.notes) > len(t.takes):
                raise _at(f"takes[{i}].notes", f"must hold at most {len(t.takes)} takes' note edits")
        edited = [*self.notes.removed, *self.notes.added,
                  *(n for t in self.takes for e in t.notes or () for n in (*e.removed, *e.added))]
        for n in edited:
            if n.end > self.video.duration + 1:
                raise _at("notes", f"has a note at {n.start:g}-{n.end:g} s, past the video's "
                          f"{self.video.duration:g} s")
        return self


def _at(where: str, text: str) -> PydanticCustomError:
    """A cross-field error, its place carried in the message's context."""
    return PydanticCustomError("v2m_at", "{where} {text}", {"where": where, "text": text})


# --------------------------------------------------------------------------------------------- #
# reading and checking

def check(d: dict, name: str = "the project") -> ProjectModel:
    """The file's data validated against the schema; V2MError with one line naming the first
    bad field (prefixed by `name`, the file's name)."""
    try:
        return ProjectModel.model_validate(d)
    except ValidationError as e:
        raise V2MError(f"{name}: {describe(e.errors()[0])}") from None
    except RecursionError:
        raise V2MError(f"{name}: nested too deep") from None


def describe(err: ErrorDetails) -> str:
    """One pydantic error as `field must be WHAT, not VALUE`."""
    kind, loc = err["type"], tuple(err["loc"])
    if kind == "v2m_at":
        return f"{err['ctx']['where']} {err['ctx']['text']}"
    where = _where(loc, unknown=kind == "extra_forbidden")
    if kind == "extra_forbidden":
        return f"{where} is not a field of a v2m project (written by another program?)"
    if kind == "missing":
        return f"{where} is missing"
    must = _phrase(loc) or "valid"
    extra = f" ({err['ctx']['why']})" if kind == "v2m_chord" else ""
    return f"{where} must be {must}, not {_shown(err.get('input'))}{extra}"


def _where(loc: tuple, unknown: bool = False) -> str:
    """('targets', 0, 'emotion') -> 'targets[0].emotion'; a key of a map in brackets."""
    out = ""
    for i, part in enumerate(loc):
        if unknown and i == len(loc) - 1 and part.isidentifier():
            out += f".{part}" if out else part
        elif isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (a key)"
        elif part in _FIELDS:
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


_FIELDS = {name for m in (ProjectModel, VideoModel, SettingsModel, TargetModel, TakesModel, DynamicsModel,
                          NoteEditsModel, NoteModel)
           for name in m.model_fields}


def _phrase(loc: tuple) -> str | None:
    """The `description` of the field at `loc` (its `each` phrase for an item inside it)."""
    model: type[BaseModel] | None = ProjectModel
    info, depth = None, 0
    for i, part in enumerate(loc):
        if model is not None and isinstance(part, str) and part in model.model_fields:
            info, depth = model.model_fields[part], i
            ann = info.annotation
            model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else _item_model(ann)
            continue
        if isinstance(part, int) and model is not None and info is not None:
            depth = i        # an item of a list of models: the item's own fields come next
            continue
        break
    if info is None:
        return None
    inner = len(loc) - 1 - depth
    each = (info.json_schema_extra or {}).get("each") if isinstance(info.json_schema_extra, dict) else None
    if inner > 0 and each and loc[-1] != "[key]":
        return str(each)
    if loc and loc[-1] == "[key]":
        return "a whole second (text of digits)"
    return info.description


def _item_model(ann) -> type[BaseModel] | None:
    for a in getattr(ann, "__args__", ()) or ():
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def _shown(value: Any) -> str:
    """A bad value as the message shows it: short, never the whole of a huge or deep one."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and len(value) > 40:
        return json.dumps(value[:40])[:-1] + '..."'
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return type(value).__name__
