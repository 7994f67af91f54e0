"""Harmony on the meter: the sampler changes chord only at bar lines and cuts (with locks and a
primer too), phrases repeat, scenes end on cadences, and the arranger puts each change exactly on
its bar line or cut; the shipped models throughout."""
from __future__ import annotations

import numpy as np
import pytest

from v2m_desktop.core.arrange import stats
from v2m_desktop.core.arrange.meter import MIN_SLOT, plan_meter
from v2m_desktop.core.chords import chord_id, root_of
from v2m_desktop.core.compose import ComposeSettings, compose
from v2m_desktop.core.lab.bench import synthetic_features
from v2m_desktop.core.model.checkpoint import load_models
from v2m_desktop.core.model.generate import SamplingOptions, generate


@pytest.fixture(scope="module")
def shipped():
    return load_models()


def _changes(tokens) -> list[int]:
    t = np.asarray(tokens)
    return [int(s) for s in np.flatnonzero(t[1:] != t[:-1]) + 1]


def test_bars_restart_at_cuts_and_slots_sit_on_bars_or_cuts():
    cuts = [7.3, 21.0, 22.9, 40.2]
    meter = plan_meter(cuts, 50.0, None)
    bars = np.asarray(meter.bars)
    assert bars[0] == 0 and (np.diff(bars) <= 4).all() and (np.diff(bars) >= 2).all()
    bar_t = meter.bar_times
    for s in meter.slots:
        assert s.kind == "cut" or np.abs(bar_t - s.time).min() < 1e-9
        assert abs(s.second - s.time) <= 0.5
    for c in meter.cuts:
        assert np.abs(bar_t - c).min() < 1e-9 or c not in meter.grid.anchored
    gaps = np.diff([s.time for s in meter.slots if s.kind != "cut"])
    assert (gaps >= MIN_SLOT - 1e-9).all() or len(gaps) == 0


def test_rules_phrase_and_cadence():
    meter = plan_meter([], 60.0, None, tempo=120.0)        # 2-s bars: one scene of 30 slots
    r = meter.rules(60)
    slots = np.flatnonzero(r.change)
    assert len(slots) >= 20
    a = slots
    assert r.copy[a[4]] == a[0] and r.copy[a[8]] == a[0] and r.copy[a[7]] == a[3]
    assert r.copy[a[5]] == a[1] and r.copy[a[13]] == -1     # the variation is free
    assert list(r.cadence[a[2:4]]) == [1, 2] and list(r.cadence[a[6:8]]) == [1, 2]
    assert (r.copy[a[:4]] == -1).all()
    if len(a) % 4:                                          # the scene closes on a cadence
        assert r.cadence[a[-1]] == 2 and r.copy[a[-1]] == -1


def test_sampler_changes_only_on_slots_with_locks_and_primer(shipped):
    amt, _ = shipped
    feats = synthetic_features(60, seed=3)
    cuts = [9.0, 17.4, 33.0]
    rules = plan_meter(cuts, 60.0, feats.emotion).rules(60)
    slots = set(np.flatnonzero(rules.change).tolist())
    for kwargs in ({}, {"primer": [chord_id(0, "maj")] * 3 + [chord_id(9, "min")] * 2},
                   {"locks": {int(min(slots - {0})): chord_id(5, "maj")}}):
        tokens = generate(amt, feats, 0, options=SamplingOptions(seed=1), rules=rules, **kwargs)
        primer_len = len(kwargs.get("primer", []))
        off = [s for s in _changes(tokens) if s not in slots and s >= primer_len]
        assert off == []
        for s in np.flatnonzero(rules.fresh):
            assert tokens[s] != tokens[s - 1]                   # every cut changes chord
        for s in np.flatnonzero(rules.copy >= 0):
            assert tokens[s] == tokens[rules.copy[s]]
        for s in np.flatnonzero(rules.cadence == 2):
            assert root_of(int(tokens[s])) == 0                 # the tonic of C major
        for s, t in kwargs.get("locks", {}).items():
            assert tokens[s] == t
    assert len(_changes(tokens)) >= 10


