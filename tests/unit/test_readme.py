"""The README's examples say what they do: the first ``validate`` exits 1 on purpose."""

from __future__ import annotations

import re

from streams.devtools.validate import validate_files
from streams.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "data" / "sample" / "scenario.jsonl"


def test_the_readme_says_the_sample_fails_validation_on_purpose() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("controlfeed validate data/sample/scenario.jsonl") :][:800]

    claim = re.search(r"(\d+) bad lines on purpose", " ".join(example.split()))
    assert claim is not None, "the first validate example should say why it exits 1"
    assert int(claim.group(1)) == validate_files([SAMPLE]).bad > 0
