"""What the published video language models need: parameters, LoRA parameters, weight memory at each
precision and the prompt tokens a clip takes, computed from their architectures.

No checkpoint can be downloaded here and no GPU is lent, so nothing is measured on a GPU: each model
is built on PyTorch's ``meta`` device from the ``config.json`` values its checkpoint publishes
(written out below), which allocates no memory. Weight memory counts every parameter at the
precision given; 8-bit and 4-bit (NF4 with double quantisation, bitsandbytes) apply to the linear
layers bitsandbytes converts (all but the output head), the rest staying bf16. Activations, the
key/value cache and, in training, the optimiser state of the LoRA parameters come on top. The clip
tokens are what ``signscribe`` measures on the model itself (``get_video_features`` /
``get_image_features`` of a blank clip of 8 frames), which needs no weights.

Run from the repository root: ``.venv/bin/python benchmarks/vlm_memory.py [--frames 8] [--lora-r 16]``.
"""

from __future__ import annotations

import argparse
import re

import torch
from torch import nn

from signscribe.models.vlm.architectures import architecture_of
from signscribe.training.vlm import LORA_TARGETS

GIB = 1024**3
LLAMA_7B = {"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
            "num_key_value_heads": 32, "vocab_size": 32064, "max_position_embeddings": 4096}  # fmt: skip
CLIP_L = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
          "patch_size": 14, "projection_dim": 768}  # fmt: skip


def published_configs() -> dict[str, object]:
    from transformers import (
        CLIPVisionConfig,
        InternVLConfig,
        InternVLVisionConfig,
        LlamaConfig,
        LlavaNextVideoConfig,
        Qwen2Config,
        VideoLlavaConfig,
    )

    qwen = {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
            "num_key_value_heads": 2, "vocab_size": 151674}  # fmt: skip
    intern_vit = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
                  "image_size": [448, 448], "patch_size": [14, 14]}  # fmt: skip
    return {
        "llava-hf/LLaVA-NeXT-Video-7B-hf": LlavaNextVideoConfig(
            text_config=LlamaConfig(**LLAMA_7B).to_dict(),
            vision_config=CLIPVisionConfig(**CLIP_L, image_size=336).to_dict(),
            vision_feature_layer=-2,
            spatial_pool_stride=2,
        ),
        "LanguageBind/Video-LLaVA-7B-hf": VideoLlavaConfig(
            text_config=LlamaConfig(**LLAMA_7B).to_dict(),
            vision_config=CLIPVisionConfig(**CLIP_L, image_size=224).to_dict(),
            vision_feature_layer=-2,
        ),
        "OpenGVLab/InternVL3-2B-hf": InternVLConfig(
            text_config=Qwen2Config(**qwen).to_dict(),
            vision_config=InternVLVisionConfig(**intern_vit).to_dict(),
            downsample_ratio=0.5,
            vision_feature_layer=-1,
        ),
    }


def weight_bytes(model: nn.Module, linear_bytes: float) -> float:
    """Bytes of the weights with the converted linear layers at ``linear_bytes`` a weight, the rest bf16."""
    converted = 0
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and not name.endswith("lm_head"):
            converted += module.weight.numel()
    total = sum(parameter.numel() for parameter in model.parameters())
    return converted * linear_bytes + (total - converted) * 2


def lora_parameters(model: nn.Module, rank: int) -> int:
    pattern = re.compile(LORA_TARGETS)
    return sum(rank * (module.in_features + module.out_features)
               for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and pattern.fullmatch(name))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--lora-r", type=int, default=16)
    args = parser.parse_args()
    nf4 = 0.5 + (1 + 4 / 256) / 64  # 4 bits, an 8-bit absmax per 64 weights and an fp32 one per 256 of those
    memory = "bf16 | 8-bit | 4-bit NF4"
    print(f"| model | parameters | LoRA r={args.lora_r} | {memory} | clip tokens ({args.frames} frames) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for hub_id, config in published_configs().items():
        architecture = architecture_of(config.model_type)
        with torch.device("meta"):
            model = architecture.model_class()(config)
        size = config.vision_config.image_size
        side = (size[0], size[1]) if isinstance(size, (list, tuple)) else (size, size)
        tokens = architecture.placeholders_per_unit(model, args.frames, side)
        tokens *= args.frames if architecture.per_frame else 1
        params = sum(parameter.numel() for parameter in model.parameters())
        weights = " | ".join(f"{weight_bytes(model, width) / GIB:.1f} GiB" for width in (2, 1, nf4))
        lora = lora_parameters(model, args.lora_r) / 1e6
        print(f"| {hub_id} | {params / 1e9:.2f} B | {lora:.1f} M | {weights} | {tokens} |")


if __name__ == "__main__":
    main()
