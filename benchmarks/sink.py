"""Sink benchmark: ``ServerStore`` inserts against ``clickhouse-client`` loading the same rows.

Run ``.venv/bin/python -m benchmarks.sink [--rows N] [--batch B] [--repeat R]``
from the checkout. In one run it:

1. starts the local ClickHouse if needed (``Stack(settings, ("clickhouse",)).up()``);
2. makes N synthetic ``checkpoint_scans`` rows (15 columns: strings, nullable
   strings, an array, times, a float), as ``sinks.rows`` would;
3. stores them through a ``Batcher`` and a ``ServerStore`` in blocks of B rows
   (columnar inserts, ``sinks.native`` encoding; the per-minute view runs on
   every block), timed two ways: as the worker's ``SinkService`` stores
   (``Batcher.take`` and a ``BlockWriter`` on ``--writers`` connections,
   default ``CONTROLFEED_SINK_WRITERS``: up to that many blocks stored while
   the next is batched; the figure held against the target), and, for
   comparison, ``Batcher.flush`` (one block at a time, waiting for each);
4. writes the same rows as TSV (not timed) and loads them with
   ``clickhouse-client --query "INSERT INTO checkpoint_scans (...) FORMAT TSV"``,
   timed, into a second fresh database with the same migrated schema;
5. for information, stores the rows into chDB too (``Batcher.flush`` and a
   ``ChdbStore`` in a temporary path; skipped when chDB is not installed);
6. prints rows/s of each (the best of ``--repeat`` rounds, each round running
   every variant once), the ratios, and the target: in each round the sink as
   the worker runs it against the client of the same round; the median of
   those ratios >= 0.50.

Each run uses databases of its own (``bench_sink_*``), dropped at the end.
Exit status 0 when the target is met, 1 otherwise.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from clickhouse_driver import Client
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rules.tuning import tune_gc
from sinks import Batcher, Store, migrate
from sinks.ddl import COLUMNS
from sinks.embedded import ChdbStore
from sinks.exceptions import MissingDependencyError
from sinks.rows import Row
from sinks.server import ServerStore
from sinks.writer import BlockWriter
from streams.devtools.stack import Stack
from streams.settings import Settings

__all__ = ["main", "synthetic_rows"]

TARGET = 0.5
"""The sink must reach this share of clickhouse-client's rate."""
_CST = ZoneInfo("Asia/Shanghai")
_CHECKPOINTS = ("jinjiguan-toll", "caoba-toll", "duiyan-toll", "shangli-toll", "bifengxia-toll")
_START = 1_665_700_000

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def synthetic_rows(count: int) -> list[Row]:
    """``count`` distinct checkpoint-scan rows over about a day, deterministic."""
    rows: list[Row] = []
    for i in range(count):
        t = _START + i * 86_400 // max(count, 1)
        rows.append(
            (
                f"cp-{i:08d}",
                t,
                i % 1000,
                _CHECKPOINTS[i % 5],
                "in" if i % 3 else "out",
                f"{i:064x}",
                "5***************1X",
                "138****5678" if i % 4 else "",
                "川T12345" if i % 2 else "",
                36.0 + (i % 20) / 10,
                "green",
                i % 2,
                ["510107", "511802"] if i % 7 else [],
                "negative" if i % 5 else "",
                t - 86_400 if i % 5 else None,
            )
        )
    return rows


