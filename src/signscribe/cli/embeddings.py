"""The commands of embeddings: ``embed`` (foundation-model embeddings of clips) and ``bank`` (a sign
bank taught from a few examples), registered on the one app of ``cli.base``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from signscribe.cli import options as option
from signscribe.cli import terminal
from signscribe.cli.base import app, command
from signscribe.cli.terminal import bar, console, errors
from signscribe.data.options import DatasetOptions


@command()
@option.offers(DatasetOptions)
def embed(
    backbone: Annotated[str, typer.Option(help="vjepa2:HUB_ID or vjepa2:FOLDER (saved with save_pretrained).")],
    inputs: Annotated[list[Path] | None, typer.Argument(help="Videos or folders of videos.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the .npy files and index.csv.")] = Path(
        "embeddings"
    ),
    data: option.Data = None,
    split: Annotated[str | None, typer.Option(help="Only this split of the dataset.")] = None,
    variants: Annotated[str, typer.Option(help="Comma-separated: original, blur, bw.")] = "original",
    tokens: Annotated[str, typer.Option(help="time (a row per time step) or patch (every patch).")] = "time",
    batch: Annotated[int, typer.Option(min=1, help="Variants of a clip encoded per forward pass.")] = 4,
    device: option.Device = None,
    cache: Annotated[bool, typer.Option(help="Reuse and fill the embedding cache.")] = True,
    ray: option.Ray = None,
    *,
    data_options: dict[str, Any],
) -> None:
    """Encode clips with a video foundation model into <id>_<variant>_vjepa.npy files and index.csv
    (resumable: readable files are kept)."""
    from signscribe.inference.embed import EmbedItem, embed_items
    from signscribe.io.inputs import VIDEO_SUFFIXES, gather_inputs
    from signscribe.models.encoders import embedding_cache, load_encoder, parse_variants
    from signscribe.pose.source import Clip

    if bool(inputs) == bool(data):
        raise ValueError("give either videos/folders or --data KIND:PATH")
    chosen_variants = parse_variants(variants)
    samples = option.dataset_samples(data, data_options, split) if data else []
    items = [EmbedItem(sample.id, sample.label or "", sample.clip) for sample in samples]
    if inputs:
        videos = gather_inputs(inputs, VIDEO_SUFFIXES, "videos")
        for path, reason in videos.skipped:
            errors.print(f"passed over {path}: {reason}", highlight=False)
        items += [EmbedItem("_".join(videos.name(video).with_suffix("").parts), "", Clip(video))
                  for video in videos.files]  # fmt: skip
    encoder = load_encoder(backbone, tokens, device)
    with terminal.progress() as bars:
        summary = embed_items(encoder, items, out, chosen_variants, batch, embedding_cache() if cache else None,
                              bar(bars, "embedding"), ray, device)  # fmt: skip
    for line in summary.describe():
        console.print(line, highlight=False, markup=False)
    errors.print(f"wrote {out / 'index.csv'}", highlight=False)
    if summary.failures and not summary.written and not summary.kept:
        raise typer.Exit(code=1)


bank_app = typer.Typer(help="A sign bank: teach signs from a few examples, recognise them, reject the rest.")
app.add_typer(bank_app, name="bank", short_help="A sign bank: teach signs from a few examples, recognise them")
Bank = Annotated[Path, typer.Option("--bank", help="The sign bank's folder.")]


@command("add", group=bank_app)
def bank_add(
    gloss: Annotated[str, typer.Argument(help="The sign's name.")],
    clips: Annotated[list[Path], typer.Argument(help="1-5 example clips (videos or .pose files).")],
    bank: Bank,
    encoder: Annotated[
        str | None, typer.Option(help="A new bank's encoder: a model (default: the default model) or vjepa2:SOURCE.")
    ] = None,
) -> None:
    """Teach the bank a sign from a few example clips (the bank is made on first use)."""
    from signscribe.inference.bank import SignBank

    for clip in clips:
        if not clip.exists():
            raise ValueError(f"{clip}: file not found")
    signs = SignBank.open(bank, encoder, create=True)
    count = signs.add(gloss, clips)
    signs.save()
    console.print(f"{gloss}: {count} example(s); the bank knows {len(signs.signs())} sign(s)", highlight=False)


@command("list", group=bank_app)
def bank_list(bank: Bank) -> None:
    """The signs of a bank and their examples."""
    from signscribe.inference.bank import SignBank

    signs = SignBank.open(bank)
    rows = [(gloss, str(count)) for gloss, count in signs.signs().items()]
    console.print(
        terminal.table(
            f"{bank}: encoder {signs.encoder}, threshold {signs.threshold:g}", ("sign", "examples"), rows, ("examples",)
        )
    )


@command("remove", group=bank_app)
def bank_remove(gloss: Annotated[str, typer.Argument(help="The sign to forget.")], bank: Bank) -> None:
    """Forget a sign and its examples."""
    from signscribe.inference.bank import SignBank

    signs = SignBank.open(bank)
    removed = signs.remove(gloss)
    signs.save()
    console.print(f"removed {gloss} ({removed} example(s)); {len(signs.signs())} sign(s) left", highlight=False)


@command("recognize", group=bank_app)
def bank_recognize(
    clips: Annotated[list[Path], typer.Argument(help="Videos, .pose files, folders of them, or glob patterns.")],
    bank: Bank,
    output_format: Annotated[
        str | None, typer.Option("--format", help="table or json (default: --out's extension, else table).")
    ] = None,
    out: option.OutFile = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Nearest signs to report.")] = 5,
    threshold: Annotated[float | None, typer.Option(help="Least cosine similarity (default: the bank's).")] = None,
) -> None:
    """The sign of each clip among the bank's, or "not a sign I know"."""
    import json

    from signscribe.errors import InputFileError, SignscribeError
    from signscribe.files import write_text_atomic
    from signscribe.inference.bank import SignBank
    from signscribe.inference.clips import CLIP_SUFFIXES
    from signscribe.io.inputs import gather_inputs

    output_format = option.result_format(output_format, out, ("table", "json"))
    inputs = gather_inputs(clips, CLIP_SUFFIXES, "videos or .pose files")
    signs = SignBank.open(bank)
    answers = []
    failed = [{"clip": str(path), "reason": str(InputFileError(path, reason))} for path, reason in inputs.skipped]
    with terminal.progress() as bars:
        counted = bar(bars, "recognising", visible=len(inputs.files) > 1)
        for done, clip in enumerate(inputs.files, start=1):
            try:
                match = signs.recognize(clip, top_k, threshold)
            except SignscribeError as error:
                failed.append({"clip": str(clip), "reason": str(error)})
            else:
                nearest = [{"gloss": gloss, "similarity": similarity} for gloss, similarity in match.nearest]
                answers.append({"clip": str(clip), "sign": match.gloss, "similarity": match.similarity,
                                "nearest": nearest})  # fmt: skip
            counted(done, len(inputs.files))
    if output_format == "json":
        text = json.dumps({"results": answers, "failed": failed}, indent=2) + "\n"
    else:
        blocks = []
        for answer in answers:
            rows = "".join(f"  {near['gloss']}\t{near['similarity']:.3f}\n" for near in answer["nearest"])
            sign = answer["sign"] if answer["sign"] is not None else "not a sign I know"
            blocks.append(f"{answer['clip']}: {sign} (similarity {answer['similarity']:.3f})\nnearest:\n{rows}")
        text = "".join(blocks)
    if out is None:
        print(text, end="")
    else:
        write_text_atomic(out, text)
        errors.print(f"wrote {out}", highlight=False)
    for failed_clip in failed:
        line = terminal.failure(failed_clip["clip"], failed_clip["reason"])
        errors.print(f"[red]failed[/red] {escape(line)}", highlight=False)
    if not answers:
        raise typer.Exit(code=1)