def test_compose_spreads_a_lock_over_its_bar(shipped):
    amt, dyn = shipped
    feats = synthetic_features(40, seed=4)
    meter = plan_meter([], 40.0, feats.emotion, tempo=100.0)      # bars of 2.4 s
    rules = meter.rules(40)
    slots = np.flatnonzero(rules.change)
    inside = int(slots[3]) + 1                                     # a second inside a bar
    track, _ = compose(feats, amt, dyn, ComposeSettings(key="C major", sampling=SamplingOptions(seed=0)),
                       locks={inside: chord_id(2, "min")}, rules=rules)
    assert track.tokens[inside] == chord_id(2, "min")
    assert track.tokens[slots[3]] == chord_id(2, "min")            # sounds from the bar line
    assert all(s in set(slots.tolist()) for s in _changes(track.tokens))


def test_scored_clip_midi_changes_on_bar_lines_or_cuts(tmp_path):
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_video
    from v2m_desktop.core.video.synthetic import make_mood_video
    video = tmp_path / "alt.mp4"
    cuts = make_mood_video(video, "alternating", seconds=30, size=(160, 90))
    settings = ScoreSettings(vision="basic", compose=ComposeSettings(sampling=SamplingOptions(seed=2)))
    result = score_video(video, settings)
    arr = result.arrangement
    lyrics = [ly.time for ly in arr.midi.lyrics]           # the chord symbols in the MIDI
    assert len(lyrics) == len(arr.chord_times) >= 6
    bars = arr.bars()
    downbeats = arr.midi.get_downbeats()       # the bar lines a DAW shows (time signatures)
    assert np.abs(downbeats[:, None] - bars[None, :]).min(0).max() < 1e-6
    for t in lyrics[1:]:
        assert np.abs(bars - t).min() < 0.01 or np.abs(np.asarray(cuts) - t).min() <= 0.1
    r = stats.rhythm(arr)
    assert r["on_meter"] == 1.0 and r["median_chord_bars"] >= 0.99


@pytest.fixture(scope="module")
def moods(tmp_path_factory):
    """The calm and energetic clips (24 s, small) scored with the same seed, in one style (the
    first band): the picture's own contrast (the styles Auto picks differ on purpose:
    tests/core/arrange/test_styles.py)."""
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_video
    from v2m_desktop.core.video.synthetic import make_mood_video
    d = tmp_path_factory.mktemp("moods")
    out = {}
    for mood in ("calm", "energetic"):
        make_mood_video(d / f"{mood}.mp4", mood, seconds=24, size=(160, 90))
        settings = ScoreSettings(vision="basic", cache_dir=d / "cache",
                                 compose=ComposeSettings(sampling=SamplingOptions(seed=0)))
        settings.arrange.style = "band"
        out[mood] = score_video(d / f"{mood}.mp4", settings)
    out["folder"] = d
    return out


def test_calm_and_energetic_clips_differ_in_the_stated_direction(moods):
    calm, hot = moods["calm"].arrangement, moods["energetic"].arrangement
    assert calm.mode == 1 and hot.mode == 0                      # minor against major
    assert hot.tempo - calm.tempo >= 15
    n_calm, n_hot = len(stats.notes(calm)) / calm.duration, len(stats.notes(hot)) / hot.duration
    assert n_hot >= 1.5 * n_calm

    def mean(arr, what):
        return np.mean([what(n) for inst in arr.midi.instruments if inst.name != "drums" for n in inst.notes])
    assert mean(hot, lambda n: n.velocity) >= mean(calm, lambda n: n.velocity) + 10
    assert mean(hot, lambda n: n.pitch) >= mean(calm, lambda n: n.pitch) + 2      # higher register
    drums = {a: [i for i in arr.midi.instruments if i.name == "drums"][0].notes for a, arr in
             (("calm", calm), ("hot", hot))}
    assert not drums["calm"] and len(drums["hot"]) > 50            # the drums come in
    same = np.mean([a == b for a, b in zip(stats.per_second(calm, calm.key_root),
                                           stats.per_second(hot, hot.key_root))])
    assert same <= 0.3