def _tsv_value(value: object, kind: str) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, list):
        return "[" + ",".join(f"'{v}'" for v in value) + "]"
    if "DateTime" in kind and isinstance(value, int):
        return datetime.fromtimestamp(value, _CST).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _write_tsv(rows: list[Row], path: Path) -> None:
    kinds = [kind for _, kind in COLUMNS["checkpoint_scans"]]
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write("\t".join(_tsv_value(v, k) for v, k in zip(row, kinds, strict=True)))
            out.write("\n")


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    name = f"bench_sink_{uuid.uuid4().hex[:10]}"
    admin = Client("127.0.0.1", port=settings.clickhouse_tcp_port)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        store = ServerStore(f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{name}")
        migrate(store)
        store.close()
        yield name
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.disconnect()


def _flush_all(store: Store, rows: list[Row], batch: int) -> float:
    """Seconds to store ``rows`` through a ``Batcher`` flushing every ``batch`` rows."""
    batcher = Batcher(store, max_rows=batch, max_age=3600)
    started = time.perf_counter()
    for row in rows:
        batcher.add("checkpoint_scans", row)
        if batcher.due():
            batcher.flush()
    batcher.flush()
    return time.perf_counter() - started


def _sink_seconds(settings: Settings, rows: list[Row], batch: int) -> float:
    with _database(settings) as name:
        store = ServerStore(f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{name}")
        store.query("SELECT 1")  # connect before the clock starts, as a running worker would be
        seconds = _flush_all(store, rows, batch)
        _check_count(store, len(rows))
        store.close()
        return seconds


def _writer_seconds(settings: Settings, rows: list[Row], batch: int, writers: int) -> float:
    with _database(settings) as name:
        url = f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{name}"
        stores = [ServerStore(url) for _ in range(writers)]
        for store in stores:
            store.query("SELECT 1")
        writer = BlockWriter(stores)
        batcher = Batcher(stores[0], max_rows=batch, max_age=3600)
        started = time.perf_counter()
        pending = []
        for row in rows:
            batcher.add("checkpoint_scans", row)
            if batcher.due():
                pending.append(writer.submit(batcher.take()))
        pending.append(writer.submit(batcher.take()))
        stored = sum(future.result() for future in pending)
        seconds = time.perf_counter() - started
        writer.close()
        if stored != len(rows):
            raise click.ClickException(f"{stored} rows stored, {len(rows)} expected")
        check = ServerStore(url)
        _check_count(check, len(rows))
        check.close()
        return seconds


def _chdb_seconds(rows: list[Row], batch: int, path: Path) -> float | None:
    """Batcher.flush into chDB at ``path`` (for information); None without chDB."""
    try:
        store = ChdbStore(path)
    except MissingDependencyError:
        return None
    try:
        migrate(store)
        seconds = _flush_all(store, rows, batch)
        stored = store.query("SELECT count() FROM checkpoint_scans FINAL").rows[0][0]
        if stored != len(rows):
            raise click.ClickException(f"{stored} rows stored in chDB, {len(rows)} expected")
        return seconds
    finally:
        store.close()


def _client_seconds(settings: Settings, tsv: Path, count: int) -> float:
    names = ", ".join(name for name, _ in COLUMNS["checkpoint_scans"])
    with _database(settings) as name:
        command = [
            "clickhouse-client",
            "--port",
            str(settings.clickhouse_tcp_port),
            "--database",
            name,
            "--query",
            f"INSERT INTO checkpoint_scans ({names}) FORMAT TSV",
        ]
        with tsv.open("rb") as data:
            started = time.perf_counter()
            done = subprocess.run(command, stdin=data, capture_output=True, check=False)
            seconds = time.perf_counter() - started
        if done.returncode:
            raise click.ClickException(f"clickhouse-client failed: {done.stderr.decode()[-2000:]}")
        store = ServerStore(f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{name}")
        _check_count(store, count)
        store.close()
        return seconds


def _check_count(store: ServerStore, count: int) -> None:
    stored = store.query("SELECT count() FROM checkpoint_scans FINAL").rows[0][0]
    if stored != count:
        raise click.ClickException(f"{stored} rows stored, {count} expected")


@click.command()
@click.option("--rows", "count", default=500_000, show_default=True, help="Rows to store.")
@click.option(
    "--batch",
    default=Settings.model_fields["sink_batch_rows"].default,
    show_default=True,
    help="Rows per sink block (default: the worker's CONTROLFEED_SINK_BATCH_ROWS).",
)
@click.option(
    "--writers",
    default=Settings.model_fields["sink_writers"].default,
    show_default=True,
    help="Blocks stored at once (default: the worker's CONTROLFEED_SINK_WRITERS).",
)
@click.option(
    "--repeat",
    default=5,
    show_default=True,
    help="Rounds (each runs every variant once); rates are the best, the verdict the median "
    "of the rounds' ratios.",
)
def main(count: int, batch: int, writers: int, repeat: int) -> None:
    """Time the sink and clickhouse-client on the same rows; print both and the ratio."""
    settings = Settings()
    with _err.status("starting ClickHouse..."):
        Stack(settings, ("clickhouse",)).up()
    rows = synthetic_rows(count)
    with tempfile.TemporaryDirectory(prefix="controlfeed-bench-") as tmp:
        tsv = Path(tmp) / "rows.tsv"
        _write_tsv(rows, tsv)
        tune_gc()  # as the worker does after start-up: the rows are not garbage
        runs: dict[str, Callable[[], float]] = {
            "worker": partial(_writer_seconds, settings, rows, batch, writers),
            "client": partial(_client_seconds, settings, tsv, count),
            "flush": partial(_sink_seconds, settings, rows, batch),
        }
        seconds: dict[str, list[float]] = {key: [] for key in runs}
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=_err,
            transient=True,
        ) as progress:
            task = progress.add_task("storing", total=repeat * len(runs))
            for _ in range(repeat):  # interleaved: load from other work hits all alike
                for key, run in runs.items():
                    progress.update(task, description=f"storing {count:,} rows: {key}")
                    seconds[key].append(run())
                    progress.advance(task)
            chdb = _chdb_seconds(rows, batch, Path(tmp) / "chdb")
    best = {key: min(values) for key, values in seconds.items()}
    client_rate = count / best["client"]
    _out.print(f"{count:,} checkpoint_scans rows, sink blocks of {batch:,}, best of {repeat}")
    lines = (
        (f"sink as the worker runs it ({writers} connections)", "worker"),
        ("sink, one block at a time (Batcher.flush)", "flush"),
        ("clickhouse-client, FORMAT TSV", "client"),
    )
    for label, key in lines:
        rate = count / best[key]
        _out.print(
            f"  {label:<48} {rate:>9,.0f} rows/s  {best[key]:6.2f} s  "
            f"{rate / client_rate:5.2f} of clickhouse-client",
            soft_wrap=True,
        )
    if chdb is not None:
        rate = count / chdb
        _out.print(
            f"  {'(chDB: Batcher.flush, ChdbStore, one run)':<48} {rate:>9,.0f} rows/s  "
            f"{chdb:6.2f} s",
            soft_wrap=True,
        )
    # Each round ran the sink and the client back to back: their ratio is
    # spared the load that other work puts on the whole machine for a while.
    pairs = zip(seconds["worker"], seconds["client"], strict=True)
    rounds = [client / sink for sink, client in pairs]
    ratio = statistics.median(rounds)
    verdict = "met" if ratio >= TARGET else "NOT met"
    _out.print(
        "sink as the worker runs it / clickhouse-client, per round: "
        + " ".join(f"{value:.2f}" for value in rounds)
    )
    _out.print(f"median: {ratio:.2f} (target >= {TARGET:.2f}: {verdict})")
    if ratio < TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
