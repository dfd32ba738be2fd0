"""Evaluation: metrics, reports and plots."""

from signscribe.evaluation.evaluate import evaluate, write_report
from signscribe.evaluation.metrics import ClassificationReport, classification_report

__all__ = ["ClassificationReport", "classification_report", "evaluate", "write_report"]
