"""Landmarks to English: the pose encoder of ``pose_transformer`` and a transformer text decoder,
with greedy and beam-search decoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from signscribe.models.families.pose_transformer import PoseEncoder, sinusoidal_positions
from signscribe.models.registry import register_model


@dataclass(frozen=True)
class GenerationConfig:
    """How text is decoded: ``beam_size`` 1 is greedy; the length penalty divides a hypothesis'
    log-probability by ``length ** length_penalty`` (0 = none, above 0 favours longer output)."""

    max_length: int = 64
    beam_size: int = 4
    length_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.max_length < 1 or self.beam_size < 1:
            raise ValueError("max_length and beam_size must be at least 1")


@register_model("pose_to_text", task="translation")
class PoseToText(nn.Module):
    """Encoder-decoder: ``forward(points, present, frames, tokens)`` gives next-token logits
    ``(batch, tokens, num_classes)`` for decoder input ``tokens`` (BOS first, ``pad_id`` padding)."""

    def __init__(
        self,
        num_classes: int,
        num_points: int = 67,
        channels: int = 2,
        dim: int = 192,
        depth: int = 2,
        decoder_depth: int = 2,
        heads: int = 4,
        kernel_size: int = 11,
        expand: int = 2,
        dropout: float = 0.1,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.encoder = PoseEncoder(num_points, channels, dim, depth, heads, kernel_size, expand, dropout)
        self.tokens = nn.Embedding(num_classes, dim, padding_idx=pad_id)
        layer = nn.TransformerDecoderLayer(
            dim, heads, dim * 2, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.decoder = nn.TransformerDecoder(layer, decoder_depth)
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, num_classes)

    def encode(self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return self.encoder.encode(points, present, frames)

    def decode(self, memory: torch.Tensor, frames: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, tokens, vocabulary)`` given encoded frames and the decoder input."""
        length = tokens.shape[1]
        x = self.tokens(tokens) * self.norm.normalized_shape[0] ** 0.5
        x = x + sinusoidal_positions(length, x.shape[-1], tokens.device)
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)  # True = hidden
        x = self.decoder(
            x,
            memory,
            tgt_mask=causal,
            tgt_is_causal=True,
            tgt_key_padding_mask=tokens == self.pad_id,
            memory_key_padding_mask=~frames,
        )
        return self.output(self.norm(x))

    def forward(
        self, points: torch.Tensor, present: torch.Tensor, frames: torch.Tensor, tokens: torch.Tensor
    ) -> torch.Tensor:
        return self.decode(self.encode(points, present, frames), frames, tokens)


@torch.no_grad()
def generate(
    model: PoseToText,
    points: torch.Tensor,
    present: torch.Tensor,
    frames: torch.Tensor,
    bos_id: int,
    eos_id: int,
    config: GenerationConfig,
) -> list[list[int]]:
    """Token ids (without BOS and EOS) for each clip of a batch: greedy, or beam search."""
    model.eval()
    memory = model.encode(points, present, frames)
    if config.beam_size == 1:
        return _greedy(model, memory, frames, bos_id, eos_id, config.max_length)
    return [
        _beam(model, memory[row : row + 1], frames[row : row + 1], bos_id, eos_id, config) for row in range(len(memory))
    ]


def _greedy(
    model: PoseToText, memory: torch.Tensor, frames: torch.Tensor, bos_id: int, eos_id: int, max_length: int
) -> list[list[int]]:
    tokens = torch.full((len(memory), 1), bos_id, dtype=torch.long)
    finished = torch.zeros(len(memory), dtype=torch.bool)
    for _ in range(max_length):
        next_token = model.decode(memory, frames, tokens)[:, -1].argmax(dim=-1)
        next_token = torch.where(finished, torch.full_like(next_token, eos_id), next_token)
        tokens = torch.cat([tokens, next_token[:, None]], dim=1)
        finished |= next_token == eos_id
        if finished.all():
            break
    return [_strip(row.tolist()[1:], eos_id) for row in tokens]


def _strip(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


def _beam(
    model: PoseToText, memory: torch.Tensor, frames: torch.Tensor, bos_id: int, eos_id: int, config: GenerationConfig
) -> list[int]:
    """Beam search for one clip; finished hypotheses are ranked by length-normalised log-probability."""
    beams: list[tuple[list[int], float]] = [([bos_id], 0.0)]
    finished: list[tuple[list[int], float]] = []

    def normalised(ids: list[int], score: float) -> float:
        return score / max(1, len(ids) - 1) ** config.length_penalty

    for _ in range(config.max_length):
        tokens = torch.tensor([ids for ids, _ in beams])
        log_probs = model.decode(memory.expand(len(beams), -1, -1), frames.expand(len(beams), -1), tokens)
        log_probs = log_probs[:, -1].log_softmax(dim=-1)
        totals = torch.tensor([score for _, score in beams])[:, None] + log_probs
        values, flat = totals.flatten().topk(min(2 * config.beam_size, totals.numel()))
        candidates = []
        for value, index in zip(values.tolist(), flat.tolist(), strict=True):
            beam, token = divmod(index, log_probs.shape[-1])
            ids = [*beams[beam][0], token]
            (finished if token == eos_id else candidates).append((ids, value))
        beams = candidates[: config.beam_size]
        best_open = max((normalised(ids, score) for ids, score in beams), default=float("-inf"))
        best_done = max((normalised(ids, score) for ids, score in finished), default=float("-inf"))
        if not beams or (len(finished) >= config.beam_size and best_done >= best_open):
            break
    pool = finished or beams
    ids, _ = max(pool, key=lambda item: normalised(*item))
    return _strip(ids[1:], eos_id)
