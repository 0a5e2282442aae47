"""Apache Kafka for the local stack: a pinned release, one KRaft node on loopback.

The release comes from Maven Central through ``docker/kafka/pom.xml`` (the
broker, the command-line tools and their runtime dependencies) into
``<cache_dir>/kafka-<version>/libs``, outside the work tree, so a second
checkout or a second run downloads nothing. The node is broker and controller
at once, formatted once with a cluster id kept beside its data, and creates no
topic by itself (``auto.create.topics.enable=false``): the pipeline declares
its topics.

With ``CONTROLFEED_STACK_SECURE`` the node lives in ``<data_dir>/kafka-secure``
(apart from the plaintext one) and its client listener speaks SASL_SSL only:
SCRAM-SHA-512 users per principal (formatted into the cluster's metadata), TLS
with a local CA (``streams.devtools.stack.kafka_secrets``), the standard KRaft authorizer
with no access for whoever has no ACL, and the ACLs of ``streams.kafka.acls``
applied as ``admin`` once it is ready. The controller listener stays plaintext
on 127.0.0.1 and its principal (``ANONYMOUS``) is a super user, as the broker
half of the node reaches its controller half through it: keep that port off
the network.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import ssl
import struct
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from streams.devtools.stack.kafka_secrets import LocalSecrets
from streams.devtools.stack.process import Daemon
from streams.devtools.stack.service import Service
from streams.devtools.stack.tools import checkout_file, find_program, require_java
from streams.exceptions import StackError
from streams.kafka import acls
from streams.kafka.acls import PRINCIPALS
from streams.kafka.clients import admin_client
from streams.settings import PROJECT_ROOT, Settings

__all__ = ["POM", "KafkaRelease", "KafkaService", "api_versions_answered", "kafka_version"]

POM = PROJECT_ROOT / "docker" / "kafka" / "pom.xml"
"""The Maven descriptor that pins the Kafka release."""

_MVN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}

_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by controlfeed stack; edits are overwritten at the next start. -->
<Configuration status="warn">
  <Appenders>
    <RollingFile name="server" fileName="${{sys:kafka.logs.dir}}/server.log"
                 filePattern="${{sys:kafka.logs.dir}}/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="{level}"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
"""


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version pinned by the ``kafka.version`` property of ``pom``."""
    root = ET.parse(checkout_file(pom)).getroot()  # noqa: S314 (our own checked-in file)
    node = root.find("m:properties/m:kafka.version", _MVN_NS)
    if node is None or not (node.text or "").strip():
        raise StackError(
            f"{pom} has no <kafka.version> property.",
            hint="Restore the file from the repository (`git checkout -- docker/kafka/pom.xml`).",
        )
    return (node.text or "").strip()


class KafkaRelease:
    """The jars of the pinned release in the cache; ``fetch`` fills it once."""

    def __init__(self, settings: Settings, pom: Path = POM) -> None:
        self.pom = pom
        self.version = kafka_version(pom)
        self.home = settings.cache_dir / f"kafka-{self.version}"
        """Cache folder of this version; ``libs/`` holds the jars."""

    @property
    def libs(self) -> Path:
        """Folder of every jar on the broker's class path."""
        return self.home / "libs"

    @property
    def complete(self) -> bool:
        """True once a fetch finished (a marker written last)."""
        return (self.home / ".complete").is_file()

    def classpath(self) -> str:
        """The java ``-cp`` value for the cached jars."""
        return str(self.libs / "*")

    def fetch(self) -> bool:
        """Download the release unless cached; True when it downloaded. Needs ``mvn``."""
        if self.complete:
            return False
        mvn = find_program("mvn", "maven", extra_dirs=())
        staging = self.home.with_name(self.home.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                str(mvn), "-q", "-B", "-f", str(self.pom),
                "dependency:copy-dependencies", "-DincludeScope=runtime",
                f"-DoutputDirectory={staging / 'libs'}",
            ],
            capture_output=True, text=True, check=False, timeout=1200,
        )  # fmt: skip
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-2000:]
            raise StackError(
                f"Maven could not fetch Kafka {self.version}:\n{output}",
                hint="Check that Maven Central is reachable, then run `controlfeed stack fetch`.",
            )
        shutil.rmtree(self.home, ignore_errors=True)
        staging.rename(self.home)
        (self.home / ".complete").write_text(self.version + "\n")
        return True


