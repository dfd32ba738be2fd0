"""The ``signscribe`` command line: one Typer app (``base.py``) that parses arguments, calls the public
API and prints through ``terminal.py`` (tables and progress bars on stderr; stdout holds only what was
asked for). Each module adds its commands to the app: ``core.py`` (probe, extract, train,
evaluate, recognize, models, samples, serve), ``data.py`` (download, prepare, dataset),
``sentences.py`` (transcribe, translate, evaluate-translation), ``embeddings.py`` (embed, bank),
``vlm.py``, ``tune.py`` and ``deploy.py`` (export, web-assets); ``options.py`` holds the options
several commands share. ``signscribe.cli:app`` is the entry point."""

from signscribe.cli import core, data, deploy, embeddings, sentences, tune, vlm  # noqa: F401  (they register their commands)
from signscribe.cli.base import app

__all__ = ["app"]
