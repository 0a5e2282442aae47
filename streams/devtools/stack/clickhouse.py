"""ClickHouse for the local stack: Debian's ``clickhouse-server`` as a plain process.

The config is the project's own, written under ``<data_dir>/clickhouse``:
loopback only, its own data and log folders and ports, user ``default``
without password reachable from loopback only (the tests' and the demo's
administrator), and the pipeline's two users with passwords made once under
``credentials/`` (files of mode 0600): ``controlfeed_writer`` for the sink
(``CONTROLFEED_CLICKHOUSE_URL``) and ``controlfeed_reader``, whose profile is
read-only (``readonly=1``: no insert, no DDL, no settings), for ``controlfeed
query`` and the console (``CONTROLFEED_CLICKHOUSE_READ_URL``). Root tag ``<yandex>`` is read
by 18.16 (Debian's) and by current releases alike, so a current ``clickhouse``
binary on PATH runs with the same files.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from streams.devtools.stack.private import ensure_password, private_dir
from streams.devtools.stack.process import http_ready
from streams.devtools.stack.service import Service
from streams.devtools.stack.tools import find_program

__all__ = ["READER", "WRITER", "ClickHouseService"]

WRITER = "controlfeed_writer"
"""The local server's user that the sink writes as."""
READER = "controlfeed_reader"
"""The local server's read-only user (query, the console)."""

_CONFIG = """<?xml version="1.0"?>
<!-- Written by controlfeed stack; edits are overwritten at the next start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>{home}/logs/clickhouse-server.log</log>
        <errorlog>{home}/logs/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{tcp_port}</tcp_port>
    <http_port>{http_port}</http_port>
    <path>{home}/data/</path>
    <tmp_path>{home}/tmp/</tmp_path>
    <user_files_path>{home}/user_files/</user_files_path>
    <format_schema_path>{home}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>536870912</mark_cache_size>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
"""

_USERS = """<?xml version="1.0"?>
<!-- Written by controlfeed stack; edits are overwritten at the next start. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
        <readonly>
            <readonly>1</readonly>
            <max_memory_usage>4000000000</max_memory_usage>
        </readonly>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <controlfeed_writer>
            <password_sha256_hex>{writer_sha256}</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </controlfeed_writer>
        <controlfeed_reader>
            <password_sha256_hex>{reader_sha256}</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>readonly</profile>
            <quota>default</quota>
        </controlfeed_reader>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries><errors>0</errors><result_rows>0</result_rows>
                <read_rows>0</read_rows><execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"""


class ClickHouseService(Service):
    """A ClickHouse server on 127.0.0.1, reached over the native protocol."""

    name = "clickhouse"
    marker = "clickhouse"
    ready_timeout = 60.0

    @property
    def ports(self) -> list[int]:
        return [self.settings.clickhouse_tcp_port, self.settings.clickhouse_http_port]

    @property
    def port_setting(self) -> str:
        return "CONTROLFEED_CLICKHOUSE_TCP_PORT"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.clickhouse_tcp_port}"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "clickhouse-server.log"

    def _binary(self) -> list[str]:
        """``clickhouse-server`` (Debian) or ``clickhouse server`` (current single binary)."""
        if not shutil.which("clickhouse-server") and shutil.which("clickhouse"):
            return [str(find_program("clickhouse", "clickhouse-server")), "server"]
        return [str(find_program("clickhouse-server", "clickhouse-server"))]

    def check_tools(self) -> None:
        self._binary()

    def prepare(self) -> None:
        for sub in ("data", "tmp", "user_files", "format_schemas", "logs"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        (self.home / "config.xml").write_text(
            _CONFIG.format(
                home=self.home,
                tcp_port=self.settings.clickhouse_tcp_port,
                http_port=self.settings.clickhouse_http_port,
            )
        )
        private_dir(self.credentials)
        digests = {
            f"{kind}_sha256": hashlib.sha256(
                ensure_password(self.password_file(user)).encode()
            ).hexdigest()
            for kind, user in (("writer", WRITER), ("reader", READER))
        }
        (self.home / "users.xml").write_text(_USERS.format(**digests))

    @property
    def credentials(self) -> Path:
        """The folder of the pipeline users' password files."""
        return self.home / "credentials"

    def password_file(self, user: str) -> Path:
        """The file holding ``user``'s password (``WRITER`` or ``READER``)."""
        return self.credentials / f"{user}.password"

    def url(self, user: str, database: str = "default") -> str:
        """The native URL of ``user`` on this server (no password: see ``password_file``)."""
        return f"clickhouse://{user}@127.0.0.1:{self.settings.clickhouse_tcp_port}/{database}"

    def command(self) -> list[str]:
        return [*self._binary(), f"--config-file={self.home / 'config.xml'}"]

    def probe(self) -> bool:
        return http_ready(f"http://127.0.0.1:{self.settings.clickhouse_http_port}/ping", b"Ok.")
