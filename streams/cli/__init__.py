"""The ``controlfeed`` command: the root group and one thin module per command.

``root`` holds the group, the settings built once, and ``main`` (the console
script), which turns every ``ControlfeedError`` into a message and a hint.
Each command is a module named for it (``stack``, ``demo``, ``worker``,
``replay`` ...): it parses options, calls the part of the pipeline or the
tools that does the work, and prints. No logic lives here that a test or
another entry point would need.
"""

from __future__ import annotations

from streams.cli.root import cli, main

__all__ = ["cli", "main"]
