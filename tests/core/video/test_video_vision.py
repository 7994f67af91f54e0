"""Vision backends: the basic mapping, CLIP on a tiny random model, backend choice, fetch."""
from __future__ import annotations

import socket

import numpy as np
import pytest

import v2m_desktop.core.video.vision as vision_mod
from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.video.analysis import analyse, cache_key
from v2m_desktop.core.video.vision import (
    BasicVision,
    ClipVision,
    clip_preprocess,
    fetch_clip,
    resolve_vision,
)


def _frames(n, rgb, noise=0, seed=0):
    rng = np.random.default_rng(seed)
    base = np.broadcast_to(np.array(rgb, np.int16), (90, 160, 3))
    return [np.clip(base + rng.integers(-noise, noise + 1, base.shape), 0, 255).astype(np.uint8) if noise
            else base.astype(np.uint8) for _ in range(n)]


def _top(emotion):
    return [EMOTIONS[i] for i in emotion.argmax(1)]


# --------------------------------------------------------------------------------------------- #
# basic

def test_basic_mapping_directions():
    v = BasicVision()
    n = 8
    e, sem = v.features(_frames(n, (250, 160, 40)), motion=np.full(n, 30.0), cuts=[1.0, 2.5, 4.0, 5.5, 7.0])
    assert sem is None and e.shape == (n, 6) and e.dtype == np.float32
    assert np.allclose(e.sum(1), 1, atol=1e-6)
    assert set(_top(e)) == {"exciting"}
    e, _ = v.features(_frames(n, (25, 25, 30)), motion=np.zeros(n))
    assert set(_top(e)) == {"sad"}
    e, _ = v.features(_frames(n, (235, 200, 150)), motion=np.full(n, 0.5))
    assert set(_top(e)) == {"relaxing"}
    e, _ = v.features(_frames(n, (20, 25, 60), noise=5), motion=np.full(n, 25.0), cuts=[3.0])
    assert _top(e)[4] in ("fearful", "tense")
    grey, _ = v.features(_frames(n, (120, 120, 120)), motion=np.full(n, 2.0))
    vivid, _ = v.features(_frames(n, (40, 200, 120)), motion=np.full(n, 20.0), cuts=[2.0, 4.0])
    neu = EMOTIONS.index("neutral")
    assert (grey[:, neu] > 3 * vivid[:, neu]).all()


def test_basic_more_motion_more_arousal():
    v = BasicVision()
    frames = _frames(6, (140, 110, 90))
    calm, _ = v.features(frames, motion=np.full(6, 1.0))
    busy, _ = v.features(frames, motion=np.full(6, 40.0), cuts=[1.0, 2.0, 3.0, 4.0])
    ex, rel = EMOTIONS.index("exciting"), EMOTIONS.index("relaxing")
    assert (busy[:, ex] > calm[:, ex]).all() and (busy[:, rel] < calm[:, rel]).all()


def test_basic_handles_missing_rows():
    v = BasicVision()
    v.add_frame(_frames(1, (100, 100, 100))[0])
    e, _ = v.finish(np.array([0.0, 3.0]), [], seconds=3)
    assert e.shape == (3, 6)
    e, _ = BasicVision().finish(None, [], seconds=2)
    assert e.shape == (2, 6) and np.allclose(e.sum(1), 1, atol=1e-6)


# --------------------------------------------------------------------------------------------- #
# CLIP on a tiny random model

def test_clip_preprocess_geometry():
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 50:150] = 255                       # the central square is white
    out = clip_preprocess(img, 50)
    assert out.shape == (50, 50, 3) and out.dtype == np.uint8
    assert out[5:-5, 5:-5].min() > 240         # the crop is the centre
    tall = clip_preprocess(np.zeros((301, 99, 3), np.uint8), 33)
    assert tall.shape == (33, 33, 3)


def test_clip_vision_matches_manual_computation(tiny_clip_dir):
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, CLIPModel

    cv = ClipVision(tiny_clip_dir)
    assert cv.size == 32 and cv.semantic_dim == 16
    frames = [np.random.default_rng(i).integers(0, 256, (120, 160, 3), dtype=np.uint8) for i in range(11)]
    emo, sem = cv.features(frames)
    assert emo.shape == (11, 6) and sem.shape == (11, 16)
    assert emo.dtype == np.float32 and sem.dtype == np.float32
    assert np.allclose(emo.sum(1), 1, atol=5e-4)
    np.testing.assert_array_equal(sem, sem.astype(np.float16).astype(np.float32))

    model = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    tok = AutoTokenizer.from_pretrained(tiny_clip_dir)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    x = torch.from_numpy(np.stack([clip_preprocess(f, 32) for f in frames])).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        img = model.get_image_features(pixel_values=(x - mean) / std)
        img = getattr(img, "pooler_output", img)
        t = tok(list(EMOTIONS), padding=True, return_tensors="pt")
        txt = model.get_text_features(**t)
        txt = getattr(txt, "pooler_output", txt)
        logits = model.logit_scale.exp() * (img / img.norm(dim=-1, keepdim=True)) @ \
            (txt / txt.norm(dim=-1, keepdim=True)).T
        probs = logits.softmax(-1).numpy()
    np.testing.assert_allclose(sem, img.numpy(), rtol=2e-3, atol=2e-3)      # float16 rounding
    np.testing.assert_allclose(emo, probs, atol=6e-5)                        # 4 decimals


