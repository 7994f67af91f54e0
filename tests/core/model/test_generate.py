"""Generation constraints on a tiny random model: locks, spans, repeat cap, no N, seeds."""
import numpy as np
import pytest
import torch

from v2m_desktop.core.chords import N_ID, chord_id
from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.lab.bench import synthetic_features
from v2m_desktop.core.model.amt import AMT, AMTConfig
from v2m_desktop.core.model.generate import SamplingOptions, generate, regenerate_span, tonic


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = AMT(AMTConfig(d_model=32, n_head=4, n_enc=1, n_dec=2, d_ff=64, max_len=64, next_second=True)).eval()
    with torch.no_grad():       # make N and repeats attractive so the constraints have work to do
        m.head.bias[N_ID] = 6.0
    return m


@pytest.fixture(scope="module")
def feats():
    return synthetic_features(60)


def runs(seq):
    out, n = [], 1
    for a, b in zip(seq[:-1], seq[1:]):
        if a == b:
            n += 1
        else:
            out.append(n)
            n = 1
    return out + [n]


def test_seed_reproducible_and_recompute_identical(model, feats):
    a = generate(model, feats, 0, options=SamplingOptions(seed=7))
    b = generate(model, feats, 0, options=SamplingOptions(seed=7))
    c = generate(model, feats, 0, options=SamplingOptions(seed=7), recompute=True)
    d = generate(model, feats, 0, options=SamplingOptions(seed=8))
    assert len(a) == 60 and (a == b).all() and (a == c).all() and not (a == d).all()
    assert a[0] == tonic(0)
    assert generate(model, feats, 1, length=5, options=SamplingOptions(seed=1))[0] == chord_id(9, "min")


def test_recompute_identical_with_locks(model, feats):
    """The join rule before a locked chord works on both paths (full recomputation included)."""
    for seed in range(3):
        opts = SamplingOptions(seed=seed, max_repeat=6)
        a = generate(model, feats, 0, options=opts, locks={20: 5, 21: 5, 40: 9}, half=False)
        b = generate(model, feats, 0, options=opts, locks={20: 5, 21: 5, 40: 9}, recompute=True)
        assert (a == b).all() and a[20] == a[21] == 5 and a[40] == 9


def test_no_n_and_repeat_cap(model, feats):
    with_n = generate(model, feats, 0, options=SamplingOptions(seed=1, allow_n=True, max_repeat=0))
    assert (with_n == N_ID).sum() > 10          # the biased model loves N when allowed
    out = generate(model, feats, 0, options=SamplingOptions(seed=1, max_repeat=2))
    assert (out[1:] != N_ID).all()
    assert max(runs(out.tolist())) <= 2
    out3 = generate(model, feats, 0, options=SamplingOptions(seed=2, max_repeat=3, temperature=0.3))
    assert max(runs(out3.tolist())) <= 3


def test_top_k_one_is_greedy(model, feats):
    a = generate(model, feats, 0, length=20, options=SamplingOptions(seed=1, top_k=1, max_repeat=0))
    b = generate(model, feats, 0, length=20, options=SamplingOptions(seed=99, top_k=1, max_repeat=0))
    c = generate(model, feats, 0, length=20, options=SamplingOptions(seed=5, top_p=1e-6, max_repeat=0))
    assert (a == b).all() and (a == c).all()


def test_primer_and_locks(model, feats):
    primer = [chord_id(0, "maj"), chord_id(9, "min"), chord_id(5, "maj")]
    locks = {10: chord_id(7, "7"), 11: chord_id(7, "7"), 40: chord_id(2, "min7")}
    out = generate(model, feats, 0, primer=primer, locks=locks, options=SamplingOptions(seed=3))
    assert out[:3].tolist() == primer
    assert all(out[s] == t for s, t in locks.items())


