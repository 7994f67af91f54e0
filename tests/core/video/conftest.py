"""Fixtures of the video tests: the shared real clips, synthetic videos, a tiny random CLIP."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from v2m_desktop.core.video.synthetic import make_test_video

# /work/main/tests/core/video -> /work/shared/media
MEDIA = Path(__file__).resolve().parents[4] / "shared" / "media"
BBB = "big_buck_bunny_360p_56s.mp4"
SINTEL = "sintel_trailer_480x204.mp4"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not (MEDIA / "cuts.json").is_file():
        pytest.skip(f"shared test media not found at {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session")
def cuts_ref(media_dir) -> dict:
    return json.loads((media_dir / "cuts.json").read_text())


def _clip(media_dir: Path, name: str) -> Path:
    p = media_dir / name
    if not p.is_file():
        pytest.skip(f"{name} not found")
    return p


@pytest.fixture(scope="session")
def bbb(media_dir) -> Path:
    return _clip(media_dir, BBB)


@pytest.fixture(scope="session")
def sintel(media_dir) -> Path:
    return _clip(media_dir, SINTEL)


@pytest.fixture(scope="session")
def bbb_analysis(bbb, tmp_path_factory):
    from v2m_desktop.core.video.analysis import analyse
    return analyse(bbb, "basic", cache_dir=tmp_path_factory.mktemp("bbb-cache"))


@pytest.fixture(scope="session")
def make_video(tmp_path_factory):
    """make_video(name, seconds, **make_test_video kwargs) -> (path, cut frames); made once per
    session and name."""
    base = tmp_path_factory.mktemp("videos")
    made: dict[str, tuple[Path, list[int]]] = {}

    def make(name: str, seconds: float, **kw) -> tuple[Path, list[int]]:
        if name not in made:
            path = base / name
            made[name] = (path, make_test_video(path, seconds, **kw))
        return made[name]
    return make


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    """A randomly initialised tiny CLIPModel + CLIPTokenizer saved with save_pretrained (no
    download): vocabulary of the single letters, so any lower-case word tokenises."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in letters:
        vocab[c] = len(vocab)
    for c in letters:
        vocab[c + "</w>"] = len(vocab)
    tok = transformers.CLIPTokenizer(vocab=vocab, merges=[])
    cfg = transformers.CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=32, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37,
                           num_hidden_layers=2, num_attention_heads=2),
        projection_dim=16)
    torch.manual_seed(0)
    model = transformers.CLIPModel(cfg).eval()
    d = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d
