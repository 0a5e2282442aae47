"""Every module declares ``__all__``, and every name in it exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import rules
import schemas
import sinks
import streams

MODULES = sorted(
    info.name
    for package in (streams, schemas, sinks, rules)
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + ".")
)


@pytest.mark.parametrize("name", ["streams", "schemas", "sinks", "rules", *MODULES])
def test_module_exports_are_complete(name: str) -> None:
    module = importlib.import_module(name)

    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [export for export in module.__all__ if not hasattr(module, export)]
    assert not missing, f"{name}.__all__ names missing objects: {missing}"
