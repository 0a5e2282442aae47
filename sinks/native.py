"""Native-format column encoding for ``ServerStore`` inserts, without a Python loop per value.

clickhouse-driver encodes a columnar INSERT one column at a time, but for a
``DateTime`` it walks every value twice in Python (type and time-zone checks
that epoch seconds do not need), for a ``Nullable`` it builds the null map in
Python, and for an ``Array`` it counts and flattens in Python. On the sink's
tables that was about half of its encoding time (``docs/benchmarks.md``,
"Sink"). Here each column of the sink's types is encoded with C-level
primitives instead (``array`` for numbers and times, ``bytes(map(...))`` for
null maps, ``accumulate`` for array offsets, and the driver's own Cython
``write_strings`` for text); any other type goes through the driver's
``write_column`` unchanged, so the result is always a valid Native block.
``tests/unit/test_sink_native.py`` checks every fast path byte for byte
against the driver's own encoding.

Called by ``ServerStore`` only, through ``install``, which makes a client's
connection use ``NativeBlockStream`` for every block it sends. A value that
does not fit its column (a negative ``UInt``, a string in a number column)
raises clickhouse-driver's ``TypeMismatchError``, as the driver itself does:
``ServerStore`` turns that into a ``SinkError`` and the block is not stored.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Sequence
from itertools import accumulate, chain, repeat
from operator import is_
from typing import Any, Final

from clickhouse_driver import Client, defines
from clickhouse_driver import errors as ch_errors
from clickhouse_driver.columns.service import write_column
from clickhouse_driver.streams.native import BlockOutputStream
from clickhouse_driver.varint import write_varint
from clickhouse_driver.writer import write_binary_str, write_binary_uint8

__all__ = ["NativeBlockStream", "encode_column", "install"]

_ARRAY_CODES: Final[dict[str, str]] = {
    "UInt8": "B",
    "UInt16": "H",
    "UInt32": "I",
    "UInt64": "Q",
    "Int8": "b",
    "Int16": "h",
    "Int32": "i",
    "Int64": "q",
    "Float32": "f",
    "Float64": "d",
}
"""Fixed-width types and the ``array`` code with the same width and signedness."""
_NULL_VALUES: Final = {"String": ""}
"""What a NULL is written as inside a ``Nullable`` column (0 for numbers and times)."""
_LITTLE_ENDIAN: Final = sys.byteorder == "little"
"""Native blocks are little-endian; ``array`` writes the machine's order."""
_STRINGS_ENCODING: Final = "utf-8"


def _fixed_code(kind: str) -> str | None:
    """The ``array`` code for a fixed-width type, ``DateTime`` included (epoch seconds)."""
    if kind.startswith("DateTime") and not kind.startswith("DateTime64"):
        return "I"
    return _ARRAY_CODES.get(kind)


def _has_fast_path(kind: str) -> bool:
    if kind == "String" or _fixed_code(kind) is not None:
        return True
    if kind.startswith("Nullable(") or kind.startswith("Array("):
        return _has_fast_path(kind[kind.index("(") + 1 : -1])
    return False


def encode_column(kind: str, items: Sequence[Any], buf: Any) -> bool:
    """Write ``items`` as a Native column of type ``kind`` to ``buf`` (the driver's writer).

    Returns False, having written nothing, when ``kind`` has no fast path here:
    the caller then uses the driver's ``write_column``. ``DateTime`` values must
    be epoch seconds (``int``), as ``sinks.rows`` makes them. Raises
    ``OverflowError`` or ``TypeError`` for a value the column cannot hold.
    """
    if not _LITTLE_ENDIAN or not _has_fast_path(kind):
        return False
    _encode(kind, items, buf)
    return True


def _encode(kind: str, items: Sequence[Any], buf: Any) -> None:
    if kind == "String":
        buf.write_strings(items, encoding=_STRINGS_ENCODING)
        return
    code = _fixed_code(kind)
    if code is not None:
        buf.write(array(code, items).tobytes())
        return
    inner = kind[kind.index("(") + 1 : -1]
    if kind.startswith("Nullable("):
        nulls = bytes(map(is_, items, repeat(None)))
        buf.write(nulls)
        if any(nulls):
            null = _NULL_VALUES.get(inner, 0)
            items = [null if item is None else item for item in items]
        _encode(inner, items, buf)
        return
    # Array(inner): the running total of the lengths (UInt64), then every element.
    buf.write(array("Q", accumulate(map(len, items))).tobytes())
    _encode(inner, list(chain.from_iterable(items)), buf)


class NativeBlockStream(BlockOutputStream):  # type: ignore[misc]
    """clickhouse-driver's block writer, with ``encode_column`` before ``write_column``.

    The framing (block info, column names and types, the serialization byte
    of newer servers) is the driver's, line for line; only the column data
    goes through ``encode_column`` when it can.
    """

    def write(self, block: Any) -> None:
        """Send one block (the driver calls this for each block of an INSERT)."""
        revision = self.context.server_info.used_revision
        if revision >= defines.DBMS_MIN_REVISION_WITH_BLOCK_INFO:
            block.info.write(self.fout)
        n_columns = block.num_columns
        write_varint(n_columns, self.fout)
        write_varint(block.num_rows, self.fout)
        for i, (name, kind) in enumerate(block.columns_with_types):
            write_binary_str(name, self.fout)
            write_binary_str(kind, self.fout)
            if not n_columns:
                continue
            try:
                items = block.get_column_by_index(i)
            except IndexError as err:
                raise ValueError("Different rows length") from err
            if revision >= defines.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION:
                write_binary_uint8(0, self.fout)
            try:
                done = encode_column(kind, items, self.fout)
            except (AttributeError, OverflowError, TypeError, ValueError) as err:
                raise ch_errors.TypeMismatchError(
                    f"Type mismatch in VALUES section: column {name} ({kind}): {err}"
                ) from err
            if not done:
                write_column(
                    self.context, name, kind, items, self.fout, types_check=block.types_check
                )
        self.finalize()


def install(client: Client) -> None:
    """Make ``client`` encode the blocks it sends with ``NativeBlockStream``.

    Only for an uncompressed connection (the sink's URLs never ask for
    compression); a compressed one keeps the driver's own stream. Applies to
    every later (re)connection of the client's connection.
    """
    connection = client.connection
    if connection.compression:
        return
    make: Callable[[], BlockOutputStream] = lambda: NativeBlockStream(  # noqa: E731
        connection.fout, connection.context
    )
    connection.get_block_out_stream = make
    if connection.connected:
        connection.block_out = make()
