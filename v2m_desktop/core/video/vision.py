"""Vision backends: per-second emotion (six probabilities) and, with CLIP, the semantic embedding.

Both backends take one RGB frame per second, in order (`add_frame`), then `finish(motion, cuts)`
returns `(emotion [T, 6] float32, semantic [T, D] float32 or None)`; `features(frames, motion, cuts)`
does both in one call. Emotion order is `chords.EMOTIONS`: exciting, fearful, tense, sad, relaxing,
neutral.

`clip` (what the model was trained on, MuVi-Sync README section 6): transformers' CLIPModel,
default checkpoint `openai/clip-vit-large-patch14-336`, loaded from a local folder or from the
Hugging Face cache, never from the network. Each frame: RGB, bicubic resize of the short side to
the model's input size (336), centre crop, CLIP mean/std; semantic = `get_image_features` (the
projected 768-d image embedding, not L2-normalised, rounded to float16 values as the dataset's
were); emotion = softmax over the six bare words (no prompt template) of
`logit_scale.exp() * cos(image, text)`, rounded to 4 decimals like the dataset's files.

`basic` (no weights, no semantic features): emotion estimated from what can be measured, per
second t:

    b = mean luma / 255                     brightness, 0..1
    s = mean HSV saturation / 255           0..1
    w = mean (R - B) / 255                  colour warmth, -1..1 (warm > 0)
    m = M / (M + 8)  with M the motion (dataset units, mean |frame difference|) averaged over
                     seconds t-1..t+1; 8 is about the dataset's mean motion (8.38)
    c = min(1, cuts in [t - 2, t + 3) / 2.5) cut rate, 1 = a cut every 2 s or faster

centred as B = b - 0.45, S = s - 0.35, W = w, M' = m - 0.45, C = c - 0.2, and combined like a
valence / arousal circumplex (valence V = 2 B + 1.5 S + 1.5 W, arousal A = 2.5 M' + 2 C), give
the logits

    emotion     B     S     W     M'    C     bias = 0.5 ln(share of the emotion in MuVi-Sync train)
    exciting   +2.0  +1.5  +1.5  +3.0  +2.4   -0.95   (+V, +A)
    fearful    -3.0  -1.8  -1.8  +1.5  +1.2   -0.73   (-V, +A, dark)
    tense      -1.2  -0.9  -0.9  +2.5  +2.0   -0.61   (slightly -V, +A)
    sad        -2.4  -1.8  -1.8  -1.5  -1.2   -0.78   (-V, -A)
    relaxing   +2.0  +1.5  +1.5  -2.5  -2.0   -1.33   (+V, -A)
    neutral     0.0  -2.5   0.0  -1.0  -0.5   -1.62   (grey, still)

and emotion = softmax(logits). So bright, colourful, warm, fast, cut-heavy footage reads exciting;
dark, fast footage tense or fearful; dark or grey, still footage sad; bright, warm, calm footage
relaxing (BBB's opening: relaxing, then sad); grey, still footage raises neutral. The half-strength
priors keep the dataset's leaning (tense and fearful common, neutral rare) without letting it
outvote what is measured.
"""
from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.progress import Progress

DEFAULT_CLIP = "openai/clip-vit-large-patch14-336"
VISION_CHOICES = ("auto", "clip", "basic")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# basic backend: rows follow EMOTIONS, columns B, S, W, M', C (see the module docstring)
BASIC_WEIGHTS = np.array([
    [+2.0, +1.5, +1.5, +3.0, +2.4],
    [-3.0, -1.8, -1.8, +1.5, +1.2],
    [-1.2, -0.9, -0.9, +2.5, +2.0],
    [-2.4, -1.8, -1.8, -1.5, -1.2],
    [+2.0, +1.5, +1.5, -2.5, -2.0],
    [0.0, -2.5, 0.0, -1.0, -0.5],
], dtype=np.float64)
BASIC_PRIOR = np.array([0.151, 0.233, 0.295, 0.212, 0.070, 0.039])   # shares of the top emotion, train
BASIC_PRIOR_WEIGHT = 0.5
BASIC_CENTRE = np.array([0.45, 0.35, 0.0, 0.45, 0.2])
MOTION_HALF = 8.0
CUT_WINDOW = (2.0, 3.0)      # seconds before / after t
CUT_RATE_FULL = 2.5          # cuts in the 5-s window that count as the fastest cutting

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                 "pytorch_model.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


