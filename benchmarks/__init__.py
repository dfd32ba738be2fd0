"""Scripts that measure signscribe and print the figures the docs and the model cards quote; run each
as ``.venv/bin/python benchmarks/NAME.py`` (``--help`` for its options). A script that shares another's
helpers imports them as ``benchmarks.NAME``, the repository root put on its path first."""
