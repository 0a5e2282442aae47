"""Settings errors in the words of the environment: the variable and the form it needs.

Called by ``streams.cli`` when ``Settings()`` fails: pydantic's own text names
the field (``kafka_port``), not the variable a user set, and ends in a link
to its documentation; the settings-level checks (``_clickhouse_urls_are_native``
...) already speak in variables. The result is one ``ControlfeedError`` that
lists each bad variable with what it must hold. A value is shown only for
settings that hold no secret, and never a URL (it may hold a password).
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from streams.exceptions import ControlfeedError
from streams.settings import Settings

__all__ = ["expected_form", "settings_error"]

_HINT = (
    "Fix or unset the variable named above; the README's configuration section lists "
    "every CONTROLFEED_* variable and its default."
)
_SHOWN = 60
"""Characters of a bad value shown."""


def _kind(annotation: Any) -> str:
    """The annotation in words: ``a whole number``, ``true or false``, ``one of A, B``."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(v) for v in get_args(annotation))
    if get_origin(annotation) is dict:
        return 'a JSON object, e.g. {"name": "value"}'
    words = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        Path: "a path",
        SecretStr: "a secret (text)",
    }
    return words.get(annotation, "text")


def _bound(metadata: list[Any], name: str) -> str | None:
    """The constraint ``name`` (``ge``, ``le``, ...) of pydantic's field metadata, as text."""
    values = [getattr(m, name) for m in metadata if getattr(m, name, None) is not None]
    return f"{values[0]:g}" if values else None


def _bounds(metadata: list[Any]) -> str:
    low, high = _bound(metadata, "ge"), _bound(metadata, "le")
    above, below = _bound(metadata, "gt"), _bound(metadata, "lt")
    if low is not None and high is not None:
        return f" from {low} to {high}"
    parts = [f"at least {low}" if low else "", f"above {above}" if above else ""]
    parts += [f"at most {high}" if high else "", f"below {below}" if below else ""]
    return "".join(f" {p}" for p in parts if p)


def expected_form(field: str) -> str:
    """What the variable of settings field ``field`` must hold, e.g. ``a whole number
    from 1 to 65535``."""
    info = Settings.model_fields[field]
    return _kind(info.annotation) + _bounds(info.metadata)


def _variable(field: str) -> str:
    return f"CONTROLFEED_{field.upper()}"


def _shown(field: str, value: object) -> str:
    annotation = Settings.model_fields[field].annotation
    if SecretStr in (annotation, *get_args(annotation)) or "url" in field:
        return ""
    text = repr(value) if len(repr(value)) <= _SHOWN else repr(value)[:_SHOWN] + "..."
    return f"={text}"


def _line(error: dict[str, Any]) -> str:
    loc = error["loc"]
    if not loc or loc[0] not in Settings.model_fields:  # a check of several settings
        return str(error["msg"]).removeprefix("Value error, ")
    field = str(loc[0])
    return f"{_variable(field)}{_shown(field, error['input'])}: expected {expected_form(field)}"


def settings_error(err: ValidationError | SettingsError) -> ControlfeedError:
    """The ``ControlfeedError`` that says which ``CONTROLFEED_*`` variables are bad and
    what each must hold; built from pydantic's error without its text or its link."""
    if isinstance(err, SettingsError):
        found = re.search(r'field "(\w+)"', str(err))
        if found is None or found.group(1) not in Settings.model_fields:
            return ControlfeedError(f"invalid configuration: {err}", hint=_HINT)
        field = found.group(1)
        return ControlfeedError(
            f"invalid configuration: {_variable(field)} cannot be read: expected "
            f"{expected_form(field)}",
            hint=_HINT,
        )
    lines = list(dict.fromkeys(_line(dict(e)) for e in err.errors(include_url=False)))
    if len(lines) == 1:
        return ControlfeedError(f"invalid configuration: {lines[0]}", hint=_HINT)
    return ControlfeedError(
        "invalid configuration:\n" + "\n".join(f"  {line}" for line in lines), hint=_HINT
    )
