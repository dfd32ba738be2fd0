"""The commands of continuous signing (``transcribe``, ``translate``, ``evaluate-translation``),
registered on the one app of ``cli.base``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from signscribe.cli import options as option
from signscribe.cli import terminal
from signscribe.cli.base import command, wrote
from signscribe.cli.terminal import bar, console, errors
from signscribe.files import write_text_atomic


@command()
def transcribe(
    video: Annotated[Path, typer.Argument(help="A video (or a .pose file) of continuous signing.")],
    model: option.Model = None,
    output_format: Annotated[
        str | None, typer.Option("--format", help="table, json, srt or vtt (default: --out's extension, else table).")
    ] = None,
    out: option.OutFile = None,
    annotate: Annotated[Path | None, typer.Option(help="Also write a copy with landmarks and captions (MP4).")] = None,
    window: Annotated[int | None, typer.Option(min=2, help="Frames per window (default: the model's clips).")] = None,
    stride: Annotated[int | None, typer.Option(min=1, help="Frames between windows (default: window / 4).")] = None,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, help="Drop segments below this.")] = 0.5,
    min_hand_presence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of a window's central half with a hand raised.")
    ] = 0.5,
    min_motion: Annotated[float, typer.Option(min=0.0, help="Hand motion (shoulder widths a frame).")] = 0.01,
    fps: option.FrameRate = None,
    runtime: option.Runtime = "auto",
    workers: option.Workers = 1,
    no_limits: option.NoLimits = False,
    fingerspell: Annotated[
        bool, typer.Option(help="Read fingerspelling: letters with times and the words they spell.")
    ] = False,
    min_hold: Annotated[float, typer.Option(min=0.01, help="--fingerspell: seconds a letter is held.")] = 0.2,
    word_gap: Annotated[
        float, typer.Option(min=0.01, help="--fingerspell: seconds without a letter between words.")
    ] = 0.6,
) -> None:
    """A timed gloss transcript of continuous signing: sliding-window recognition, sign/no-sign
    segmentation, and segments with start, end, gloss and confidence. --workers extracts the video's
    landmarks in that many parts at once; a video over 10 minutes needs --no-limits.

    --fingerspell reads spelled words instead (model: fingerspelling): each letter held --min-hold
    seconds, a repeated letter once unless the hand slides between (a double letter), words apart
    at --word-gap seconds without a letter; the segments are the letters, and the words are printed."""
    from signscribe import Recognizer, Transcriber, TranscriptionSettings
    from signscribe.export.runtime import on_runtime
    from signscribe.inference.annotate import transcribe_and_annotate
    from signscribe.inference.fingerspell import FINGERSPELLING_MODEL, Fingerspeller, SpellingSettings
    from signscribe.inference.subtitles import TRANSCRIPT_FORMATS, format_transcript

    output_format = option.result_format(output_format, out, TRANSCRIPT_FORMATS)
    if fingerspell and annotate is not None:
        raise ValueError("--annotate draws sign transcripts; it does not take --fingerspell")
    settings = TranscriptionSettings(window, stride, min_confidence, min_hand_presence, min_motion)
    model = model or (FINGERSPELLING_MODEL if fingerspell else None)
    recognizer = Recognizer.from_pretrained(model, frame_rate=fps, extraction_workers=workers)
    recognizer = on_runtime(recognizer, runtime)
    recognizer.limits = option.clip_limits(no_limits)
    with terminal.progress() as bars:
        transcribing = bar(bars, "transcribing")
        if fingerspell:
            spelling = SpellingSettings(min_confidence=min_confidence, min_hold=min_hold, word_gap=word_gap)
            transcript = Fingerspeller(recognizer, spelling).transcribe(video, on_progress=transcribing)
        elif annotate is not None:
            transcriber = Transcriber(recognizer, settings)
            transcript = transcribe_and_annotate(transcriber, video, annotate, transcribing, bar(bars, "drawing"))
        else:
            transcript = Transcriber(recognizer, settings).transcribe(video, on_progress=transcribing)
    if out is not None:
        write_text_atomic(out, format_transcript(transcript, "json" if output_format == "table" else output_format))
    elif output_format == "table":
        console.print(terminal.transcript_table(transcript, video.name))
        if fingerspell:
            console.print(f"spelled: [bold]{escape(transcript.text)}[/bold]")
    else:
        print(format_transcript(transcript, output_format), end="")
    if why := transcript.why_empty():
        errors.print(f"[yellow]no segments:[/yellow] {escape(why)}", highlight=False)
    wrote(out, annotate)


@command()
def translate(
    clips: Annotated[list[Path], typer.Argument(help="Videos or .pose files, one sentence each.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Translation model folder, hub id, or vlm:<hub id or folder>.")
    ],
    beam_size: Annotated[int | None, typer.Option(min=1, help="1 = greedy (default: the model's).")] = None,
    max_length: Annotated[int | None, typer.Option(min=1, help="Most tokens to generate.")] = None,
    length_penalty: Annotated[float | None, typer.Option(help="Above 0 favours longer sentences.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write one sentence per line here.")] = None,
    prompt_config: option.PromptConfig = None,
    load_in_4bit: option.LoadIn4bit = None,
    load_in_8bit: option.LoadIn8bit = None,
    dtype: option.Dtype = None,
    device: option.Device = None,
    no_limits: option.NoLimits = False,
) -> None:
    """Translate signing clips to English sentences with a model from train-translation, or a video
    language model (--model vlm:<hub id or folder>, prompted by --prompt-config). A video over 10
    minutes needs --no-limits."""
    from signscribe import Translator

    vlm = option.vlm_options(prompt_config, None, load_in_4bit, load_in_8bit, dtype)
    translator = Translator.from_pretrained(model, device=device, vlm=vlm)
    translator.limits = option.clip_limits(no_limits)
    with terminal.progress() as bars:
        advance = bar(bars, "translating")
        sentences = []
        for clip in clips:
            sentences.append(translator.translate(clip, beam_size, max_length, length_penalty))
            advance(len(sentences), len(clips))
    if out is not None:
        write_text_atomic(out, "".join(f"{sentence}\n" for sentence in sentences))
        wrote(out)
    else:
        for clip, sentence in zip(clips, sentences, strict=True):
            print(f"{clip}\t{sentence}" if len(clips) > 1 else sentence)


@command(name="evaluate-translation")
def evaluate_translation(
    hyp: Annotated[Path, typer.Option(help="Hypotheses, one per line, or a generated_texts.csv.")],
    ref: Annotated[Path | None, typer.Option(help="References, one per line (not with a CSV).")] = None,
    epoch: Annotated[int | None, typer.Option(help="With a generated_texts.csv: this epoch (default: last).")] = None,
    lowercase: Annotated[bool, typer.Option(help="Case-insensitive BLEU and chrF.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores as JSON here.")] = None,
) -> None:
    """Corpus BLEU (sacrebleu, 13a) with its signature, chrF, and ROUGE-1/2/L F1 (rouge-score, mean)."""
    from signscribe.evaluation.translation import read_pairs, translation_scores

    hypotheses, references, chosen = read_pairs(hyp, ref, epoch)
    if chosen is not None:
        console.print(f"{hyp}: epoch {chosen}")
    scores = translation_scores(hypotheses, references, lowercase)
    console.print(terminal.scores_table(scores))
    console.print(scores.bleu_signature, highlight=False)
    console.print(scores.chrf_signature, highlight=False)
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(scores.to_dict(), indent=2) + "\n")
        wrote(json_out)
