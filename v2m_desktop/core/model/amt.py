"""The Affective Multimodal Transformer (AMT): video features in, one chord a second out.

Encoder over the per-second video features; decoder over chord tokens (root + quality
embeddings, the key's mode) with causal self-attention carrying a learned relative-position
bias per head (the paper's relative attention in its cheapest form: it works with a KV cache and
PyTorch's fused attention; `AMTConfig.relative` also builds the paper's form and none, which
validate the same, see the model card), cross-attention to the video, and context features that
point at what followed similar passages earlier in the song (see context.py).  Pre-norm layers.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from v2m_desktop.core.chords import N_QUAL_IDS, N_ROOT_IDS, N_TOKENS, QUAL_IDS, ROOT_IDS
from v2m_desktop.core.model.context import MAX_MATCH, MAX_RUN
from v2m_desktop.core.model.inputs import N_SCALARS, VideoBatch


@dataclass
class AMTConfig:
    d_model: int = 256
    n_head: int = 8
    n_enc: int = 4
    n_dec: int = 4
    d_ff: int = 1024
    dropout: float = 0.1
    max_len: int = 300            # seconds per window (encoder slots; decoder positions 299)
    semantic_dim: int = 768
    semantic_dropout: float = 0.3
    context: bool = True          # decoder reads the copy/change context features
    next_second: bool = False     # decoder position j also reads the video scalars of second
                                  # j + 1, the second whose chord it predicts (its emotion, cut)
    relative: str = "bias"        # decoder self-attention's relative positions: "bias" (a learnt
                                  # bias per head and distance, shipped), "music" (the Music
                                  # Transformer's, as in the paper: query x a learnt embedding per
                                  # distance) or "none" (absolute positions only); model card


def sinusoid(length: int, d: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(length, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class Attention(nn.Module):
    def __init__(self, cfg: AMTConfig, cross: bool = False):
        super().__init__()
        self.h, self.cross = cfg.n_head, cross
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, d = t.shape
        return t.view(b, n, self.h, d // self.h).transpose(1, 2)

    def forward(self, x: torch.Tensor, src: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                cache: dict[str, torch.Tensor] | None = None,
                rel: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Self-attention when src is None; a cache dict keeps keys/values across calls (for
        cross-attention it holds the projected video once, for self-attention it grows).
        rel = (embedding [L, d_head], distances [n, k]): the Music Transformer's relative term."""
        q = self._heads(self.q(x))
        if self.cross and cache is not None and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            k, v = self.kv(x if src is None else src).chunk(2, dim=-1)
            k, v = self._heads(k), self._heads(v)
            if cache is not None:
                if not self.cross and "k" in cache:
                    k = torch.cat([cache["k"], k], dim=2)
                    v = torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
        if rel is not None:
            assert mask is not None, "the relative term adds to the causal mask"
            mask = mask + music_bias(q, *rel)
        if mask is not None and mask.dtype != torch.bool:
            mask = mask.to(q.dtype)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        b, h, n, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, n, h * dh))


def music_bias(q: torch.Tensor, emb: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """q [B, H, n, dh] . emb[distance] for each query/key pair [n, k], scaled like q . k
    (Huang et al. 2018; a gather of q x every distance's embedding, the same as their skew)."""
    b, h, n, dh = q.shape
    s = q @ emb.T                                                   # [B, H, n, L]
    idx = dist.clamp(0, emb.shape[0] - 1).expand(b, h, *dist.shape)
    return s.gather(-1, idx) / math.sqrt(dh)


class FeedForward(nn.Sequential):
    def __init__(self, cfg: AMTConfig):
        super().__init__(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model))


class EncoderBlock(nn.Module):
    def __init__(self, cfg: AMTConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn, self.ff = Attention(cfg), FeedForward(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), mask=mask))
        return x + self.drop(self.ff(self.ln2(x)))


