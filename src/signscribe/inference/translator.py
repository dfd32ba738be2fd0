"""Sentence translation: a clip of continuous signing (video, ``.pose`` file or landmarks) to English."""

from __future__ import annotations

import dataclasses

from signscribe.inference.runner import ModelRunner
from signscribe.models.families.pose_to_text import GenerationConfig, generate
from signscribe.models.text import TextTokenizer
from signscribe.pose.source import ClipSource


class Translator(ModelRunner):
    """A translation model plus the pose extractor that feeds it.

    >>> translator = Translator.from_pretrained("runs/how2sign")   # a folder or a hub id
    >>> translator.translate("clip.mp4")                            # beam search, the model's defaults
    >>> translator.translate("clip.pose", beam_size=1)              # greedy
    """

    task = "translation"

    @property
    def tokenizer(self) -> TextTokenizer:
        assert self.loaded.tokenizer is not None  # load_pretrained reads it for every translation model
        return self.loaded.tokenizer

    @property
    def generation(self) -> GenerationConfig:
        assert self.loaded.generation is not None
        return self.loaded.generation

    def translate(
        self,
        clip: ClipSource,
        beam_size: int | None = None,
        max_length: int | None = None,
        length_penalty: float | None = None,
    ) -> str:
        """The English sentence for one clip; options left ``None`` take the model's defaults."""
        return self.translate_batch([clip], beam_size, max_length, length_penalty)[0]

    def translate_batch(
        self,
        clips: list[ClipSource],
        beam_size: int | None = None,
        max_length: int | None = None,
        length_penalty: float | None = None,
    ) -> list[str]:
        if self.loaded.architecture == "vlm":  # a video language model decodes with its own settings
            options = {"num_beams": beam_size, "max_new_tokens": max_length, "length_penalty": length_penalty}
            video = self.model_inputs(self.prepare(clips))[0]
            return self.loaded.model.generate_text(video, **{k: v for k, v in options.items() if v is not None})
        changes = {"beam_size": beam_size, "max_length": max_length, "length_penalty": length_penalty}
        generation = dataclasses.replace(self.generation, **{k: v for k, v in changes.items() if v is not None})
        batch = self.model_batch(self.prepare(clips))
        ids = generate(self.loaded.model, *batch.inputs, self.tokenizer.bos_id, self.tokenizer.eos_id, generation)
        return [self.tokenizer.decode(tokens) for tokens in ids]
