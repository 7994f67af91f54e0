"""The models on an accelerator (CUDA, Apple's MPS): the same figures as on the CPU.

Skipped where there is none (CI); run on a GPU machine. The CPU runs are the reference.
"""
import numpy as np
import pytest
import torch

from v2m_desktop.cli import main
from v2m_desktop.core.device import pick_device
from v2m_desktop.core.lab.bench import synthetic_features
from v2m_desktop.core.lab.evaluate import evaluate_chords, evaluate_dynamics
from v2m_desktop.core.lab.muvisync import MuviSync
from v2m_desktop.core.model.amt import AMT, AMTConfig
from v2m_desktop.core.model.checkpoint import load_model, load_models
from v2m_desktop.core.model.generate import SamplingOptions, _Decoder, generate
from v2m_desktop.core.model.inputs import batch_video


def _available():
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out


ACCEL = _available()
pytestmark = pytest.mark.skipif(not ACCEL, reason="no CUDA or MPS device here")


@pytest.fixture(params=ACCEL or ["none"])
def accel(request):
    return request.param


@pytest.fixture(scope="module")
def cpu_models():
    return load_models()


def test_auto_picks_the_accelerator():
    assert pick_device("auto").type == ACCEL[0]


def test_shipped_models_give_the_cpus_outputs(accel, cpu_models):
    amt_cpu, dyn_cpu = cpu_models
    amt, dyn = load_models(device=accel)
    feats = synthetic_features(120, seed=4)
    tokens = torch.from_numpy(np.random.default_rng(4).integers(1, 157, (1, 120)))
    dec_cpu = _Decoder(amt_cpu, feats, 0, True, "cpu", recompute=True)
    dec_acc = _Decoder(amt, feats, 0, True, accel, recompute=True)
    with torch.no_grad():
        ref = dec_cpu.feed(tokens[0].tolist())
        got = dec_acc.feed(tokens[0].tolist())
    assert got.device.type == "cpu"            # the sampler always gets CPU logits
    assert torch.allclose(got, ref, atol=2e-3), (got - ref).abs().max()
    vb = batch_video([feats], len(feats), semantic=True)
    with torch.no_grad():
        d_ref, l_ref = dyn_cpu.predict(vb, total=torch.tensor([len(feats)]))
        d, lo = dyn.predict(vb.to(accel), total=torch.tensor([len(feats)], device=accel))
    assert torch.allclose(d.cpu(), d_ref, atol=1e-3) and torch.allclose(lo.cpu(), l_ref, atol=1e-4)


@pytest.mark.parametrize("half", [False, True])
def test_kv_cache_equals_recomputation_on_device(accel, half):
    torch.manual_seed(1)
    model = AMT(AMTConfig(d_model=32, n_head=4, n_enc=1, n_dec=2, d_ff=64, max_len=40)).eval().to(accel)
    feats = synthetic_features(30)
    tokens = np.random.default_rng(1).integers(1, 157, 30).tolist()
    cached = _Decoder(model, feats, 1, True, accel, recompute=False, half=half)
    full = _Decoder(model, feats, 1, True, accel, recompute=True)
    with torch.no_grad():       # both decoders take the prefix, then one token at a time
        for chunk in [tokens[:5]] + [[t] for t in tokens[5:]]:
            got, ref = cached.feed(chunk), full.feed(chunk)
            assert torch.allclose(got, ref, atol=1e-2 if half else 1e-4), (got - ref).abs().max()


def test_generation_on_device_keeps_its_constraints(accel, cpu_models):
    amt_cpu, _ = cpu_models
    amt, _ = load_models(device=accel)
    feats = synthetic_features(150, seed=5)
    locks = {10: 1, 11: 27, 100: 5}
    got = generate(amt, feats, 0, options=SamplingOptions(seed=3), locks=locks, device=accel)
    assert len(got) == 150 and ((got >= 1) & (got <= 156)).all()
    assert got[10] == 1 and got[11] == 27 and got[100] == 5
    runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, got, -1]) != 0))
    assert runs.max() <= 4
    # logits equal to float16 rounding: the same greedy music nearly everywhere (a sampled run
    # may take another branch at one near-tie and differ from there on)
    greedy = SamplingOptions(top_k=1)
    got = generate(amt, feats, 0, options=greedy, locks=locks, device=accel)
    ref = generate(amt_cpu, feats, 0, options=greedy, locks=locks)
    assert (got == ref).mean() >= 0.9, (got == ref).mean()


def test_train_and_evaluate_on_device(accel, cpu_models, muvi_root, tmp_path):
    out = tmp_path / "c.pt"
    assert main(["train", "--tiny", "--limit", "6", "--batch-size", "3", "chords", "--data", str(muvi_root),
                 "--out", str(out), "--epochs", "1", "--device", accel]) == 0
    model_cpu, _ = load_model(out, "chords", "cpu")
    model_acc, _ = load_model(out, "chords", accel)
    videos = MuviSync(muvi_root).load("val", limit=3)
    ref = evaluate_chords(model_cpu, videos, semantic=True)
    got = evaluate_chords(model_acc, videos, semantic=True, device=accel)
    for key in ("hits@1", "hits@5", "emotion_loss", "chord_loss"):
        assert abs(got[key] - ref[key]) < 2e-3, (key, got[key], ref[key])
    _, dyn_cpu = cpu_models
    _, dyn_acc = load_models(device=accel)
    a = evaluate_dynamics(dyn_cpu, videos, semantic=True)
    b = evaluate_dynamics(dyn_acc, videos, semantic=True, device=accel)
    assert abs(a["note_density_rmse"] - b["note_density_rmse"]) < 1e-3
    assert abs(a["loudness_rmse"] - b["loudness_rmse"]) < 1e-4
