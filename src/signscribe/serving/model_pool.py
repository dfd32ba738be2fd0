"""The recognition models a server offers: the one it was started with (its default) and every model
bundled in the package, each loaded once at start-up (they are small) and chosen per request by id.
All of them extract landmarks through the server's own pose cache (under its data dir, bounded), never
the user's."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from signscribe.errors import SignscribeError
from signscribe.export.browser import browser_onnx, runs_in_browser
from signscribe.export.runtime import on_runtime
from signscribe.inference.clips import PHOTO_MODEL
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.spelling import SpellingSettings
from signscribe.models.bundled import DEFAULT_MODEL, bundled_models, default_model_name
from signscribe.pose.cache import PoseCache
from signscribe.pose.extract import HolisticExtractor
from signscribe.pose.holistic_graph import DEFAULT_MAX_FRAME_RATE
from signscribe.pose.source import media_kind
from signscribe.serving.security import ApiError
from signscribe.serving.work import label_list

log = logging.getLogger(__name__)


class ModelPool:
    """Recognizers by id; ``None`` or ``"default"`` asks for the server's default."""

    def __init__(
        self,
        default: str | None,
        recognizer: Recognizer | None,
        cache: PoseCache,
        device: str = "auto",
        options: dict[str, Any] | None = None,
        runtime: str = "auto",
        max_frame_rate: float = DEFAULT_MAX_FRAME_RATE,
    ) -> None:
        """``options`` are those of a ``vlm:`` default model (prompt config, labels, quantisation);
        ``runtime`` runs the default and the bundled models (``signscribe.export.runtime``); no model
        extracts more than ``max_frame_rate`` frames a second of an upload, whatever it declares."""
        self.cache, self.device, self.runtime, self.max_frame_rate = cache, device, runtime, max_frame_rate
        self.browser_models: dict[str, bytes] = {}  # ONNX for the page's offline mode, made on first request
        self._exporting = asyncio.Lock()  # one export at a time
        self._exports: dict[str, asyncio.Future[bytes]] = {}
        self.default_id = default_model_name() if default in (None, DEFAULT_MODEL) else str(default)
        recognizer = recognizer or Recognizer.from_pretrained(default, device=device, vlm=options or None)
        self.recognizers = {self.default_id: self._cached(recognizer)}
        self.sources: dict[str, dict[str, str]] = {}
        for model in bundled_models():
            self.sources[model.name] = {"data": model.data, "licence": model.licence}
            if model.name in self.recognizers:
                continue
            try:
                self.recognizers[model.name] = self._cached(Recognizer.from_pretrained(model.name))
            except ImportError as error:  # no torch: a server of an exported model offers that one alone
                log.warning("bundled model %s is not offered: %s", model.name, error)

    def _cached(self, recognizer: Recognizer) -> Recognizer:
        """The same model on the server's runtime, its extractor (same settings) writing to the server's cache."""
        settings = replace(recognizer.extractor.settings, max_frame_rate=self.max_frame_rate)
        extractor = HolisticExtractor(settings, cache=self.cache)
        return on_runtime(Recognizer(recognizer.loaded, extractor, self.device), self.runtime)

    @property
    def default(self) -> Recognizer:
        return self.recognizers[self.default_id]

    def resolve(self, model_id: str | None) -> str:
        """The id of the model asked for; an id the server does not offer is a 404."""
        chosen = self.default_id if model_id in (None, DEFAULT_MODEL) else str(model_id)
        if chosen not in self.recognizers:
            raise ApiError(404, "model_not_found", f"no model {model_id!r}; this server offers {', '.join(self.ids)}")
        return chosen

    def get(self, model_id: str | None) -> Recognizer:
        return self.recognizers[self.resolve(model_id)]

    def for_upload(self, model_id: str | None, upload: Path) -> Recognizer:
        """The model asked for; when none is and the upload is a photo, the photo model, if offered."""
        if model_id is None and PHOTO_MODEL in self.recognizers and media_kind(upload) == "photo":
            return self.recognizers[PHOTO_MODEL]
        return self.get(model_id)

    def check_labels(self, model_id: str | None, labels: str | None) -> None:
        """404 for a model the server does not offer, 422 for ``labels`` it does not have (``label_list``);
        with no model named, the photo model's labels pass too (a photo goes to it)."""
        candidates = [self.get(model_id)]
        if labels is None:
            return
        if model_id is None and PHOTO_MODEL in self.recognizers:
            candidates.append(self.recognizers[PHOTO_MODEL])
        reasons = []
        for recognizer in candidates:
            try:
                recognizer.label_mask(label_list(recognizer, labels))
                return
            except SignscribeError as error:
                reasons.append(str(error))
        raise ApiError(422, "unknown_labels", f"labels={labels!r}: {reasons[0]}")

    async def browser_model(self, model_id: str | None) -> bytes:
        """The model as ONNX for the page to run itself, exported once (seconds, in a thread) and then
        kept; 422 for a model the browser cannot run, 501 when the server lacks the onnx extra. One
        export runs at a time, and requests for a model being exported wait for that export without
        holding a thread, so they never starve the threads other requests run in."""
        chosen = self.resolve(model_id)
        loaded = self.recognizers[chosen].loaded
        if not runs_in_browser(loaded):
            reason = "only landmark and hand-shape recognition models do"
            raise ApiError(422, "not_in_browser", f"model {chosen!r} cannot run in the browser: {reason}")
        if chosen in self.browser_models:
            return self.browser_models[chosen]
        if chosen not in self._exports:
            self._exports[chosen] = asyncio.ensure_future(self._export(chosen))
        try:
            return await asyncio.shield(self._exports[chosen])
        finally:
            if self._exports.get(chosen) is not None and self._exports[chosen].done():
                del self._exports[chosen]  # kept in browser_models, or failed: a later request tries again

    async def _export(self, chosen: str) -> bytes:
        async with self._exporting:
            try:
                onnx = await asyncio.to_thread(browser_onnx, self.recognizers[chosen].loaded)
            except SignscribeError as error:  # onnx or onnxscript missing on the server
                raise ApiError(501, "export_unavailable", str(error)) from error
        self.browser_models[chosen] = onnx
        return onnx

    @property
    def ids(self) -> list[str]:
        return list(self.recognizers)

    def describe(self) -> list[dict[str, Any]]:
        """What ``GET /v1/models`` answers, the default first."""
        described = []
        for model_id, recognizer in self.recognizers.items():
            loaded = recognizer.loaded
            described.append(
                {
                    "id": model_id,
                    "default": model_id == self.default_id,
                    "architecture": loaded.architecture,
                    "task": loaded.task,
                    "input_kind": loaded.input_kind,
                    "labels": loaded.labels,
                    "num_labels": None if recognizer.answers_freely else len(recognizer.labels),
                    "input": loaded.config.get("input", {}),
                    "features": loaded.config.get("features"),
                    "min_confidence": recognizer.min_confidence,
                    "detector": recognizer.detector.settings() if recognizer.detector else None,
                    "runs_in_browser": runs_in_browser(loaded),
                    "label_sets": recognizer.label_sets,
                    **({"spelling": asdict(SpellingSettings())} if loaded.input_kind == "hand" else {}),
                    **self.sources.get(model_id, {}),
                }
            )
        return described
