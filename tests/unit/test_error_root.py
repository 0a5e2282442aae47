"""One error root: every error class of the project is a ``ControlfeedError``, and the CLI
prints any of them (the rules', the stores', the sink service's) as message and hint.

The classes are found by importing every module of the four packages, so a new
error class that forgets the root fails here; ``schemas.errors`` must name it
in its tree too. The CLI cases register a throwaway command on ``streams.cli.cli``
that raises, and run ``main`` in-process as the other CLI tests do.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest

import schemas.errors
from rules import ConfigError, RulesError, load_config
from schemas.errors import ControlfeedError
from sinks import QueryError, SinkError, StoreUnavailableError
from streams.cli import cli, main
from streams.exceptions import ControlfeedError as ReExported
from streams.sink.exceptions import SinkServiceError, UnreadableRecordError

PACKAGES = ("schemas", "rules", "sinks", "streams")
SIGNALS = frozenset({"StopRequested", "_Stuck", "_Doomed", "ActionRefused"})
"""Internal signals, caught where they are raised: not user errors, so not under the root."""


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of the project, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        root = importlib.import_module(package)
        names = [package] + [
            info.name for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
        ]
        for name in names:
            module = importlib.import_module(name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


CLASSES = _exception_classes()
ERRORS = {name: cls for name, cls in CLASSES.items() if cls.__name__ not in SIGNALS}


def test_the_walk_finds_each_family_and_each_signal() -> None:
    found = set(CLASSES.values())

    assert {ControlfeedError, RulesError, SinkError, SinkServiceError} <= found
    assert not SIGNALS - {cls.__name__ for cls in found}  # the exclusions name real classes


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_error_class_derives_from_the_one_root(name: str) -> None:
    assert issubclass(ERRORS[name], ControlfeedError), f"{name} is not a ControlfeedError"


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_the_tree_in_schemas_errors_names_every_class(name: str) -> None:
    assert CLASSES[name].__name__ in (schemas.errors.__doc__ or ""), name


def test_streams_exceptions_re_exports_the_root() -> None:
    assert ReExported is ControlfeedError


@pytest.mark.parametrize("cls", [ConfigError, UnreadableRecordError])
def test_a_family_without_a_hint_at_the_raise_site_still_says_what_to_do(
    cls: type[ControlfeedError],
) -> None:
    assert cls("something is wrong").hint
    assert cls("something is wrong", hint="do this").hint == "do this"


def _raise_config_error(tmp: Path) -> None:
    bad = tmp / "rules.toml"
    bad.write_text("[thresholds]\nsurge_alpha = 7\n")
    load_config(bad)  # the rules package's own ConfigError, its own hint


def _raise_store_error(_: Path) -> None:
    raise StoreUnavailableError(
        "ClickHouse at 127.0.0.1:1 is unreachable", hint="Start it (`controlfeed stack up`)."
    )


def _raise_query_error(_: Path) -> None:
    raise QueryError("chDB refused: Syntax error", hint="Check the SQL.")


def _raise_unreadable(_: Path) -> None:
    raise UnreadableRecordError("alerts record is not an alert (3 errors)")


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "rules": (_raise_config_error, "surge_alpha must be in (0, 1]", "rules/defaults.toml"),
    "store": (_raise_store_error, "127.0.0.1:1 is unreachable", "controlfeed stack up"),
    "query": (_raise_query_error, "chDB refused: Syntax error", "Check the SQL."),
    "sink service": (_raise_unreadable, "is not an alert (3 errors)", "only the worker"),
}


def _register(monkeypatch: pytest.MonkeyPatch, raises: Callable[[Path], None], tmp: Path) -> None:
    """``controlfeed explode [--json]``: a command that raises, for this test only."""

    @click.command("explode")
    @click.option("--json", "as_json", is_flag=True)
    def explode(as_json: bool) -> None:
        raises(tmp)

    monkeypatch.setitem(cli.commands, "explode", explode)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``controlfeed ARGS`` in-process: (exit status, stdout, stderr with one space per gap)."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, " ".join(err.split())


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_error_of_any_family_is_a_message_and_a_hint_with_status_2(
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    raises, message, hint = CASES[case]
    _register(monkeypatch, raises, tmp_path)

    status, _, err = _run(capsys, "explode")

    assert status == 2
    assert err.startswith("error: ") and message in err
    assert "what to do:" in err and hint in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(CASES))
def test_with_json_an_error_of_any_family_is_json_on_stdout(
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    raises, message, hint = CASES[case]
    _register(monkeypatch, raises, tmp_path)

    status, out, _ = _run(capsys, "explode", "--json")

    body = json.loads(out)
    assert status == 2
    assert message in body["error"] and hint in body["hint"]


def test_an_error_outside_the_tree_still_shows_its_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def bug(_: Path) -> None:
        raise KeyError("a bug")

    _register(monkeypatch, bug, tmp_path)

    with pytest.raises(KeyError, match="a bug"):
        main(["explode"])
