"""The local secure broker's key material and users (``CONTROLFEED_STACK_SECURE``).

Called by ``streams.devtools.stack.kafka.KafkaService`` when it prepares a secure broker,
and by ``controlfeed stack env`` and the tests for a principal's client settings.
Everything lives under the broker's folder, made once and kept:

- ``tls/``: a local CA (``ca.pem``, its key) and the broker's certificate for
  127.0.0.1 and localhost signed by it (``broker.pem``: key and chain, the PEM
  keystore Kafka reads), made with ``openssl``;
- ``credentials/<principal>.password``: a random password per principal of
  ``streams.kafka.acls.PRINCIPALS``, the SCRAM users the broker is formatted with.

Folders are 0700 and files 0600: only this user reads them. Passwords are never
printed; ``client_settings`` points at their files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from streams.devtools.stack.private import ensure_password, private_dir, private_file
from streams.devtools.stack.tools import find_program
from streams.exceptions import StackError
from streams.kafka.acls import PRINCIPALS
from streams.settings import Settings

__all__ = ["LocalSecrets"]

_DAYS = "825"


class LocalSecrets:
    """The CA, the broker certificate and the principals' passwords of one broker folder."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.tls = home / "tls"
        self.credentials = home / "credentials"

    @property
    def ca_file(self) -> Path:
        """The CA certificate clients trust (``CONTROLFEED_KAFKA_CA_FILE``)."""
        return self.tls / "ca.pem"

    @property
    def keystore(self) -> Path:
        """The broker's PEM keystore: its private key, then its certificate and the CA's."""
        return self.tls / "broker.pem"

    def password_file(self, principal: str) -> Path:
        """The file holding ``principal``'s password (``CONTROLFEED_KAFKA_PASSWORD_FILE``)."""
        return self.credentials / f"{principal}.password"

    def password(self, principal: str) -> str:
        """``principal``'s password, for the broker's own configuration only."""
        return self.password_file(principal).read_text().strip()

    def ensure(self) -> None:
        """Make whatever is missing; raises ``StackError`` when openssl fails."""
        private_dir(self.home)
        private_dir(self.credentials)
        for principal in PRINCIPALS:
            ensure_password(self.password_file(principal))
        if not self.keystore.is_file():
            self._make_tls()

    def _make_tls(self) -> None:
        openssl = str(find_program("openssl", "openssl", extra_dirs=()))
        tls = private_dir(self.tls)
        ca_key, key, csr, cert = (tls / n for n in ("ca.key", "broker.key", "broker.csr",
                                                    "broker.crt"))  # fmt: skip
        san = tls / "san.cnf"
        san.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        steps = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
             "-out", str(self.ca_file), "-days", "3650", "-subj", "/CN=controlfeed local CA"],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
             str(csr), "-subj", "/CN=localhost"],
            [openssl, "x509", "-req", "-in", str(csr), "-CA", str(self.ca_file), "-CAkey",
             str(ca_key), "-CAcreateserial", "-out", str(cert), "-days", _DAYS, "-extfile",
             str(san)],
        ]  # fmt: skip
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, check=False,
                                    timeout=60)  # fmt: skip
            if result.returncode != 0:
                raise StackError(
                    f"kafka: openssl could not make the local TLS files: {result.stderr[-500:]}",
                    hint=f"Remove {tls} and retry; check that openssl works.",
                )
        private_file(self.keystore, key.read_text() + cert.read_text() + self.ca_file.read_text())
        for path in tls.iterdir():
            path.chmod(0o600)

    def client_settings(self, settings: Settings, principal: str) -> Settings:
        """``settings`` as ``principal`` would connect to this broker (SASL_SSL, SCRAM)."""
        return settings.model_copy(update={
            "kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_username": principal, "kafka_password": None,
            "kafka_password_file": self.password_file(principal), "kafka_ca_file": self.ca_file,
        })  # fmt: skip

    def client_env(self, principal: str) -> dict[str, str]:
        """The ``CONTROLFEED_KAFKA_*`` variables of ``client_settings`` (no password)."""
        return {
            "CONTROLFEED_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "CONTROLFEED_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "CONTROLFEED_KAFKA_USERNAME": principal,
            "CONTROLFEED_KAFKA_PASSWORD_FILE": str(self.password_file(principal)),
            "CONTROLFEED_KAFKA_CA_FILE": str(self.ca_file),
        }