class KafkaService(Service):
    """A single-node KRaft Kafka listening on 127.0.0.1."""

    name = "kafka"
    marker = "kafka.Kafka"
    ready_timeout = 90.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.release = KafkaRelease(settings)
        self.secure = settings.stack_secure
        if self.secure:  # a node of its own: its users and ACLs live in its metadata
            self.home = settings.data_dir / "kafka-secure"
            self.daemon = Daemon(self.home / "pid", self.home / "logs" / "stdout.log",
                                 self.marker)  # fmt: skip
        self.secrets = LocalSecrets(self.home)
        """The secure node's CA, certificate and principals' passwords."""

    @property
    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "server.log"

    @property
    def config_path(self) -> Path:
        """The rendered ``server.properties``."""
        return self.home / "config" / "server.properties"

    def server_properties(self) -> dict[str, str]:
        """The broker configuration, from the settings."""
        port, ctl = self.settings.kafka_port, self.settings.kafka_controller_port
        client = "SASL_SSL" if self.secure else "PLAINTEXT"
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{ctl}",
            "listeners": f"{client}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
            "advertised.listeners": f"{client}://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": client,
            "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{client}:{client}",
            **(self._security_properties() if self.secure else {}),
            "log.dirs": str(self.home / "data"),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "delete.topic.enable": "true",
        }

    def _security_properties(self) -> dict[str, str]:
        """SASL_SSL with SCRAM, TLS from the local CA, the authorizer (module docstring)."""
        admin = self.secrets.password("admin")
        return {
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="admin" password="{admin}";'
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.secrets.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.secrets.ca_file),
            "ssl.client.auth": "none",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:admin;User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        }

    def check_tools(self) -> None:
        require_java()
        if not self.release.complete:
            find_program("mvn", "maven", extra_dirs=())
        if self.secure:
            find_program("openssl", "openssl", extra_dirs=())

    def prepare(self) -> None:
        self.release.fetch()
        if self.secure:
            self.secrets.ensure()
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={v}" for k, v in self.server_properties().items()]
        self.config_path.touch(mode=0o600)  # the secure node's holds the admin's password
        self.config_path.chmod(0o600)
        self.config_path.write_text("# Written by controlfeed stack.\n" + "\n".join(lines) + "\n")
        (self.config_path.parent / "log4j2.xml").write_text(_LOG4J2.format(level="INFO"))
        if not (self.home / "data" / "meta.properties").is_file():
            self._format_storage()

    def _format_storage(self) -> None:
        """Format the KRaft log directory once, with a cluster id kept beside it."""
        id_file = self.home / "cluster.id"
        if not id_file.is_file():
            raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            id_file.write_text(raw + "\n")
        result = subprocess.run(
            [
                str(require_java()), "-cp", self.release.classpath(),
                "-Dlog4j2.configurationFile=" + str(self.config_path.parent / "log4j2.xml"),
                "-Dkafka.logs.dir=" + str(self.home / "logs"),
                "kafka.tools.StorageTool", "format", "--ignore-formatted",
                # One argument: an id may begin with "-" (URL-safe base64), which argparse
                # would take for an option after a separate "-t".
                "--cluster-id=" + id_file.read_text().strip(), "-c", str(self.config_path),
                *self._scram_users(),
            ],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(
                f"kafka: formatting {self.home / 'data'} failed:\n{result.stdout}{result.stderr}",
                hint=f"If the folder holds data of another cluster, remove {self.home} and retry.",
            )

    def _scram_users(self) -> list[str]:
        """``--add-scram`` arguments: every principal a SCRAM user of the new cluster."""
        if not self.secure:
            return []
        return [arg for principal in PRINCIPALS for arg in (
            "--add-scram",
            f"SCRAM-SHA-512=[name={principal},password={self.secrets.password(principal)}]",
        )]  # fmt: skip

    def after_ready(self) -> None:
        """The secure node: the ACLs of ``streams.kafka.acls``, applied as ``admin``."""
        if self.secure:
            admin = self.secrets.client_settings(self.settings, "admin")
            acls.apply(admin_client(admin, "controlfeed-stack-acls", log_level=2), self.settings)

    def command(self) -> list[str]:
        heap = self.settings.kafka_heap
        return [
            str(require_java()), f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            "-Dkafka.logs.dir=" + str(self.home / "logs"),
            "-Dlog4j2.configurationFile=" + str(self.config_path.parent / "log4j2.xml"),
            "-cp", self.release.classpath(), "kafka.Kafka", str(self.config_path),
        ]  # fmt: skip

    def probe(self) -> bool:
        ca = self.secrets.ca_file if self.secure else None
        return api_versions_answered("127.0.0.1", self.settings.kafka_port, ca_file=ca)


def api_versions_answered(
    host: str, port: int, timeout: float = 2.0, ca_file: Path | None = None
) -> bool:
    """True when a Kafka broker at ``host:port`` answers an ApiVersions request without error.

    A KRaft broker enables request processing only once it is unfenced, so an
    answer means clients can use it. Raw bytes, not a client library: a probe
    runs many times during a start and must leave no socket behind. With
    ``ca_file`` it speaks TLS (a SASL listener answers ApiVersions before
    authentication).
    """
    client_id = b"controlfeed-stack-probe"
    # Request header v1 (api_key 18 = ApiVersions, version 0, correlation id 1), empty body.
    payload = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    try:
        with contextlib.ExitStack() as closing:
            sock = closing.enter_context(socket.create_connection((host, port), timeout=timeout))
            if ca_file is not None:
                context = ssl.create_default_context(cafile=str(ca_file))
                sock = closing.enter_context(context.wrap_socket(sock, server_hostname=host))
            sock.sendall(struct.pack(">i", len(payload)) + payload)
            header = _read_exactly(sock, 10)  # size, correlation id, error code
    except (OSError, ssl.SSLError):
        return False
    _size, correlation, error = struct.unpack(">iih", header)
    return bool(correlation == 1 and error == 0)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        data += chunk
    return data
