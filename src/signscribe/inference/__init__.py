"""Inference: recognise isolated signs, transcribe continuous signing, translate sentences."""

from signscribe.inference.recognizer import Prediction, Recognizer
from signscribe.inference.transcribe import Segment, Transcriber, Transcript, TranscriptionSettings
from signscribe.inference.translator import Translator

__all__ = ["Prediction", "Recognizer", "Segment", "Transcriber", "Transcript", "TranscriptionSettings", "Translator"]
