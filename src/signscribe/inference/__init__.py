"""Inference: recognise isolated signs, transcribe continuous signing, translate sentences.

Each name loads its module on first use: recognition with an exported model imports no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from signscribe.lazy import lazy_exports

# public name -> the module that defines it
_EXPORTS = {
    "Prediction": ".recognizer",
    "Recognizer": ".recognizer",
    "Segment": ".transcribe",
    "Transcriber": ".transcribe",
    "Transcript": ".transcribe",
    "TranscriptionSettings": ".transcribe",
    "Translator": ".translator",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from signscribe.inference.recognizer import Prediction, Recognizer  # noqa: F401
    from signscribe.inference.transcribe import Segment, Transcriber, Transcript, TranscriptionSettings  # noqa: F401
    from signscribe.inference.translator import Translator  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
