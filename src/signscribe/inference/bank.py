"""A sign bank: new signs taught from a few examples each, recognised by the nearest prototype, with
"not a sign I know" for a clip that is like none of them.

Each example clip becomes a vector: a recognition model's pooled clip embedding (the pose encoder of
the default model, or any model folder whose family has ``clip_embedding``), or a video foundation
model's (``vjepa2:SOURCE``: the mean of its rows). Vectors are scaled to unit length; a sign's prototype is
the mean of its examples, scaled again. A clip is compared with every prototype by cosine
similarity: the best one names the sign unless its similarity is under the bank's ``threshold``,
and then the clip is rejected (open-set recognition). The folder holds ``bank.json`` (the encoder,
the threshold, every example's sign and source) and ``embeddings.safetensors`` (their vectors),
both written atomically; ``benchmarks/sign_bank.py`` measures it in few-shot episodes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from signscribe.errors import InputFileError, SignscribeError
from signscribe.files import atomic_write, write_text_atomic
from signscribe.inference.recognizer import Recognizer
from signscribe.pose.source import ClipSource, as_clip
from signscribe.progress import ProgressCallback

BANK_FILE = "bank.json"
VECTORS_FILE = "embeddings.safetensors"
DEFAULT_ENCODER = "default"
DEFAULT_THRESHOLD = 0.5  # cosine similarity; benchmarks/sign_bank.py measures what it costs
FORMAT_VERSION = 1


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


Embedder = Callable[[ClipSource, ProgressCallback | None], np.ndarray]
"""A clip (and a progress callback for its loading: an exception it raises stops the work) to a unit vector."""


def clip_embedder(spec: str) -> Embedder:
    """Clips to unit vectors: ``vjepa2:SOURCE`` (the mean of the backbone's rows), else a recognition
    model (bundled name, folder or hub id) whose family has ``clip_embedding`` (its pooled clip vector)."""
    if spec.startswith("vjepa2:"):
        from signscribe.models.encoders import embedding_cache, load_encoder  # torch and transformers

        encoder = load_encoder(spec)

        def by_backbone(clip: ClipSource, on_progress: ProgressCallback | None = None) -> np.ndarray:
            rows = encoder.embed_clip(as_clip(clip), cache=embedding_cache())["original"]
            return _unit(np.asarray(rows, dtype=np.float32).mean(axis=0))

        return by_backbone
    return model_embedder(Recognizer.from_pretrained(spec), spec)


def model_embedder(recognizer: Recognizer, name: str) -> Embedder:
    """Clips to unit vectors with a loaded recognition model's pooled clip embedding."""
    model = recognizer.loaded.model
    if not callable(getattr(model, "clip_embedding", None)):
        raise SignscribeError(f"{name}: a {recognizer.loaded.architecture} model has no pooled embedding to compare")

    def by_model(clip: ClipSource, on_progress: ProgressCallback | None = None) -> np.ndarray:
        import torch  # here: a server of an exported model (no embedding, no bank) runs without torch

        with torch.no_grad():
            inputs = recognizer.model_inputs(recognizer.prepare([clip], on_progress))
            return _unit(model.clip_embedding(*inputs)[0].float().cpu().numpy())

    return by_model


@dataclass(frozen=True)
class Example:
    gloss: str
    source: str  # the clip it came from
    added: str  # UTC time


@dataclass(frozen=True)
class BankMatch:
    """The answer for one clip: ``gloss`` (``None``: not a sign the bank knows), the best similarity,
    and the nearest signs, best first, with their cosine similarities."""

    gloss: str | None
    similarity: float
    nearest: list[tuple[str, float]]


class SignBank:
    """A folder of taught signs (see the module); ``open`` it, ``add``/``remove`` signs, ``recognize``."""

    def __init__(self, folder: Path, encoder: str, threshold: float, examples: list[Example], vectors: np.ndarray):
        self.folder, self.encoder, self.threshold = folder, encoder, threshold
        self.examples, self.vectors = examples, vectors
        self._embed: Embedder | None = None

    @classmethod
    def open(cls, folder: str | Path, encoder: str | None = None, create: bool = False) -> SignBank:
        """The bank in ``folder``; with ``create``, a new empty one with ``encoder`` when there is none."""
        folder = Path(folder)
        path = folder / BANK_FILE
        if not path.is_file():
            if not create:
                raise InputFileError(folder, f"no sign bank here (no {BANK_FILE}); `signscribe bank add` makes one")
            return cls(folder, encoder or DEFAULT_ENCODER, DEFAULT_THRESHOLD, [], np.zeros((0, 0), np.float32))
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            examples = [Example(**example) for example in state["examples"]]
            vectors = load_file(folder / VECTORS_FILE)["vectors"] if examples else np.zeros((0, 0), np.float32)
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as error:
            raise InputFileError(path, f"not a readable sign bank ({error})") from error
        if len(vectors) != len(examples):
            raise InputFileError(path, f"{len(examples)} examples but {len(vectors)} vectors in {VECTORS_FILE}")
        if encoder is not None and encoder != state["encoder"]:
            raise InputFileError(path, f"the bank compares clips with {state['encoder']!r}, not {encoder!r}")
        return cls(folder, state["encoder"], float(state["threshold"]), examples, vectors)

    def use(self, embedder: Embedder) -> SignBank:
        """Embed clips with ``embedder`` (a loaded model's, which must be the bank's encoder)."""
        self._embed = embedder
        return self

    def embed(self, clip: ClipSource, on_progress: ProgressCallback | None = None) -> np.ndarray:
        """The clip's unit vector, by the bank's encoder (loaded on first use unless ``use`` gave it)."""
        if self._embed is None:
            self._embed = clip_embedder(self.encoder)
        return self._embed(clip, on_progress)

    def signs(self) -> dict[str, int]:
        """Each sign the bank knows and its number of examples, in the order they were taught."""
        counts: dict[str, int] = {}
        for example in self.examples:
            counts[example.gloss] = counts.get(example.gloss, 0) + 1
        return counts

    def add(self, gloss: str, clips: Sequence[ClipSource], sources: Sequence[str] | None = None) -> int:
        """Teach ``gloss`` from ``clips`` (more examples of a known sign join it), recorded under
        ``sources`` (default: the clips' paths); returns its number of examples."""
        if not gloss.strip() or not clips:
            raise ValueError("a sign needs a name and at least one example clip")
        vectors = np.stack([self.embed(clip) for clip in clips])
        return self.add_vectors(gloss, vectors, sources or [str(as_clip(clip).path) for clip in clips])

    def add_vectors(self, gloss: str, vectors: np.ndarray, sources: Sequence[str]) -> int:
        """Teach ``gloss`` from example vectors already embedded (``embed``), one per source; returns
        its number of examples. Embedding is the slow part: done first, it needs no lock on the bank."""
        gloss = gloss.strip()
        if not gloss or len(vectors) != len(sources) or not len(vectors):
            raise ValueError("a sign needs a name and one vector for each of its example clips")
        vectors = np.asarray(vectors, dtype=np.float32)
        added = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.examples += [Example(gloss, name, added) for name in sources]
        self.vectors = vectors if not len(self.vectors) else np.concatenate([self.vectors, vectors])
        return self.signs()[gloss]

    def remove(self, gloss: str) -> int:
        """Forget a sign; returns how many examples it had."""
        keep = [example.gloss != gloss for example in self.examples]
        if all(keep):
            raise ValueError(f"the bank has no sign {gloss!r}; it knows {', '.join(self.signs()) or 'none'}")
        self.examples = [example for example, kept in zip(self.examples, keep, strict=True) if kept]
        self.vectors = self.vectors[np.array(keep)]
        return len(keep) - sum(keep)

    def prototypes(self) -> tuple[list[str], np.ndarray]:
        glosses = list(self.signs())
        labels = np.array([example.gloss for example in self.examples])
        return glosses, _unit(np.stack([self.vectors[labels == gloss].mean(axis=0) for gloss in glosses]))

    def match(self, vector: np.ndarray, top_k: int = 5, threshold: float | None = None) -> BankMatch:
        """The answer for a clip's vector (``threshold``: the bank's unless given)."""
        if not self.examples:
            raise SignscribeError(f"{self.folder}: the sign bank is empty; add signs first")
        glosses, prototypes = self.prototypes()
        similarity = prototypes @ vector
        order = np.argsort(-similarity)[:top_k]
        nearest = [(glosses[i], round(float(similarity[i]), 6)) for i in order]
        limit = self.threshold if threshold is None else threshold
        best = float(similarity[order[0]])
        return BankMatch(glosses[order[0]] if best >= limit else None, round(best, 6), nearest)

    def recognize(
        self,
        clip: ClipSource,
        top_k: int = 5,
        threshold: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BankMatch:
        return self.match(self.embed(clip, on_progress), top_k, threshold)

    def describe(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "threshold": self.threshold, "signs": self.signs()}

    def save(self) -> None:
        """The vectors first, then ``bank.json``, each atomically: a bank is never half-written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if len(self.vectors):
            with atomic_write(self.folder / VECTORS_FILE) as file:
                file.write(save({"vectors": np.ascontiguousarray(self.vectors, dtype=np.float32)}))
        state: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "encoder": self.encoder,
            "threshold": self.threshold,
            "examples": [asdict(example) for example in self.examples],
        }
        write_text_atomic(self.folder / BANK_FILE, json.dumps(state, indent=2))