def _smooth3(x: np.ndarray) -> np.ndarray:
    if len(x) < 3:
        return x.astype(np.float64)
    p = np.pad(x.astype(np.float64), 1, mode="edge")
    return (p[:-2] + p[1:-1] + p[2:]) / 3.0


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class BasicVision:
    """Emotion from brightness, saturation, warmth, motion and cut rate; no semantic features."""
    name = "basic"
    semantic_dim = 0
    full_frames = False     # a small frame (<= 256 px wide) is enough

    def __init__(self) -> None:
        self._stats: list[tuple[float, float, float]] = []

    def reset(self) -> None:
        self._stats = []

    @staticmethod
    def hold(frame_rgb: np.ndarray) -> np.ndarray:
        """A frame to give add_frame later, as small as gives the same result (here: itself)."""
        return frame_rgb

    def add_frame(self, frame_rgb: np.ndarray) -> None:
        """One RGB uint8 frame per second, in order; only its colour statistics are kept."""
        f = frame_rgb
        if f.shape[1] > 256:
            f = cv2.resize(f, (256, max(1, round(f.shape[0] * 256 / f.shape[1]))),
                           interpolation=cv2.INTER_AREA)
        r, g, b, _ = cv2.mean(f)
        luma = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
        sat = cv2.mean(cv2.cvtColor(f, cv2.COLOR_RGB2HSV))[1] / 255.0
        self._stats.append((luma, sat, (r - b) / 255.0))

    def finish(self, motion: np.ndarray | None = None, cuts: Sequence[float] = (),
               seconds: int | None = None) -> tuple[np.ndarray, None]:
        stats = np.array(self._stats, dtype=np.float64).reshape(-1, 3)
        n = len(stats) if seconds is None else seconds
        if n == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32), None
        if len(stats) < n:      # hold the last frame's colours (or mid-grey when there is none)
            last = stats[-1] if len(stats) else np.array([0.45, 0.35, 0.0])
            stats = np.vstack([stats, np.tile(last, (n - len(stats), 1))])
        stats = stats[:n]
        mot = np.zeros(n) if motion is None else np.asarray(motion, np.float64)[:n]
        if len(mot) < n:
            mot = np.pad(mot, (0, n - len(mot)), mode="edge" if len(mot) else "constant")
        mot = _smooth3(mot)
        m = mot / (mot + MOTION_HALF)
        t = np.arange(n, dtype=np.float64)
        cut_arr = np.asarray(sorted(cuts), np.float64)
        lo = np.searchsorted(cut_arr, t - CUT_WINDOW[0], side="left")
        hi = np.searchsorted(cut_arr, t + CUT_WINDOW[1], side="left")
        c = np.minimum(1.0, (hi - lo) / CUT_RATE_FULL)
        x = np.column_stack([stats[:, 0], stats[:, 1], stats[:, 2], m, c]) - BASIC_CENTRE
        logits = x @ BASIC_WEIGHTS.T + BASIC_PRIOR_WEIGHT * np.log(BASIC_PRIOR)
        return _softmax(logits).astype(np.float32), None

    def features(self, frames_rgb: Sequence[np.ndarray], motion: np.ndarray | None = None,
                 cuts: Sequence[float] = ()) -> tuple[np.ndarray, None]:
        self.reset()
        for f in frames_rgb:
            self.add_frame(f)
        return self.finish(motion, cuts, len(frames_rgb))


# --------------------------------------------------------------------------------------------- #
# CLIP

