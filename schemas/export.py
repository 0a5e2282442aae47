"""JSON Schema files of the contracts, generated from the models.

``.venv/bin/python -m schemas.export`` rewrites ``schemas/json/`` (one file per
feed, the alert and the dead letter); the files are committed so that
downstream teams read the contract without running Python, and
``tests/unit/test_schemas_export.py`` fails when they are stale. Called by
developers after changing a model, and by that test.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.feeds import FEED_MODELS

__all__ = ["JSON_DIR", "main", "render", "schema_files"]

JSON_DIR: Final = Path(__file__).resolve().parent / "json"
"""Where the committed schema files live."""

_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def _drop_null_defaults(node: Any) -> Any:
    """Remove ``"default": null``: it means "may be absent" in our models, and a
    schema default that breaks the field's own type would mislead readers."""
    if isinstance(node, dict):
        return {k: _drop_null_defaults(v) for k, v in node.items() if (k, v) != ("default", None)}
    if isinstance(node, list):
        return [_drop_null_defaults(v) for v in node]
    return node


def render(model: type[BaseModel]) -> str:
    """The schema file text of ``model``: stable key order, UTF-8, final newline."""
    schema = {"$schema": _DIALECT, **_drop_null_defaults(model.model_json_schema())}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    """File name -> text, for every contract: the five feeds, ``alert``, ``dead_letter``."""
    models: dict[str, type[BaseModel]] = {
        **FEED_MODELS,
        "alert": Alert,
        "dead_letter": DeadLetter,
    }
    return {f"{name}.schema.json": render(model) for name, model in models.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Write every schema file into ``JSON_DIR`` (or the directory given); 0 on success."""
    args = list(sys.argv[1:] if argv is None else argv)
    target = Path(args[0]) if args else JSON_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, text in schema_files().items():
        (target / name).write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {len(schema_files())} schema files to {target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
