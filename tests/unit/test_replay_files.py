"""Reading event files: plain and gzip, blank lines, line numbers, damaged files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from streams.devtools.replay.exceptions import ReplayFileError
from streams.devtools.replay.files import check_file, count_lines, read_lines

CONTENT = b'{"a":1}\n\n   \n{"b":2}\r\nnot json\n{"c":3}'


def test_plain_lines_come_raw_without_endings_and_blank_lines_are_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(CONTENT)

    assert list(read_lines(path)) == [
        (1, b'{"a":1}'),
        (4, b'{"b":2}'),
        (5, b"not json"),
        (6, b'{"c":3}'),
    ]


def test_gzip_is_read_the_same(tmp_path: Path) -> None:
    plain, packed = tmp_path / "e.jsonl", tmp_path / "e.jsonl.gz"
    plain.write_bytes(CONTENT)
    packed.write_bytes(gzip.compress(CONTENT))

    assert list(read_lines(packed)) == list(read_lines(plain))
    assert check_file(packed) is True
    assert check_file(plain) is False


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(gzip.compress(b'{"a":1}\n'))

    assert list(read_lines(path)) == [(1, b'{"a":1}')]


def test_count_lines_counts_what_read_lines_yields(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(CONTENT)

    assert count_lines(path) == 4


def test_a_gz_name_without_gzip_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl.gz"
    path.write_bytes(CONTENT)

    with pytest.raises(ReplayFileError, match="not gzip"):
        check_file(path)


def test_a_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl.gz"
    packed = gzip.compress(b'{"event": 1}\n' * 5000)
    path.write_bytes(packed[: len(packed) // 2])

    with pytest.raises(ReplayFileError, match=r"e\.jsonl\.gz is damaged"):
        list(read_lines(path))


def test_a_missing_file_is_a_replay_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayFileError, match="cannot read"):
        check_file(tmp_path / "nope.jsonl")