def test_a_reencoded_clip_gets_nearly_the_same_chords(moods):
    import subprocess

    from v2m_desktop.core.files import ffmpeg_exe
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_video
    d = moods["folder"]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(d / "energetic.mp4"), "-vf", "scale=80:-2",
                    "-c:v", "libx264", "-b:v", "40k", str(d / "small.mp4")], check=True)
    settings = ScoreSettings(vision="basic", cache_dir=d / "cache",
                             compose=ComposeSettings(sampling=SamplingOptions(seed=0)))
    small = score_video(d / "small.mp4", settings).arrangement
    big = moods["energetic"].arrangement
    same = np.mean([a == b for a, b in zip(stats.per_second(small, small.key_root),
                                           stats.per_second(big, big.key_root))])
    assert same >= 0.8


def test_guidance_makes_the_chords_follow_the_video(shipped, muvi_root):
    """Real videos (CLIP features), the same seed: with guidance against a neutral video their
    chords agree less than without; the same video gives the same chords (no video in the
    random stream)."""
    import itertools

    from v2m_desktop.core.lab.muvisync import MuviSync
    amt, _ = shipped
    feats = [v.features.window(0, 30) for v in MuviSync(muvi_root).load("val", semantic=True, limit=4)]

    def agreement(g):
        out = [generate(amt, f, 0, options=SamplingOptions(seed=0, guidance=g)) for f in feats]
        return np.mean([np.mean(a == b) for a, b in itertools.combinations(out, 2)])
    assert agreement(1.5) <= agreement(0.0) - 0.1
    opts = SamplingOptions(seed=5, guidance=1.5)
    assert (generate(amt, feats[0], 0, options=opts) == generate(amt, feats[0], 0, options=opts)).all()


def test_regenerating_a_span_that_ends_inside_a_bar_keeps_the_meter(shipped):
    from v2m_desktop.core.model.generate import regenerate_span
    amt, _ = shipped
    feats = synthetic_features(40, seed=6)
    rules = plan_meter([], 40.0, feats.emotion, tempo=100.0).rules(40)      # bars of 2.4 s
    slots = set(np.flatnonzero(rules.change).tolist())
    chords = generate(amt, feats, 0, options=SamplingOptions(seed=0), rules=rules)
    stops = [s for s in range(12, 40) if s not in slots and s - 1 not in slots]   # deep in a bar
    for stop in stops[:3]:
        for seed in range(3):
            out = regenerate_span(amt, feats, 0, chords, 5, stop, options=SamplingOptions(seed=seed),
                                  rules=rules)
            assert (out[stop:] == chords[stop:]).all() and (out[:5] == chords[:5]).all()
            assert [s for s in _changes(out) if s not in slots] == []


def test_half_bars_only_for_slow_bars_under_an_aroused_picture():
    from v2m_desktop.core.chords import EMOTIONS

    def one_hot(emotion, n):
        return np.tile(np.eye(len(EMOTIONS))[EMOTIONS.index(emotion)], (n, 1))
    slow_tense = plan_meter([], 40.0, one_hot("tense", 40), tempo=70.0)     # 3.4-s bars
    slow_sad = plan_meter([], 40.0, one_hot("sad", 40), tempo=70.0)
    fast_tense = plan_meter([], 40.0, one_hot("tense", 40), tempo=110.0)  # 2.2-s bars
    half = [s for s in slow_tense.slots if s.kind == "half"]
    assert len(half) >= 8 and all(float(s.pos) % 4 == 2 for s in half)
    assert not [s for s in slow_sad.slots + fast_tense.slots if s.kind == "half"]