class DecoderBlock(nn.Module):
    def __init__(self, cfg: AMTConfig):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = (nn.LayerNorm(cfg.d_model) for _ in range(3))
        self.attn, self.cross, self.ff = Attention(cfg), Attention(cfg, cross=True), FeedForward(cfg)
        self.relative = cfg.relative
        if cfg.relative == "bias":
            self.rel = nn.Parameter(torch.zeros(cfg.n_head, cfg.max_len))   # bias by distance i - j
        elif cfg.relative == "music":
            self.rel_emb = nn.Parameter(torch.randn(cfg.max_len, cfg.d_model // cfg.n_head) * 0.02)
        elif cfg.relative != "none":
            raise ValueError(f"unknown relative attention {cfg.relative!r}")
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mem_mask: torch.Tensor, dist: torch.Tensor,
                causal: torch.Tensor, cache: dict[str, dict[str, torch.Tensor]] | None = None
                ) -> torch.Tensor:
        # dist[i, j] = i - j; causal [1, 1, n, k]: 0, or -inf for future keys (dist < 0)
        bias = causal
        if self.relative == "bias":
            bias = bias + self.rel[:, dist.clamp(0, self.rel.shape[1] - 1)][None]
        rel = (self.rel_emb, dist) if self.relative == "music" else None
        x = x + self.drop(self.attn(self.ln1(x), mask=bias, rel=rel,
                                    cache=None if cache is None else cache["self"]))
        x = x + self.drop(self.cross(self.ln2(x), src=memory, mask=mem_mask,
                                     cache=None if cache is None else cache["cross"]))
        return x + self.drop(self.ff(self.ln3(x)))


@dataclass
class KVCache:
    """Keys and values of the decoder positions so far, per layer ({"self": .., "cross": ..});
    the rest is for AMT.step: `half` (float16 weights), and the output layer's weights and the
    summed embedding table it prepares on its first call."""
    layers: list
    half: bool = False
    head: tuple[torch.Tensor, torch.Tensor] | None = None
    embed: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def new(cls, model: AMT, half: bool = False) -> KVCache:
        return cls([{"self": {}, "cross": {}} for _ in model.decoder], half)


class AMT(nn.Module):
    # buffers registered in __init__ (nn.Module's __getattr__ would type them Tensor | Module)
    pe: torch.Tensor
    root_ids: torch.Tensor
    qual_ids: torch.Tensor

    def __init__(self, cfg: AMTConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.video_in = nn.Linear(N_SCALARS, d)
        self.sem_norm = nn.LayerNorm(cfg.semantic_dim)
        self.sem_drop = nn.Dropout(cfg.semantic_dropout)
        self.sem_in = nn.Linear(cfg.semantic_dim, d)
        self.root_emb = nn.Embedding(N_ROOT_IDS, d)
        self.qual_emb = nn.Embedding(N_QUAL_IDS, d)
        self.mode_emb = nn.Embedding(2, d)
        if cfg.context:
            self.run_emb = nn.Embedding(MAX_RUN + 1, d)
            self.match_emb = nn.Embedding(MAX_MATCH + 1, d)
            self.cand_emb = nn.ModuleList(nn.Embedding(N_TOKENS + 1, d) for _ in range(3))
        if cfg.next_second:
            self.next_in = nn.Linear(N_SCALARS, d)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_enc))
        self.enc_ln = nn.LayerNorm(d)
        self.decoder = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg.n_dec))
        self.dec_ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, N_TOKENS)
        self.register_buffer("pe", sinusoid(4 * cfg.max_len, d), persistent=False)
        self.register_buffer("root_ids", torch.from_numpy(ROOT_IDS), persistent=False)
        self.register_buffer("qual_ids", torch.from_numpy(QUAL_IDS), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def encode(self, video: VideoBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """-> memory [B, S, d] and the key mask [B, 1, 1, S] of real seconds."""
        x = self.video_in(video.scalars)
        if video.semantic is not None:
            present = video.scalars[..., 9:10]
            x = x + present * self.sem_in(self.sem_drop(self.sem_norm(video.semantic)))
        x = self.drop(x + self.pe[: x.shape[1]])
        mask = video.valid[:, None, None, :]
        for block in self.encoder:
            x = block(x, mask)
        return self.enc_ln(x), mask

    @staticmethod
    def next_scalars(video: VideoBatch, start: int, n: int) -> torch.Tensor:
        """Video scalars of seconds start+1 .. start+n ([B, n, N_SCALARS]), the last second
        repeated past the end of the video."""
        idx = torch.arange(start + 1, start + n + 1, device=video.scalars.device)
        return video.scalars[:, idx.clamp(max=video.scalars.shape[1] - 1)]

    def embed_tokens(self, tokens: torch.Tensor, context: torch.Tensor, mode: torch.Tensor,
                     start: int = 0, video: VideoBatch | None = None) -> torch.Tensor:
        x = self.root_emb(self.root_ids[tokens]) + self.qual_emb(self.qual_ids[tokens])
        x = x + self.mode_emb(mode)[:, None, :]
        if self.cfg.next_second:
            assert video is not None, "a next_second model reads the video's next seconds"
            x = x + self.next_in(self.next_scalars(video, start, tokens.shape[1]))
        if self.cfg.context:
            x = x + self.run_emb(context[..., 0]) + self.match_emb(context[..., 2])
            for i, slot in enumerate((1, 3, 4)):
                x = x + self.cand_emb[i](context[..., slot])
        return self.drop(x + self.pe[start: start + tokens.shape[1]])

    def decode(self, tokens: torch.Tensor, context: torch.Tensor, mode: torch.Tensor,
               memory: torch.Tensor, mem_mask: torch.Tensor, cache: KVCache | None = None,
               start: int = 0, video: VideoBatch | None = None) -> torch.Tensor:
        """Logits [B, T, 159] for tokens at positions start..start+T-1 (cache: earlier ones)."""
        x = self.embed_tokens(tokens, context, mode, start, video)
        n = tokens.shape[1]
        q_pos = torch.arange(start, start + n, device=x.device)
        k_pos = torch.arange(0, start + n, device=x.device)
        dist = q_pos[:, None] - k_pos[None, :]
        causal = torch.zeros(dist.shape, device=x.device).masked_fill(dist < 0, float("-inf"))[None, None]
        for i, block in enumerate(self.decoder):
            x = block(x, memory, mem_mask, dist, causal, None if cache is None else cache.layers[i])
        return self.head(self.dec_ln(x))

    def step(self, tokens: torch.Tensor, context: torch.Tensor, mode: torch.Tensor,
             memory: torch.Tensor, mem_mask: torch.Tensor, cache: KVCache, pos: int,
             video: VideoBatch | None = None) -> torch.Tensor:
        """Logits [B, 1, 159] for one new position pos < max_len with the KV cache: decode()'s
        arithmetic (eval mode) in a third of the kernel calls, since at one token a step costs
        dispatch and memory traffic, not maths.  Keys and values go into buffers allocated
        once (growing them by concatenation copies the whole cache every token).  A cache made
        with KVCache.new(model, half=True) multiplies by float16 copies of the weights: half
        the bytes to stream per token, logits within about 1e-2 of float32's."""
        cfg = self.cfg
        d, h, dh = cfg.d_model, cfg.n_head, cfg.d_model // cfg.n_head
        b, n = tokens.shape
        assert n == 1 and pos < cfg.max_len, "one token at a time, within the model's span"
        half = cache.half
        if cache.head is None:
            self._step_weights(cache, b, pos, memory)
        if cache.embed is None:
            x = self.embed_tokens(tokens, context, mode, pos, video)          # [B, 1, d]
        else:
            table, offsets = cache.embed
            ids = torch.cat([tokens, mode[:, None], context[:, 0]], dim=1) + offsets
            x = (F.embedding_bag(ids, table, mode="sum") + self.pe[pos])[:, None]

        def lin(y: torch.Tensor, wb: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
            return F.linear(y.half(), *wb).float() if half else F.linear(y, *wb)

        for layer, c in zip(self._decoder_blocks(), cache.layers, strict=True):
            sc, cc, w = c["self"], c["cross"], c["weights"]
            # self-attention over the cache and the new tokens
            y = F.layer_norm(x, (d,), layer.ln1.weight, layer.ln1.bias)
            qkv = lin(y, w["qkv"]).view(b, n, 3, h, dh).permute(2, 0, 3, 1, 4)
            kbuf, vbuf = sc["buf"]
            kbuf[:, :, pos:pos + n], vbuf[:, :, pos:pos + n] = qkv[1], qkv[2]
            sc["k"], sc["v"] = kbuf[:, :, :pos + n], vbuf[:, :, :pos + n]
            rev = c["rel_rev"]                          # by distance, reversed: pos .. 0 last
            if layer.relative == "bias":
                bias = rev[:, cfg.max_len - 1 - pos:][:, None][None]
            elif layer.relative == "music":
                bias = (qkv[0] @ rev[cfg.max_len - 1 - pos:].T) / math.sqrt(dh)
            else:
                bias = None
            y = F.scaled_dot_product_attention(qkv[0], sc["k"], sc["v"], attn_mask=bias)
            y = y.transpose(1, 2).reshape(b, n, d)
            x = x + lin(y, w["out"])
            # cross-attention to the video
            y = F.layer_norm(x, (d,), layer.ln2.weight, layer.ln2.bias)
            q = lin(y, w["cq"]).view(b, n, h, dh).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, cc["k"], cc["v"], attn_mask=mem_mask)
            y = y.transpose(1, 2).reshape(b, n, d)
            x = x + lin(y, w["cout"])
            y = F.layer_norm(x, (d,), layer.ln3.weight, layer.ln3.bias)
            if half:        # the hidden layer stays in float16 (GELU is cheaper there too)
                x = x + F.linear(F.gelu(F.linear(y.half(), *w["ff1"])), *w["ff2"]).float()
            else:
                x = x + F.linear(F.gelu(F.linear(y, *w["ff1"])), *w["ff2"])
        assert cache.head is not None                   # made by _step_weights
        return lin(self.dec_ln(x), cache.head)

    def _step_weights(self, cache: KVCache, b: int, pos: int, memory: torch.Tensor) -> None:
        """What step() needs besides the model, made once per cache: key/value buffers (the
        keys and values decode() cached so far copied in), each layer's weights (the query and
        key/value projections fused into one matrix: one kernel call instead of two), and the
        video's keys and values when decode() has not made them yet."""
        cfg, half = self.cfg, cache.half
        h, dh, cap = cfg.n_head, cfg.d_model // cfg.n_head, cfg.max_len + 16
        dtype = torch.float16 if half else memory.dtype

        def wb(*linears: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
            return (torch.cat([m.weight for m in linears]).to(dtype).contiguous(),
                    torch.cat([m.bias for m in linears]).to(dtype).contiguous())

        for layer, c in zip(self._decoder_blocks(), cache.layers, strict=True):
            sc, cc, ca = c["self"], c["cross"], layer.cross
            kbuf, vbuf = (memory.new_empty(b, h, cap, dh) for _ in range(2))
            if "k" in sc:
                kbuf[:, :, :pos], vbuf[:, :, :pos] = sc["k"][:, :, :pos], sc["v"][:, :, :pos]
            sc["buf"] = (kbuf, vbuf)
            if "k" not in cc:
                k, v = ca.kv(memory).chunk(2, dim=-1)
                cc["k"], cc["v"] = ca._heads(k), ca._heads(v)
            c["rel_rev"] = (layer.rel.flip(-1).contiguous() if layer.relative == "bias" else
                            layer.rel_emb.flip(0).contiguous() if layer.relative == "music" else None)
            c["weights"] = {"qkv": wb(layer.attn.q, layer.attn.kv), "out": wb(layer.attn.out),
                            "cq": wb(ca.q), "cout": wb(ca.out),
                            "ff1": wb(cast(nn.Linear, layer.ff[0])), "ff2": wb(cast(nn.Linear, layer.ff[2]))}
        cache.head = wb(self.head)
        if cfg.context and not cfg.next_second:
            # embed_tokens() as one summed lookup in a table of all its parts: the chord (root
            # + quality), the mode, then the five context features in their column order
            cand = cast(Sequence[nn.Embedding], self.cand_emb)
            parts = [self.root_emb.weight[self.root_ids] + self.qual_emb.weight[self.qual_ids],
                     self.mode_emb.weight, self.run_emb.weight, cand[0].weight,
                     self.match_emb.weight, cand[1].weight, cand[2].weight]
            offsets = torch.tensor([0, *np.cumsum([len(p) for p in parts[:-1]])], device=memory.device)
            cache.embed = (torch.cat(parts), offsets)

    def _decoder_blocks(self) -> Iterable[DecoderBlock]:
        # a ModuleList yields plain Modules to a type checker; these are the DecoderBlocks
        return cast(Iterable[DecoderBlock], self.decoder)

    def forward(self, video: VideoBatch, tokens: torch.Tensor, context: torch.Tensor,
                mode: torch.Tensor) -> torch.Tensor:
        memory, mask = self.encode(video)
        return self.decode(tokens, context, mode, memory, mask, video=video)
