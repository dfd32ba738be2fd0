"""Sentence translation: a clip of continuous signing (video, ``.pose`` file or landmarks) to English."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from signscribe.inference.recognizer import clip_landmarks
from signscribe.models.features import model_input
from signscribe.models.folder import TOKENIZER, ModelFolderError, build_model, read_model_folder
from signscribe.models.text import TextTokenizer
from signscribe.models.translation import GenerationConfig, generate
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.sequence import PoseSequence


class Translator:
    """A translation model folder plus the pose extractor that feeds it.

    >>> translator = Translator.from_pretrained("runs/how2sign")   # a folder or a hub id
    >>> translator.translate("clip.mp4")                            # beam search, the model's defaults
    >>> translator.translate("clip.pose", beam_size=1)              # greedy
    """

    def __init__(self, folder: str | Path, extractor: HolisticExtractor | None = None) -> None:
        self.path, self.config = read_model_folder(folder, "translation")
        self.model, self.features = build_model(self.path, self.config)
        self.tokenizer = TextTokenizer.from_file(self.path / TOKENIZER)
        if self.tokenizer.vocab_size != self.config["num_classes"]:
            raise ModelFolderError(self.path, f"{TOKENIZER} does not match the model's vocabulary size")
        try:
            self.generation = GenerationConfig(**self.config.get("generation", {}))
        except (TypeError, ValueError) as error:
            raise ModelFolderError(self.path, f"bad generation settings in config.json ({error})") from error
        self.extractor = extractor or HolisticExtractor(cache=PoseCache())

    @classmethod
    def from_pretrained(cls, path_or_name: str | Path, extractor: HolisticExtractor | None = None) -> Translator:
        return cls(path_or_name, extractor)

    def translate(
        self,
        clip: str | Path | PoseSequence,
        beam_size: int | None = None,
        max_length: int | None = None,
        length_penalty: float | None = None,
    ) -> str:
        """The English sentence for one clip; options left ``None`` take the model's defaults."""
        return self.translate_batch([clip], beam_size, max_length, length_penalty)[0]

    def translate_batch(
        self,
        clips: list[str | Path | PoseSequence],
        beam_size: int | None = None,
        max_length: int | None = None,
        length_penalty: float | None = None,
    ) -> list[str]:
        changes = {"beam_size": beam_size, "max_length": max_length, "length_penalty": length_penalty}
        generation = dataclasses.replace(self.generation, **{k: v for k, v in changes.items() if v is not None})
        batch = model_input([clip_landmarks(clip, self.extractor) for clip in clips], self.features)
        ids = generate(
            self.model,
            batch.points,
            batch.present,
            batch.frames,
            self.tokenizer.bos_id,
            self.tokenizer.eos_id,
            generation,
        )
        return [self.tokenizer.decode(tokens) for tokens in ids]
