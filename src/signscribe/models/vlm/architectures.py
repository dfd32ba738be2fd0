"""The three video language model architectures signscribe drives, and what differs between them:
the transformers class, the published chat format, how a clip's frames enter the model and how many
placeholder tokens stand for them in the prompt (measured on the model itself, never assumed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

LLAVA_TEMPLATE = "USER: {video}\n{prompt} ASSISTANT:"
CHATML_TEMPLATE = "<|im_start|>user\n{video}\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


@dataclass(frozen=True)
class Architecture:
    """One family of checkpoints, known by ``config.json``'s ``model_type``.

    ``per_frame``: the clip enters as one image per frame (InternVL: ``pixel_values`` of
    ``(frames, 3, H, W)``, each frame written ``FrameN: <img>…</img>`` in the prompt), else as one
    video (``pixel_values_videos`` of ``(clips, frames, 3, H, W)`` behind one run of placeholders)."""

    model_type: str
    class_name: str
    template: str
    placeholder_key: str  # the config attribute holding the placeholder token's id
    per_frame: bool = False

    def model_class(self) -> Any:
        import transformers

        return getattr(transformers, self.class_name)

    def pixel_inputs(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's keyword arguments for clips ``(clips, frames, 3, H, W)``."""
        if self.per_frame:
            return {"pixel_values": video.flatten(0, 1)}
        return {"pixel_values_videos": video}

    @torch.no_grad()
    def placeholders_per_unit(self, model: Any, frames: int, size: tuple[int, int]) -> int:
        """Placeholder tokens per frame (``per_frame``) or per video: the rows the model's own
        feature function gives for a blank input of the configured shape."""
        parameter = next(p for p in model.parameters() if p.is_floating_point())
        shape = (1, 3, *size) if self.per_frame else (1, frames, 3, *size)
        blank = torch.zeros(shape, dtype=parameter.dtype, device=parameter.device)
        inner = model.model  # the …Model inside the …ForConditionalGeneration: it has both feature functions
        if self.per_frame:
            features = inner.get_image_features(pixel_values=blank)
        else:
            features = inner.get_video_features(pixel_values_videos=blank)
        pooled = features.pooler_output if hasattr(features, "pooler_output") else features
        return pooled.numel() // pooled.shape[-1]

    def video_text(self, placeholder: str, count: int, frames: int) -> str:
        """What stands for the clip in the prompt: ``count`` placeholders per unit."""
        if self.per_frame:
            return "\n".join(f"Frame{i + 1}: <img>{placeholder * count}</img>" for i in range(frames))
        return placeholder * count


ARCHITECTURES = {
    architecture.model_type: architecture
    for architecture in (
        Architecture("llava_next_video", "LlavaNextVideoForConditionalGeneration", LLAVA_TEMPLATE, "video_token_id"),
        Architecture("video_llava", "VideoLlavaForConditionalGeneration", LLAVA_TEMPLATE, "video_token_id"),
        Architecture("internvl", "InternVLForConditionalGeneration", CHATML_TEMPLATE, "image_token_id", per_frame=True),
    )
}


def architecture_of(model_type: str) -> Architecture:
    if model_type not in ARCHITECTURES:
        raise ValueError(
            f"model_type {model_type!r} is not a supported video language model; supported: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[model_type]
