"""Fixtures shared by the unit tests of the production files (compose, the image)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from streams.settings import Settings


@pytest.fixture(scope="module")
def defaults() -> Iterator[Settings]:
    """The settings' defaults, whatever CONTROLFEED_* variables this shell has: what the
    production files are checked against."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("CONTROLFEED_")]:
            patch.delenv(name)
        yield Settings()
