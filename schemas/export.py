"""JSON Schema files of the contracts, generated from the models.

``.venv/bin/python -m schemas.export`` rewrites ``schemas/json/`` (one file per
feed, per clean topic, the alert, the alert state and the dead letter); the
files are committed so that downstream teams read the contract without running
Python, and ``tests/unit/test_schemas_export.py`` fails when they are stale.
Called by developers after changing a model, and by that test.

Every file has an ``$id`` (``urn:controlfeed:schema:<name>:v<version>``); the
pipeline's outputs (clean topics, alert, alert state) require
``schema_version`` (``docs/contracts.md``: what changes it). The input feeds are
the upstream systems' contract, which carries no version field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from schemas.alert_state import ALERT_STATE_SCHEMA_VERSION, AlertState
from schemas.alerts import ALERT_SCHEMA_VERSION, Alert
from schemas.deadletter import DeadLetter
from schemas.downstream import CLEAN_SCHEMA_VERSION, DOWNSTREAM_MODELS
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


_VERSIONED: Final[dict[str, int]] = {
    **dict.fromkeys(DOWNSTREAM_MODELS, CLEAN_SCHEMA_VERSION),
    "alert": ALERT_SCHEMA_VERSION,
    "alert_state": ALERT_STATE_SCHEMA_VERSION,
}
"""The output contracts and their versions: ``schema_version`` is required in them."""


def render(model: type[BaseModel], name: str = "") -> str:
    """The schema file text of ``model`` (file ``name``): ``$id``, stable key order,
    UTF-8, final newline."""
    body = _drop_null_defaults(model.model_json_schema())
    version = _VERSIONED.get(name)
    if version is not None and "schema_version" not in body.get("required", []):
        body["required"] = ["schema_version", *body.get("required", [])]
    urn = f"urn:controlfeed:schema:{name}:v{version or 1}" if name else None
    schema = {"$schema": _DIALECT, **({"$id": urn} if urn else {}), **body}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    """File name -> text, for every contract: the five feeds, the three clean topics,
    ``alert``, ``alert_state``, ``dead_letter``."""
    models: dict[str, type[BaseModel]] = {
        **FEED_MODELS,
        **DOWNSTREAM_MODELS,
        "alert": Alert,
        "alert_state": AlertState,
        "dead_letter": DeadLetter,
    }
    return {f"{name}.schema.json": render(model, name) for name, model in models.items()}


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
