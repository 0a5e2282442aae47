"""``python -m schemas.rules_table``: print the catalogue table of docs/rules.md.

Called by developers after changing ``schemas.catalogue`` (paste the output
into docs/rules.md, "The catalogue"; ``tests/unit/test_catalogue.py`` fails
until it is). A module of its own, because ``schemas.catalogue`` is imported
with the package (``RuleId`` derives from it), and running an imported module
with ``-m`` makes Python warn.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from schemas.catalogue import markdown_table

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Print ``markdown_table()``; 0."""
    del argv
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
