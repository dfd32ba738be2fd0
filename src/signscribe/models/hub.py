"""Checkpoints of foundation models (V-JEPA 2, video language models): a local folder saved with
``save_pretrained``, else a Hugging Face hub id from the local hub cache or the hub. Offline and not
cached, the error names the id and how to bring the checkpoint here."""

from __future__ import annotations

from pathlib import Path

from signscribe.errors import InputFileError, SignscribeError


def checkpoint_folder(source: str, what: str, spec: str, prefix: str = "") -> Path:
    """The folder of checkpoint ``source``; ``what`` names the kind of model in errors, ``spec`` is
    how the user gives a folder instead (``--backbone vjepa2:DIR``) and ``prefix`` what the user
    wrote before ``source`` (``vjepa2:``)."""
    folder = Path(source)
    if folder.is_dir():
        return folder
    if folder.exists() or source.count("/") != 1 or source.startswith((".", "/")):
        raise InputFileError(folder, f"no such {what} folder (give a folder saved with save_pretrained, or a hub id)")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=source))
    except Exception as error:  # the hub client raises many types (offline, not found, auth)
        raise SignscribeError(
            f"{prefix}{source}: not a local folder, and the Hugging Face hub could not provide this {what} ({error}). "
            f"Where there is network, run `hf download {source} --local-dir DIR`, copy DIR here and give {spec}"
        ) from error
