"""Inference: recognise isolated signs in clips."""

from signscribe.inference.recognizer import Prediction, Recognizer

__all__ = ["Prediction", "Recognizer"]
