"""The AMT on tiny configurations: causality, KV cache = recomputation, checkpoints."""
import numpy as np
import pytest
import torch

from v2m_desktop.core.chords import PAD_ID
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.lab.bench import synthetic_features
from v2m_desktop.core.model.amt import AMT, AMTConfig
from v2m_desktop.core.model.checkpoint import load_model, save_model
from v2m_desktop.core.model.context import context_features
from v2m_desktop.core.model.dynamics import DynamicsConfig, DynamicsGRU
from v2m_desktop.core.model.generate import _Decoder
from v2m_desktop.core.model.inputs import batch_video

TINY = dict(d_model=32, n_head=4, n_enc=1, n_dec=2, d_ff=64, max_len=40, next_second=True)


def tiny_model(seed=0, **kw):
    torch.manual_seed(seed)
    return AMT(AMTConfig(**{**TINY, **kw})).eval()


def run(model, feats, tokens, mode=0, semantic=True):
    x = torch.tensor([tokens])
    ctx = torch.from_numpy(context_features(np.array(tokens)))[None]
    vb = batch_video([feats], len(feats), semantic=semantic)
    with torch.no_grad():
        return model(vb, x, ctx, torch.tensor([mode]))[0]


def test_no_future_leakage():
    model = tiny_model()
    feats = synthetic_features(40)
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 157, 39).tolist()
    base = run(model, feats, tokens)
    for k in (5, 20, 38):
        changed = list(tokens)
        changed[k] = (changed[k] % 156) + 1
        out = run(model, feats, changed)
        assert torch.allclose(out[:k], base[:k], atol=1e-5), k
        assert not torch.allclose(out[k:], base[k:], atol=1e-5)


def test_video_and_emotion_change_the_output():
    model = tiny_model()
    feats = synthetic_features(40)
    tokens = list(range(1, 40))
    base = run(model, feats, tokens)
    feats.emotion[:] = np.eye(6, dtype=np.float32)[1]
    assert (run(model, feats, tokens) - base).abs().max() > 1e-5


@pytest.mark.parametrize("next_second,relative", [(True, "bias"), (False, "bias"),  # the shipped path
                                                  (False, "music"), (False, "none")])
def test_kv_cache_equals_full_recomputation(next_second, relative):
    model = tiny_model(seed=1, next_second=next_second, relative=relative)
    if relative == "music":         # make the relative term matter (it starts near zero)
        with torch.no_grad():
            for block in model.decoder:
                block.rel_emb.normal_(0, 1.0)
    feats = synthetic_features(30)
    tokens = np.random.default_rng(1).integers(1, 157, 30).tolist()
    cached = _Decoder(model, feats, 1, True, "cpu", recompute=False)
    full = _Decoder(model, feats, 1, True, "cpu", recompute=False)
    steps = [cached.feed(tokens[:5])] + [cached.feed([t]) for t in tokens[5:]]
    reference = run(model, feats, tokens, mode=1)
    with torch.no_grad():
        assert torch.allclose(steps[0], reference[4], atol=1e-4)
        for i, logits in enumerate(steps[1:]):
            assert torch.allclose(logits, reference[5 + i], atol=1e-4)
    # float16 weights in the steps move the logits only a little
    half = _Decoder(model, feats, 1, True, "cpu", recompute=False, half=True)
    steps = [half.feed(tokens[:5])] + [half.feed([t]) for t in tokens[5:]]
    with torch.no_grad():
        for i, logits in enumerate(steps[1:]):
            assert torch.allclose(logits, reference[5 + i], atol=1e-2)
    # the decoder's own recompute path gives the same logits as well
    full.recompute = True
    with torch.no_grad():
        assert torch.allclose(full.feed(tokens), reference[-1], atol=1e-4)


def test_padding_does_not_change_real_positions():
    model = tiny_model()
    feats = synthetic_features(40)
    tokens = list(range(1, 21))
    short = run(model, feats, tokens)
    padded = run(model, feats, tokens + [PAD_ID] * 10)
    assert torch.allclose(short, padded[:20], atol=1e-5)


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model(seed=3)
    save_model(tmp_path / "c.pt", "chords", model, {"note": "x"})
    loaded, meta = load_model(tmp_path / "c.pt", "chords")
    assert meta == {"note": "x"} and loaded.cfg == model.cfg
    feats = synthetic_features(20)
    assert torch.equal(run(model, feats, [1, 2, 3]), run(loaded, feats, [1, 2, 3]))
    dyn = DynamicsGRU(DynamicsConfig(hidden=8, layers=1))
    save_model(tmp_path / "d.pt", "dynamics", dyn)
    with pytest.raises(V2MError, match="not a chords model"):
        load_model(tmp_path / "d.pt", "chords")


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(V2MError, match="not found"):
        load_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(V2MError, match="corrupt"):
        load_model(bad)
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(V2MError, match="not a v2m checkpoint"):
        load_model(tmp_path / "other.pt")
    model = tiny_model()
    save_model(tmp_path / "c.pt", "chords", model)
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(V2MError):
        load_model(tmp_path / "cut.pt")
    # a configuration this version does not know (a field's value, a field, a weight's shape)
    ckpt = torch.load(tmp_path / "c.pt", weights_only=True)
    for i, change in enumerate([{"relative": "rotary"}, {"flash": True}, {"d_model": 64}]):
        torch.save({**ckpt, "config": {**ckpt["config"], **change}}, tmp_path / f"v{i}.pt")
        with pytest.raises(V2MError, match="does not match this version"):
            load_model(tmp_path / f"v{i}.pt")
