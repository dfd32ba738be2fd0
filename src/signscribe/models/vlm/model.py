"""A video language model as signscribe uses it: prompt building, label ranking, generation and
the training loss, over a transformers checkpoint (optionally with PEFT adapters, optionally
quantised).

Ranking labels: for each clip the prompt (with the clip) runs once and its key/value cache is
reused for every label; a label's score is the log-likelihood of its tokens followed by the end of
the answer, ``log p(label, end | clip, prompt)``. The end token makes the score that of the whole
answer being exactly the label (``book`` cannot win by being the start of ``bookshelf``). A softmax
over the labels' scores is the model's probability of each label given that it answers one of
them: the confidences ``recognize`` reports."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from signscribe.errors import SignscribeError
from signscribe.models.vlm.architectures import Architecture
from signscribe.models.vlm.settings import VlmSettings

LABEL_CHUNK = 64  # labels scored in one batch against a clip's cached prompt


class VisionLanguageModel(nn.Module):
    """``network`` (a transformers ``…ForConditionalGeneration``, or a PEFT model around one) with its
    tokenizer; ``forward(video)`` ranks ``labels`` (recognition), ``generate_text`` writes answers."""

    def __init__(
        self,
        network: nn.Module,
        tokenizer: Any,
        architecture: Architecture,
        settings: VlmSettings,
        task: str,
        frame_size: tuple[int, int],
        labels: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.tokenizer = tokenizer
        self.architecture = architecture
        self.settings = settings
        self.task = task
        self.labels = labels
        base = network.get_base_model() if hasattr(network, "get_base_model") else network
        placeholder_id = getattr(base.config, architecture.placeholder_key)
        self.placeholder = tokenizer.convert_ids_to_tokens(placeholder_id)
        self.placeholder_count = architecture.placeholders_per_unit(base, settings.frames, frame_size)
        if tokenizer.eos_token_id is None:
            raise SignscribeError("the checkpoint's tokenizer has no end-of-sequence token")
        self._label_ids = None if labels is None else [self.answer_ids(label) for label in labels]
        # tokenised once: the prompt (with its 1-2k placeholders) cannot change after loading
        self._prompt_ids: list[int] = self.tokenizer(self.prompt_text(), add_special_tokens=True)["input_ids"]

    @property
    def device(self) -> torch.device:
        return next(p.device for p in self.network.parameters())

    @property
    def pixel_dtype(self) -> torch.dtype:
        return next(p.dtype for p in self.network.parameters() if p.is_floating_point())

    def prompt_text(self) -> str:
        template = self.settings.template or self.architecture.template
        video = self.architecture.video_text(self.placeholder, self.placeholder_count, self.settings.frames)
        return template.format(video=video, prompt=self.settings.prompt_for(self.task))

    def prompt_ids(self) -> list[int]:
        return list(self._prompt_ids)

    def answer_ids(self, answer: str) -> list[int]:
        """An answer's tokens and the end of the answer: what the model is trained to write."""
        return [*self.tokenizer(answer, add_special_tokens=False)["input_ids"], self.tokenizer.eos_token_id]

    def pixel_inputs(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        if video.shape[1] != self.settings.frames:
            raise ValueError(f"the model reads {self.settings.frames} frames a clip, got {video.shape[1]}")
        return self.architecture.pixel_inputs(video.to(self.device, self.pixel_dtype))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """The labels' log-likelihoods ``(clips, labels)`` for clips ``(clips, frames, 3, H, W)``."""
        if self._label_ids is None:
            raise SignscribeError("ranking answers needs a label list: give --labels FILE (one label a line)")
        return torch.stack([self._rank_clip(video[i : i + 1]) for i in range(len(video))])

    @torch.no_grad()
    def _rank_clip(self, video: torch.Tensor) -> torch.Tensor:
        assert self._label_ids is not None
        prompt = torch.tensor([self.prompt_ids()], device=self.device)
        out = self.network(input_ids=prompt, **self.pixel_inputs(video), use_cache=True)
        first = out.logits[0, -1].float().log_softmax(-1)
        scores = []
        for start in range(0, len(self._label_ids), LABEL_CHUNK):
            chunk = self._label_ids[start : start + LABEL_CHUNK]
            width = max(len(ids) for ids in chunk)
            ids = torch.full((len(chunk), width), self.tokenizer.eos_token_id, device=self.device)
            mask = torch.zeros_like(ids)
            for row, label in enumerate(chunk):
                ids[row, : len(label)] = torch.tensor(label)
                mask[row, : len(label)] = 1
            cache = copy.deepcopy(out.past_key_values)
            cache.batch_repeat_interleave(len(chunk))
            attention = torch.cat(
                [torch.ones(len(chunk), prompt.shape[1], device=self.device, dtype=mask.dtype), mask], 1
            )
            following = self.network(input_ids=ids, attention_mask=attention, past_key_values=cache).logits.float()
            steps = torch.cat([first.expand(len(chunk), 1, -1), following[:, :-1].log_softmax(-1)], dim=1)
            token_scores = steps.gather(-1, ids[..., None])[..., 0]
            scores.append((token_scores * mask).sum(dim=1))
        return torch.cat(scores).cpu()

    def _generate(self, video: torch.Tensor, **overrides: Any) -> tuple[torch.Tensor, Any]:
        """The new tokens per clip ``(clips, tokens)`` and ``generate``'s output (with its scores)."""
        prompt = torch.tensor([self.prompt_ids()] * len(video), device=self.device)
        options = {**self.settings.generation_options(), **overrides}
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        out = self.network.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            **self.pixel_inputs(video),
            **options,
            pad_token_id=pad,
            eos_token_id=self.tokenizer.eos_token_id,
            return_dict_in_generate=True,
            output_scores=True,
        )
        return out.sequences[:, prompt.shape[1] :], out

    def _decode(self, tokens: torch.Tensor) -> list[str]:
        return [text.strip() for text in self.tokenizer.batch_decode(tokens, skip_special_tokens=True)]

    @torch.no_grad()
    def generate_text(self, video: torch.Tensor, **overrides: Any) -> list[str]:
        """One answer per clip, decoded as the settings say (``overrides``: ``generate`` options)."""
        return self._decode(self._generate(video, **overrides)[0])

    @torch.no_grad()
    def answer(self, video: torch.Tensor) -> list[tuple[str, float]]:
        """A free answer per clip, greedy, with its probability: the product of its tokens'
        probabilities up to and including the end of the answer."""
        tokens, out = self._generate(video, do_sample=False, num_beams=1)
        steps = self.network.compute_transition_scores(out.sequences, out.scores, normalize_logits=True).float()
        ended = (tokens == self.tokenizer.eos_token_id).long().cumsum(dim=1)
        counted = (ended == 0) | ((ended == 1) & (tokens == self.tokenizer.eos_token_id))
        confidences = (steps * counted).sum(dim=1).exp().cpu().tolist()
        return list(zip(self._decode(tokens), confidences, strict=True))

    def training_batch(self, answers: list[str]) -> dict[str, torch.Tensor]:
        """Token ids, attention mask and loss labels for clips answered by ``answers``: the loss is on
        the answer and its end only, never on the prompt; rows are padded on the right."""
        prompt = self.prompt_ids()
        rows = [prompt + self.answer_ids(answer) for answer in answers]
        width = max(len(row) for row in rows)
        ids = torch.full((len(rows), width), self.tokenizer.eos_token_id)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            labels[i, len(prompt) : len(row)] = ids[i, len(prompt) : len(row)]
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    def loss(self, video: torch.Tensor, answers: list[str]) -> torch.Tensor:
        batch = {key: value.to(self.device) for key, value in self.training_batch(answers).items()}
        return self.network(**batch, **self.pixel_inputs(video)).loss
