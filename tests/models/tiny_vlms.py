"""Tiny random video language models of the three architectures signscribe drives, built from
configs (hidden size 32, 32x32 images in 8x8 patches) and saved with ``save_pretrained`` beside a
byte-level BPE tokenizer trained offline and a preprocessor config: folders that load through the
same path as a real checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import torch

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<video>", "<image>", "<IMG_CONTEXT>", "<img>", "</img>"]
ARCHITECTURES = ("llava_next_video", "video_llava", "internvl")
LAYERS = {"num_hidden_layers": 2, "num_attention_heads": 4}
PATCH = 8


def tiny_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator([*texts, "USER: ASSISTANT: user assistant Frame"], trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


def build_tiny_vlm(
    architecture: str, folder: Path, texts: list[str], seed: int = 0, hidden: int = 32, image_size: int = 32
) -> Path:
    """A random model of ``architecture`` with a tokenizer that knows ``texts``, saved in ``folder``.

    bitsandbytes' 4-bit CPU inference packs weights in blocks of 64 inputs: a model to quantise
    needs ``hidden=64`` (real models' widths are multiples of 64)."""
    from transformers import (
        CLIPVisionConfig,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLVisionConfig,
        LlamaConfig,
        LlavaNextVideoConfig,
        LlavaNextVideoForConditionalGeneration,
        Qwen2Config,
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
    )

    tokenizer = tiny_tokenizer(texts)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    sizes = {"hidden_size": hidden, "intermediate_size": 2 * hidden, **LAYERS}
    text = {**sizes, "vocab_size": len(tokenizer), "num_key_value_heads": 2, "max_position_embeddings": 2048,
            "bos_token_id": ids["<s>"], "eos_token_id": ids["</s>"], "pad_token_id": ids["<pad>"]}  # fmt: skip
    torch.manual_seed(seed)
    if architecture == "internvl":
        vision = InternVLVisionConfig(**sizes, image_size=[image_size] * 2, patch_size=[PATCH] * 2)
        config = InternVLConfig(
            text_config=Qwen2Config(**text).to_dict(), vision_config=vision.to_dict(),
            image_token_id=ids["<IMG_CONTEXT>"], vision_feature_layer=-1,
        )  # fmt: skip
        model = InternVLForConditionalGeneration(config)
        processor = {"size": {"height": image_size, "width": image_size}, "do_center_crop": False,
                     "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}  # fmt: skip
    else:
        common = {
            "text_config": LlamaConfig(**text).to_dict(),
            "vision_config": CLIPVisionConfig(**sizes, image_size=image_size, patch_size=PATCH).to_dict(),
            "video_token_id": ids["<video>"],
            "image_token_id": ids["<image>"],
            "vision_feature_layer": -1,
        }
        if architecture == "llava_next_video":
            model = LlavaNextVideoForConditionalGeneration(
                LlavaNextVideoConfig(**common, image_grid_pinpoints=[[image_size, image_size]])
            )
        else:
            model = VideoLlavaForConditionalGeneration(VideoLlavaConfig(**common))
        processor = {"size": {"shortest_edge": image_size}, "crop_size": {"height": image_size, "width": image_size},
                     "do_center_crop": True,
                     "image_mean": [0.481, 0.458, 0.408], "image_std": [0.269, 0.261, 0.276]}  # fmt: skip
    model.generation_config.pad_token_id = ids["<pad>"]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({**processor, "rescale_factor": 1 / 255}))
    return folder