def test_analyse_with_clip_backend(make_video, tiny_clip_dir, tmp_path):
    path, cuts = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    a = analyse(path, "clip", clip_model=str(tiny_clip_dir), cache_dir=tmp_path)
    assert a.vision == "clip"
    assert a.semantic.shape == (8, 16) and a.emotion.shape == (8, 6)
    assert a.features().semantic.shape == (8, 16)
    auto = analyse(path, "auto", clip_model=str(tiny_clip_dir), cache_dir=tmp_path)   # cached
    assert auto.vision == "clip"
    np.testing.assert_array_equal(auto.semantic, a.semantic)
    assert cache_key(path, "clip", str(tiny_clip_dir)) != cache_key(path, "basic", None)
    assert len(list(tmp_path.glob("*.npz"))) == 1


# --------------------------------------------------------------------------------------------- #
# choosing the backend, offline

@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_resolve_vision_offline(tiny_clip_dir, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(vision_mod, "_hub_cached_dir", lambda m: None)   # whatever the machine has cached
    assert resolve_vision("basic") == "basic"
    assert resolve_vision("auto") == "basic"
    assert resolve_vision("auto", str(tiny_clip_dir)) == "clip"
    assert resolve_vision("clip", str(tiny_clip_dir)) == "clip"
    assert resolve_vision("auto", str(tmp_path / "nothing")) == "basic"
    with pytest.raises(V2MError, match="fetch-clip"):
        resolve_vision("clip")
    with pytest.raises(V2MError, match="unknown vision backend"):
        resolve_vision("dino")
    with pytest.raises(V2MError, match="not on this computer"):
        ClipVision("openai/clip-vit-large-patch14-336")


def test_hub_cache_lookup_is_offline(tmp_path, monkeypatch, no_network):
    """A model id is looked up in the Hugging Face cache folder only: a snapshot with config,
    weights and tokenizer counts, an incomplete one does not."""
    pytest.importorskip("huggingface_hub")
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(hub))
    snap = hub / "models--someone--tiny-clip" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (hub / "models--someone--tiny-clip" / "refs").mkdir()
    (hub / "models--someone--tiny-clip" / "refs" / "main").write_text("a" * 40)
    (snap / "config.json").write_text("{}")
    (snap / "tokenizer.json").write_text("{}")
    assert resolve_vision("auto", "someone/tiny-clip") == "basic"      # no weights yet
    (snap / "model.safetensors").write_bytes(b"x")
    assert vision_mod.clip_model_dir("someone/tiny-clip") == snap
    assert resolve_vision("auto", "someone/tiny-clip") == "clip"


def test_fetch_clip_downloads_on_purpose(tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub")
    calls = {}

    def fake_list(repo_id):
        return ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "vocab.json"]

    def fake_snapshot(repo_id, allow_patterns=None, tqdm_class=None, **kw):
        calls.update(repo_id=repo_id, allow=allow_patterns)
        bar = tqdm_class(total=100, unit="B")
        bar.update(40)
        bar.update(60)
        bar.close()
        return str(tmp_path)
    monkeypatch.setattr(hub, "list_repo_files", fake_list)
    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(vision_mod, "_check_reachable", lambda: None)
    seen = []
    got = fetch_clip("openai/clip-vit-large-patch14-336", lambda stage, f: seen.append((stage, f)))
    assert got == tmp_path
    assert calls["repo_id"] == "openai/clip-vit-large-patch14-336"
    assert "model.safetensors" in calls["allow"] and "pytorch_model.bin" not in calls["allow"]
    assert seen == [("download", 0.4), ("download", 1.0)]

    def offline(repo_id):
        raise OSError("no network")
    monkeypatch.setattr(hub, "list_repo_files", offline)
    with pytest.raises(V2MError, match="could not download"):
        fetch_clip()


def test_fetch_clip_offline_fails_at_once(monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")     # nothing listens there
    with pytest.raises(V2MError, match="cannot reach 127.0.0.1.*--vision basic"):
        fetch_clip()
