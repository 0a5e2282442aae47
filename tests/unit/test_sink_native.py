"""``sinks.native``: every fast path writes exactly the bytes clickhouse-driver writes.

The server-side round trip (rows stored and read back) is in
``tests/integration/test_sink_store.py``; here the encoding is compared byte
for byte with the driver's own ``write_column`` for every column type of the
sink's tables, on real rows of every table and on edge values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from clickhouse_driver import errors as ch_errors
from clickhouse_driver.block import ColumnOrientedBlock
from clickhouse_driver.bufferedwriter import BufferedSocketWriter
from clickhouse_driver.columns.service import write_column
from clickhouse_driver.context import Context
from clickhouse_driver.streams.native import BlockOutputStream

from sinks.batch import Batcher
from sinks.ddl import COLUMNS
from sinks.native import NativeBlockStream, encode_column
from sinks.rows import Row
from tests.unit import sink_samples as samples


class _Sink:
    """A socket stand-in for the driver's Cython writer: keeps what it is sent."""

    def __init__(self) -> None:
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data


class _ServerInfo:
    used_revision = 54406  # what ClickHouse 18.16 reports
    timezone = "Asia/Shanghai"

    def get_timezone(self) -> str:
        return self.timezone


def _context() -> Context:
    context = Context()
    context.server_info = _ServerInfo()
    context.settings = {}
    context.client_settings = {
        "strings_as_bytes": False,
        "strings_encoding": "utf-8",
        "use_numpy": False,
        "opentelemetry_traceparent": None,
        "opentelemetry_tracestate": "",
        "quota_key": "",
        "input_format_null_as_default": False,
        "namedtuple_as_json": False,
        "server_side_params": False,
    }
    return context


def _written(write: Any) -> bytes:
    sink = _Sink()
    buf = BufferedSocketWriter(sink, 1 << 16)
    write(buf)
    buf.flush()
    return bytes(sink.data)


def _driver(kind: str, items: list[Any]) -> bytes:
    context = _context()
    return _written(lambda buf: write_column(context, "c", kind, list(items), buf))


def _ours(kind: str, items: list[Any]) -> bytes:
    def write(buf: Any) -> None:
        assert encode_column(kind, list(items), buf), f"no fast path for {kind}"

    return _written(write)


EDGE_VALUES: list[tuple[str, list[Any]]] = [
    ("String", ["", "a", "京A·12345", "x" * 300, "tab\there\nnewline"]),
    ("UInt8", [0, 1, 255, True, False]),
    ("UInt16", [0, 999, 65535]),
    ("UInt32", [0, 4_294_967_295]),
    ("UInt64", [0, 2**64 - 1]),
    ("Float64", [0.0, -1.5, 36.7, 1e300]),
    ("DateTime('Asia/Shanghai')", [0, 1_665_700_000, 4_294_967_295]),
    ("Nullable(DateTime('Asia/Shanghai'))", [None, 1_665_700_000, None]),
    ("Nullable(DateTime('Asia/Shanghai'))", [1, 2, 3]),
    ("Nullable(Float64)", [None, 30.66, None]),
    ("Nullable(UInt8)", [None, 1, 0, True]),
    ("Array(String)", [[], ["510107", "511802"], [], ["川"]]),
    ("Array(String)", [[], []]),
]


@pytest.mark.parametrize(("kind", "items"), EDGE_VALUES)
def test_edge_values_match_the_driver_byte_for_byte(kind: str, items: list[Any]) -> None:
    assert _ours(kind, items) == _driver(kind, items)


def _sample_rows() -> dict[str, list[Row]]:
    at = datetime(2022, 10, 14, 9, 30, tzinfo=samples.CST)
    batcher = Batcher(samples.FakeStore())
    for i in range(20):
        when = at + timedelta(minutes=i)
        batcher.add_event(samples.checkpoint_scan(f"cp-{i}", when))
        batcher.add_event(samples.venue_scan(f"vs-{i}", when))
        batcher.add_event(samples.patrol_event(f"pe-{i}", when))
        batcher.add_event(samples.venue(f"v-{i}", "pharmacy", when))
        batcher.add_alert(samples.alert(f"ev-{i}", when, grid=None if i % 2 else "qingjiang-3"))
        batcher.add_dead_letter(samples.dead_letter(i, when))
        batcher.add_alert_action(samples.alert_action(i, when, None if i % 3 else "é"), i % 2, i)
    batcher.add_event(samples.risk_area(at))
    return {
        table: [tuple(row) for row in zip(*columns, strict=True)]
        for table, columns in batcher.take().tables.items()
    }


def test_every_column_of_every_table_matches_the_driver() -> None:
    tables = _sample_rows()
    assert set(tables) == set(COLUMNS)
    for table, rows in tables.items():
        for index, (name, kind) in enumerate(COLUMNS[table]):
            column = [row[index] for row in rows]
            assert _ours(kind, column) == _driver(kind, column), f"{table}.{name}"


def test_whole_blocks_match_the_driver_stream() -> None:
    for table, rows in _sample_rows().items():
        columns = [list(column) for column in zip(*rows, strict=True)]
        block = ColumnOrientedBlock(list(COLUMNS[table]), columns)
        ours = _written(lambda buf, b=block: NativeBlockStream(buf, _context()).write(b))
        theirs = _written(lambda buf, b=block: BlockOutputStream(buf, _context()).write(b))
        assert ours == theirs, table


def test_a_type_without_a_fast_path_is_left_to_the_driver() -> None:
    written = _written(lambda buf: encode_column("Decimal(9, 2)", [1], buf))
    assert written == b""
    assert encode_column("Map(String, String)", [], None) is False
    assert encode_column("Nullable(Enum8('a' = 1))", [None], None) is False


@pytest.mark.parametrize(
    ("kind", "value"),
    [("UInt8", 256), ("UInt16", -1), ("DateTime('Asia/Shanghai')", "2022-10-14"), ("String", None)],
)
def test_a_value_that_does_not_fit_is_a_type_mismatch(kind: str, value: Any) -> None:
    block = ColumnOrientedBlock([("c", kind)], [[value]])
    with pytest.raises(ch_errors.TypeMismatchError, match="column c"):
        _written(lambda buf: NativeBlockStream(buf, _context()).write(block))
