"""A transcript as JSON, SubRip (``.srt``) or WebVTT (``.vtt``) text."""

from __future__ import annotations

import json

from signscribe.inference.transcribe import Transcript

TRANSCRIPT_FORMATS = ("table", "json", "srt", "vtt")


def _timestamp(seconds: float, separator: str) -> str:
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


def _cues(transcript: Transcript, separator: str) -> list[str]:
    return [
        f"{number}\n{_timestamp(s.start, separator)} --> {_timestamp(s.end, separator)}\n{s.gloss}\n"
        for number, s in enumerate(transcript.segments, start=1)
    ]


def to_srt(transcript: Transcript) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each cue."""
    return "\n".join(_cues(transcript, ","))


def to_vtt(transcript: Transcript) -> str:
    """WebVTT: the ``WEBVTT`` header, then numbered cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``."""
    return "\n".join(["WEBVTT\n", *_cues(transcript, ".")])


def format_transcript(transcript: Transcript, output_format: str) -> str:
    """``json``, ``srt`` or ``vtt`` text (``table`` is drawn by the command line)."""
    if output_format == "json":
        return json.dumps(transcript.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if output_format == "srt":
        return to_srt(transcript)
    if output_format == "vtt":
        return to_vtt(transcript)
    raise ValueError(f"format must be json, srt or vtt, not {output_format!r}")
