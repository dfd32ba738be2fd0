"""``gloss_classifier``: ASLVideoTranslate's classifier of foundation-model embeddings (input kind
``embeddings``), built as published: attention pooling over the rows (``Linear(width -> 1)``,
softmax, weighted sum), then ``Linear(width -> 512)`` + LayerNorm + GELU, ``Linear(512 -> 256)`` +
LayerNorm + GELU and ``Linear(256 -> classes)``. ``dropout`` (off by default, as published) goes
before each hidden layer."""

from __future__ import annotations

import torch
from torch import nn

from signscribe.models.attention import AttentionPooling
from signscribe.models.registry import register_model

HIDDEN = (512, 256)


@register_model("gloss_classifier", input_kind="embeddings")
class GlossClassifier(nn.Module):
    def __init__(self, num_classes: int, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim (the embeddings' width) must be positive, got {dim}")
        self.attention = AttentionPooling(dim)
        layers: list[nn.Module] = []
        width = dim
        for hidden in HIDDEN:
            layers += [nn.Dropout(dropout), nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.GELU()]
            width = hidden
        self.classifier = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def explain(self, embeddings: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(batch, classes)`` and the attention weights ``(batch, tokens)``."""
        pooled, weights = self.attention(embeddings, mask)
        return self.classifier(pooled), weights

    def forward(self, embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.explain(embeddings, mask)[0]

    def clip_embedding(self, embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The attention-pooled clip vector ``(batch, width)`` the classifier reads."""
        return self.attention(embeddings, mask)[0]
