"""From per-second video features to the musical plan: key, chords (AMT) and dynamics (GRU).

The models work in the dataset's normalised keys (C major / A minor); the plan is moved to the
piece's real key here, and user input (primer, locks) is moved back before the model sees it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from v2m_desktop.core.chords import EMOTIONS, chord_id, parse_chord_symbol, parse_key, transpose
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.features import VideoFeatures
from v2m_desktop.core.limits import FOLLOW_PICTURE_MAX
from v2m_desktop.core.model.amt import AMT
from v2m_desktop.core.model.dynamics import DynamicsGRU
from v2m_desktop.core.model.generate import ChordRules, SamplingOptions, generate_long
from v2m_desktop.core.model.inputs import batch_video
from v2m_desktop.core.progress import Progress
from v2m_desktop.core.tracks import ChordTrack, Dynamics

# The key a piece gets from the emotion that dominates its video: bright major keys for the
# happy and calm classes, minor keys for the dark ones.
KEY_BY_EMOTION = {"exciting": "D major", "fearful": "C minor", "tense": "E minor",
                  "sad": "D minor", "relaxing": "F major", "neutral": "C major"}


@dataclass
class ComposeSettings:
    key: str | None = None                 # e.g. "D minor"; None: chosen from the emotion
    primer: str = ""                       # e.g. "C Am F G", in the piece's key
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    semantic: bool = True                  # use CLIP semantic features when the video has them
    # how far the picture steers the chords: guidance against a neutral video (0 = the model
    # alone; at 1.5, 8 MuVi-Sync val videos, same seed, share 0.39 of their chords instead of
    # 0.68, while two seeds on one video still share 0.11: models/README.md)
    follow_picture: float = 1.5


def choose_key(emotion: np.ndarray) -> tuple[int, int]:
    """(tonic root, mode) from the video's mean emotion."""
    dominant = EMOTIONS[int(np.asarray(emotion).mean(axis=0).argmax())]
    return parse_key(KEY_BY_EMOTION[dominant])


def parse_primer(text: str, key_root: int, mode: int) -> list[int]:
    """'C Am F G' (chords in the piece's key) -> normalised tokens, one per second."""
    shift = -ChordTrack.shift_for(key_root, mode)
    return [transpose(chord_id(*parse_chord_symbol(sym)), shift) for sym in text.split()]


def check_settings(settings: ComposeSettings) -> None:
    """Raise V2MError for a bad key, primer or sampling option before any work starts."""
    key_root, mode = parse_key(settings.key) if settings.key else (0, 0)
    if settings.primer:
        parse_primer(settings.primer, key_root, mode)
    settings.sampling.check()
    if not 0 <= settings.follow_picture <= FOLLOW_PICTURE_MAX:     # NaN fails too
        # far above the maximum the guided logits overflow to NaN probabilities
        raise V2MError(f"the picture's strength (--follow-picture) must be from 0 to "
                       f"{FOLLOW_PICTURE_MAX:g}, not {settings.follow_picture:g}")


def predict_dynamics(model: DynamicsGRU, features: VideoFeatures, *, semantic: bool = True,
                     device: torch.device | str = "cpu") -> Dynamics:
    """Note density and loudness for every second (the bi-GRU reads the whole video at once)."""
    with torch.no_grad():
        vb = batch_video([features], len(features), semantic=semantic).to(device)
        density, loudness = model.predict(vb)
    return Dynamics(density[0].cpu().numpy(), loudness[0].cpu().numpy())


def spread_locks(locks: dict[int, int], rules: ChordRules | None) -> dict[int, int]:
    """Each lock held over the seconds of its slot (up to the next slot or the next lock), so a
    locked chord sounds from its bar line, not from the second it was typed on."""
    if rules is None or not locks:
        return dict(locks)
    out = dict(locks)
    T = len(rules.change)
    for s in sorted(locks):
        if not 0 <= s < T:
            continue
        a = s
        while a > 0 and not rules.change[a] and a - 1 not in locks:
            a -= 1
        b = s + 1
        while b < T and not rules.change[b] and b not in locks:
            b += 1
        for k in range(a, b):
            out.setdefault(k, locks[s])
    return out


def compose(features: VideoFeatures, amt: AMT, dynamics_model: DynamicsGRU,
            settings: ComposeSettings | None = None, *,
            locks: dict[int, int] | None = None, device: torch.device | str = "cpu",
            progress: Progress | None = None,
            rules: ChordRules | None = None) -> tuple[ChordTrack, Dynamics]:
    """The whole plan for a video: its chords (`write`) and its dynamics."""
    settings = settings or ComposeSettings()
    track = write(features, amt, settings, locks=locks, device=device, progress=progress, rules=rules)
    return track, predict_dynamics(dynamics_model, features, semantic=settings.semantic, device=device)


def write(features: VideoFeatures, amt: AMT, settings: ComposeSettings | None = None, *,
          locks: dict[int, int] | None = None, device: torch.device | str = "cpu",
          progress: Progress | None = None,
          rules: ChordRules | None = None) -> ChordTrack:
    """The chords of a video, in its key (from the settings, else from its emotion).
    locks: second -> chord token in the piece's key.  rules: the meter the harmony follows (see
    `arrange.meter.plan_meter`)."""
    settings = settings or ComposeSettings()
    if len(features) < 1:
        raise V2MError("the video is too short to score (under one second)")
    key_root, mode = parse_key(settings.key) if settings.key else choose_key(features.emotion)
    primer = parse_primer(settings.primer, key_root, mode) if settings.primer else []
    shift = ChordTrack.shift_for(key_root, mode)
    norm_locks = {int(s): transpose(t, -shift) for s, t in (locks or {}).items()}
    tokens = generate_long(amt, features, mode, primer=primer, locks=spread_locks(norm_locks, rules),
                           options=dataclasses.replace(settings.sampling, guidance=settings.follow_picture),
                           semantic=settings.semantic, device=device,
                           progress=progress, rules=rules)
    return ChordTrack.from_normalised(tokens, key_root, mode, locks=norm_locks.keys())