def test_span_regeneration(model, feats):
    base = generate(model, feats, 0, options=SamplingOptions(seed=4))
    new = regenerate_span(model, feats, 0, base, 20, 35, options=SamplingOptions(seed=5))
    assert (new[:20] == base[:20]).all() and (new[35:] == base[35:]).all()
    assert not (new[20:35] == base[20:35]).all()
    assert max(runs(new.tolist())) <= 4                  # the cap holds across both seams
    with pytest.raises(V2MError):
        regenerate_span(model, feats, 0, base, 30, 20)


def test_callback_progress_and_cancel(model, feats):
    seen = []
    generate(model, feats, 0, length=30, options=SamplingOptions(seed=1),
             progress=lambda stage, f: seen.append((stage, round(30 * f))))
    assert seen[-1] == ("compose", 30) and len(seen) == 31     # the encoded picture, then a second each
    done = []

    def cancel_at_ten(stage, f):                # the one protocol: a report raises to cancel
        done.append(f)
        if f * len(feats) >= 10:
            raise Cancelled()
    with pytest.raises(Cancelled):
        generate(model, feats, 0, options=SamplingOptions(seed=1), progress=cancel_at_ten)
    assert round(done[-1] * len(feats)) == 10


def test_bad_options(model, feats):
    for opts in (SamplingOptions(temperature=0), SamplingOptions(top_p=0), SamplingOptions(top_k=-1)):
        with pytest.raises(V2MError):
            generate(model, feats, 0, options=opts)
    with pytest.raises(V2MError):
        generate(model, feats, 0, length=61)
    long = synthetic_features(100)
    with pytest.raises(V2MError, match="at most 64"):
        generate(model, long, 0)


def test_long_video_windows_continue_and_cover_everything(model):
    from v2m_desktop.core.model.generate import generate_long
    feats = synthetic_features(150)          # the fixture model covers 64 s per window
    seen = []
    locks = {100: chord_id(4, "min"), 149: chord_id(7, "maj")}
    out = generate_long(model, feats, 0, locks=locks, options=SamplingOptions(seed=2),
                        progress=lambda stage, f: seen.append(round(150 * f)))
    assert len(out) == 150 and all(out[s] == t for s, t in locks.items())
    assert (out[1:] != N_ID).all() and max(runs(out.tolist())) <= 4
    assert seen[-1] == 150 and all(a <= b for a, b in zip(seen, seen[1:]))
    again = generate_long(model, feats, 0, locks=locks, options=SamplingOptions(seed=2))
    assert (again == out).all()


def test_emotion_steering_raises_the_allowed_qualities(model):
    from v2m_desktop.core.chords import EMOTION_MASKS
    feats = synthetic_features(60)
    feats.emotion[:] = np.eye(6, dtype=np.float32)[1]          # fearful everywhere
    shares = {}
    for steer in (0.0, 3.0):
        out = np.concatenate([generate(model, feats, 0, options=SamplingOptions(seed=s, emotion_steer=steer))
                              for s in range(3)])
        shares[steer] = EMOTION_MASKS[1, out].mean()
    assert shares[3.0] > shares[0.0] + 0.3, shares


@pytest.mark.parametrize("fast", [1, 2])
def test_step_threads_keeps_the_faster_count(fast):
    """The thread count of the one-token steps follows timings: two threads kept when they are
    faster, one kept (and two tried again only later) when two are slow, as on a busy machine."""
    import time

    from v2m_desktop.core.model.generate import _StepThreads

    saved = torch.get_num_threads()
    try:
        chooser, used = _StepThreads(2), []

        def step():
            used.append(torch.get_num_threads())
            time.sleep(0.001 if used[-1] == fast else 0.006)

        for _ in range(60):
            chooser.run(step)
        assert chooser.best == fast
        assert used[:2] == [1, 1] and used[2] == 2
        assert used[10:60] == [fast] * 50
        if fast == 1:           # two threads given up after one slow step
            assert used[3] == 1
    finally:
        torch.set_num_threads(saved)