def _hub_cached_dir(model_id: str) -> Path | None:
    """The snapshot folder of `model_id` in the Hugging Face cache when config, weights and
    tokenizer are all there; no network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None

    def cached(fn: str) -> str | None:
        try:
            p = try_to_load_from_cache(model_id, fn)
        except Exception:  # noqa: BLE001 - an id that is not a valid repo name
            return None
        return p if isinstance(p, str) else None

    cfg = cached("config.json")
    if cfg is None:
        return None
    if not any(cached(f) for f in _WEIGHT_FILES) or not any(cached(f) for f in _TOKENIZER_FILES):
        return None
    return Path(cfg).parent


def _complete_dir(d: Path) -> bool:
    return (d / "config.json").is_file() and any((d / f).is_file() for f in _WEIGHT_FILES) and \
        any((d / f).is_file() for f in _TOKENIZER_FILES)


def clip_model_dir(clip_model: str | os.PathLike | None = None) -> Path | None:
    """The local folder holding the CLIP checkpoint (a folder given directly, or its snapshot in
    the Hugging Face cache), or None when its weights are not on this computer. No network."""
    model = str(clip_model or DEFAULT_CLIP)
    p = Path(model).expanduser()
    if p.is_dir():
        return p if _complete_dir(p) else None
    if p.exists():
        return None
    d = _hub_cached_dir(model)
    return d if d is not None and _complete_dir(d) else None


def clip_available(clip_model: str | os.PathLike | None = None) -> bool:
    return clip_model_dir(clip_model) is not None


def resolve_vision(name: str = "auto", clip_model: str | os.PathLike | None = None) -> str:
    """"basic" or "clip": "auto" picks clip only when its weights are on disk (never asks the
    network); "clip" without weights is a V2MError that says how to get them."""
    name = (name or "auto").lower()
    if name not in VISION_CHOICES:
        raise V2MError(f"unknown vision backend '{name}' (choose auto, clip or basic)")
    if name == "basic":
        return "basic"
    if clip_available(clip_model):
        return "clip"
    if name == "auto":
        return "basic"
    raise V2MError(f"the CLIP weights ({clip_model or DEFAULT_CLIP}) are not on this computer: run "
                   "`v2m models fetch-clip` once while online, or use --vision basic")


@contextlib.contextmanager
def _hf_offline() -> Iterator[None]:
    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def clip_preprocess(frame_rgb: np.ndarray, size: int) -> np.ndarray:
    """OpenAI CLIP's image transform up to the tensor: bicubic resize (PIL, antialiased) of the
    short side to `size` (long side int(size * long / short), as torchvision), centre crop
    `size` x `size` (offsets int(round((d - size) / 2)), as torchvision). Returns uint8 RGB."""
    from PIL import Image

    h, w = frame_rgb.shape[:2]
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    img = Image.fromarray(np.ascontiguousarray(frame_rgb))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.Resampling.BICUBIC)
    top = int(round((nh - size) / 2.0))
    left = int(round((nw - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


class ClipVision:
    """CLIP semantic embedding and zero-shot emotion, as MuVi-Sync computed them."""
    name = "clip"
    full_frames = True

    def __init__(self, model_dir_or_id: str | os.PathLike | None = None, device: str = "cpu",
                 batch_size: int = 8):
        import torch
        from transformers import AutoTokenizer, CLIPModel, CLIPVisionConfig

        self.model_id = str(model_dir_or_id or DEFAULT_CLIP)
        d = clip_model_dir(self.model_id)
        if d is None:
            raise V2MError(f"the CLIP weights ({self.model_id}) are not on this computer: run "
                           "`v2m models fetch-clip` once while online, or use --vision basic")
        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        try:
            with _hf_offline():
                model = CLIPModel.from_pretrained(str(d), local_files_only=True)
                tok = AutoTokenizer.from_pretrained(str(d), local_files_only=True)
        except Exception as e:  # noqa: BLE001 - a damaged or foreign checkpoint
            raise V2MError(f"cannot load the CLIP model from {d}: {str(e).splitlines()[0][:160]}") from None
        # transformers wraps PreTrainedModel.to in functools.wraps(nn.Module.to), which its
        # typing reads as an unbound function (self expected first)
        self.model = model.to(self.device, self.dtype).eval()  # type: ignore[arg-type]
        # CLIPConfig turns a vision_config dict into a CLIPVisionConfig; CLIP's image size is
        # one int (a square input) and it always sets projection_dim
        vision_cfg, projection_dim = model.config.vision_config, model.config.projection_dim
        assert isinstance(vision_cfg, CLIPVisionConfig) and projection_dim is not None
        assert isinstance(vision_cfg.image_size, int)
        self.size = vision_cfg.image_size
        self.semantic_dim = int(projection_dim)
        self.batch_size = batch_size
        self._mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
        self._std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        with torch.inference_mode():
            t = tok(list(EMOTIONS), padding=True, return_tensors="pt")
            txt = _pooled(self.model.get_text_features(input_ids=t["input_ids"].to(self.device),
                                                       attention_mask=t["attention_mask"].to(self.device)))
            txt = txt.float()
            self._text = txt / txt.norm(dim=-1, keepdim=True)
            self._scale = float(self.model.logit_scale.float().exp())
        self.reset()

    def reset(self) -> None:
        self._pending: list[np.ndarray] = []
        self._embeds: list[np.ndarray] = []

    def hold(self, frame_rgb: np.ndarray) -> np.ndarray:
        """A frame to give add_frame later, as small as gives the same result: CLIP's own crop
        (which its transform leaves unchanged)."""
        return clip_preprocess(frame_rgb, self.size)

    def add_frame(self, frame_rgb: np.ndarray) -> None:
        """One RGB uint8 frame (full resolution) per second, in order; runs the model every
        `batch_size` frames so only small crops are ever held."""
        self._pending.append(clip_preprocess(frame_rgb, self.size))
        if len(self._pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        import torch

        if not self._pending:
            return
        x = torch.from_numpy(np.stack(self._pending)).permute(0, 3, 1, 2).float() / 255.0
        x = ((x - self._mean) / self._std).to(self.device, self.dtype)
        with torch.inference_mode():
            emb = _pooled(self.model.get_image_features(pixel_values=x))
        self._embeds.append(emb.float().cpu().numpy())
        self._pending = []

    def finish(self, motion: np.ndarray | None = None, cuts: Sequence[float] = (),
               seconds: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        import torch

        self._flush()
        emb = np.concatenate(self._embeds) if self._embeds else np.zeros((0, self.semantic_dim), np.float32)
        n = len(emb) if seconds is None else seconds
        if len(emb) < n:
            fill = emb[-1:] if len(emb) else np.zeros((1, self.semantic_dim), np.float32)
            emb = np.vstack([emb, np.repeat(fill, n - len(emb), axis=0)])
        emb = emb[:n]
        if len(emb):
            e = torch.from_numpy(emb).to(self.device)
            e = e / e.norm(dim=-1, keepdim=True)
            probs = (self._scale * e @ self._text.T).softmax(dim=-1).cpu().numpy()
        else:
            probs = np.zeros((0, len(EMOTIONS)), np.float32)
        emotion = np.round(probs.astype(np.float64), 4).astype(np.float32)
        semantic = emb.astype(np.float16).astype(np.float32)
        return emotion, semantic

    def features(self, frames_rgb: Sequence[np.ndarray], motion: np.ndarray | None = None,
                 cuts: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray]:
        self.reset()
        for f in frames_rgb:
            self.add_frame(f)
        return self.finish(motion, cuts, len(frames_rgb))


def _pooled(out):
    """transformers 5 returns model outputs from get_*_features (projection in pooler_output);
    older versions return the tensor."""
    return out if hasattr(out, "norm") else out.pooler_output


def make_vision(name: str, clip_model: str | os.PathLike | None = None, device: str = "cpu"
                ) -> BasicVision | ClipVision:
    """An instance of the backend `name` ("basic" or "clip", as resolve_vision returns)."""
    if name == "clip":
        return ClipVision(clip_model, device)
    if name == "basic":
        return BasicVision()
    raise V2MError(f"unknown vision backend '{name}'")


# --------------------------------------------------------------------------------------------- #
# download on purpose

def fetch_clip(model_id: str = DEFAULT_CLIP, progress: Progress | None = None) -> Path:
    """Download the CLIP checkpoint into the Hugging Face cache (only when the user asks:
    `v2m models fetch-clip`). Fetches the config, tokenizer files and one weights file (safetensors
    when the repository has it). `progress("download", fraction)` follows the bytes
    (core.progress); without it tqdm bars go to stderr. Returns the snapshot folder."""
    try:
        from huggingface_hub import list_repo_files, snapshot_download
    except ImportError:
        raise V2MError("huggingface_hub is not installed; it is needed to download the CLIP model") from None
    _check_reachable()
    try:
        files = list_repo_files(model_id)
        weights = "model.safetensors" if "model.safetensors" in files else "pytorch_model.bin"
        path = snapshot_download(model_id, allow_patterns=["*.json", "*.txt", weights],
                                 tqdm_class=_progress_tqdm(progress))
    except V2MError:
        raise
    except Exception as e:  # noqa: BLE001 - offline, no such repository, disk full ...
        raise V2MError(f"could not download {model_id}: {str(e).splitlines()[0][:200] if str(e) else e!r}") \
            from None
    return Path(path)


def _check_reachable(timeout: float = 5.0) -> None:
    """Fail in seconds, in one line, when the Hugging Face endpoint cannot be reached (the hub
    client itself retries for about half a minute, printing each try)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise V2MError(f"cannot reach {host} ({e.strerror or e}): the CLIP weights can only be "
                       "fetched online; until then --vision basic works without them") from None


def _progress_tqdm(progress: Progress | None):
    from tqdm.auto import tqdm

    if progress is None:
        return tqdm

    class _Tqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = io.StringIO()
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            r = super().update(n)
            if self.unit == "B" and self.total:
                progress("download", min(1.0, self.n / self.total))
            return r

    return _Tqdm
