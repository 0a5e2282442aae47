"""The peers of ``python -m benchmarks.peers``: one small app per system, each its own process.

Started by ``benchmarks/peers.py`` only, never by hand in normal use. Each app
reads the benchmark's feed topics from offset 0 with a fresh consumer group,
processes every record once and then reports on its standard output
(``common.Reporter``): a line when it read its first record, progress lines,
and one ``done`` line with its counts and first/last timestamps; then it waits
until its standard input closes, so that ``peers.py`` can read the CPU time of
its process tree before it exits. An app that fails exits non-zero and leaves
its traceback in the log file ``peers.py`` names.

Every module here but ``quix_app`` runs in the project's virtualenv.
``quix_app`` runs in ``.stack/peers-venv`` (Quix Streams pins client and
pydantic versions the project cannot share), so this package and
``common`` import nothing but the standard library.
"""

__all__: list[str] = []
