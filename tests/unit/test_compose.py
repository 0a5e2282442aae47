"""docker/compose.yaml agrees with the code: setting names, ports, versions, secrets.

The file's syntax is checked by a real validator (Debian's docker-compose) in
``tests/integration/test_compose_config.py``; the image and its build context in
``test_docker_image.py``. Nothing here needs a service.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from streams.devtools.stack.kafka import kafka_version
from streams.devtools.stack.prometheus import PROMETHEUS_CONFIG
from streams.kafka.acls import PRINCIPALS
from streams.settings import PROJECT_ROOT, Settings

DOCKER = PROJECT_ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
CLIENTS = ("worker", "console", "kafka-init")
"""The services built from the controlfeed image that talk to Kafka."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def _published(service: dict[str, Any]) -> dict[int, str]:
    """Host port -> the host address it is published on ('' for every address)."""
    found = {}
    for spec in service.get("ports", []):
        parts = str(spec).split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        found[int(parts[-2] if len(parts) >= 2 else parts[-1])] = host_ip
    return found


def _listeners(value: str) -> dict[str, str]:
    """``NAME://host:port,...`` as {NAME: host:port}."""
    return dict(item.split("://") for item in value.split(","))


def _secret_paths(service: dict[str, Any]) -> set[str]:
    """Where the service's secrets appear inside its container."""
    paths = set()
    for secret in service.get("secrets", []):
        if isinstance(secret, str):
            paths.add(f"/run/secrets/{secret}")
        else:
            target = secret.get("target", secret["source"])
            paths.add(target if target.startswith("/") else f"/run/secrets/{target}")
    return paths


# ------------------------------------------------------------------ settings


def test_every_controlfeed_variable_is_a_setting(services: dict[str, Any]) -> None:
    fields = {f"CONTROLFEED_{name.upper()}" for name in Settings.model_fields}
    used = {
        k
        for svc in services.values()
        for k in svc.get("environment", {})
        if k.startswith("CONTROLFEED_")
    }

    assert used, "the worker should be configured through CONTROLFEED_* variables"
    assert used <= fields, f"not settings: {sorted(used - fields)}"


def test_every_secret_a_service_names_is_declared(
    services: dict[str, Any], compose: dict[str, Any]
) -> None:
    for name, service in services.items():
        for secret in service.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            assert source in compose["secrets"], f"{name} uses undeclared secret {source}"


def test_every_file_setting_points_at_a_secret_of_its_service(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            if str(value).startswith("/run/secrets/"):
                assert value in _secret_paths(service), f"{name}: {key}={value} is not mounted"


def test_every_secret_file_is_made_by_the_generator(compose: dict[str, Any]) -> None:
    generator = (DOCKER / "secrets" / "generate.sh").read_text()

    for name, secret in compose["secrets"].items():
        path = secret["file"]
        assert path.startswith("./secrets/"), f"{name}: {path} is outside docker/secrets"
        stem = path.removeprefix("./secrets/")
        made = stem in generator or stem.removeprefix("kafka_").removesuffix("_password") in (
            PRINCIPALS
        )
        assert made, f"docker/secrets/generate.sh does not make {stem}"


def test_the_secret_files_are_never_committed() -> None:
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()

    assert "docker/secrets/*" in ignored and "docker/.env" in ignored
    assert "!docker/secrets/generate.sh" in ignored


# --------------------------------------------------------------------- Kafka


def test_kafka_runs_the_pinned_release(services: dict[str, Any]) -> None:
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version()}"
    assert services["kafka-users"]["image"] == services["kafka"]["image"]
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_kafka_listens_inside_for_services_and_on_localhost_for_the_host(
    services: dict[str, Any], defaults: Settings
) -> None:
    kafka, env = services["kafka"], services["kafka"]["environment"]
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    internal_port = advertised["INTERNAL"].split(":")[1]

    assert advertised == {"INTERNAL": f"kafka:{internal_port}",
                          "EXTERNAL": f"localhost:{defaults.kafka_port}"}  # fmt: skip
    assert _published(kafka) == {defaults.kafka_port: "127.0.0.1"}
    external = _listeners(env["KAFKA_LISTENERS"])["EXTERNAL"].split(":")[1]
    assert kafka["ports"] == [f"127.0.0.1:{defaults.kafka_port}:{external}"]
    for name in CLIENTS:
        bootstrap = services[name]["environment"]["CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS"]
        assert bootstrap == f"kafka:{internal_port}", name


def test_kafka_speaks_sasl_ssl_to_clients_and_plaintext_only_to_its_own_controller(
    services: dict[str, Any],
) -> None:
    env = services["kafka"]["environment"]
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))

    assert protocols == {"CONTROLLER": "PLAINTEXT", "INTERNAL": "SASL_SSL", "EXTERNAL": "SASL_SSL"}
    assert _listeners(env["KAFKA_LISTENERS"])["CONTROLLER"].startswith("127.0.0.1:")
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    # Its own inter-broker connections verify its certificate: without a truststore
    # of the CA the broker stops at start (PKIX path building failed).
    assert env["KAFKA_SSL_TRUSTSTORE_LOCATION"] == "/run/secrets/kafka_ca"
    assert env["KAFKA_SSL_KEYSTORE_LOCATION"] == "/run/secrets/kafka_broker"


def test_kafka_authorizes_with_acls_and_admin_as_super_user(services: dict[str, Any]) -> None:
    env = services["kafka"]["environment"]

    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"].split(";") == ["User:admin", "User:ANONYMOUS"]
    assert "topics acls --apply" in " ".join(services["kafka-init"]["command"])


def test_the_setup_script_makes_a_scram_user_of_every_principal(
    services: dict[str, Any],
) -> None:
    script = (DOCKER / "kafka" / "bin" / "kafka-setup.sh").read_text()
    [line] = [x for x in script.splitlines() if x.startswith("PRINCIPALS=(")]

    assert tuple(re.findall(r"\w+", line.split("=", 1)[1].split("#")[0])) == PRINCIPALS
    for principal in PRINCIPALS:
        assert f"kafka_{principal}_password" in services["kafka"]["secrets"]


@pytest.mark.parametrize(
    ("service", "principal"),
    [("worker", "worker"), ("console", "console"), ("kafka-init", "admin")],
)
def test_each_client_is_its_own_principal_over_sasl_ssl(
    services: dict[str, Any], service: str, principal: str
) -> None:
    env = services[service]["environment"]

    assert env["CONTROLFEED_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["CONTROLFEED_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["CONTROLFEED_KAFKA_USERNAME"] == principal
    assert env["CONTROLFEED_KAFKA_PASSWORD_FILE"] == f"/run/secrets/kafka_{principal}_password"
    assert env["CONTROLFEED_KAFKA_CA_FILE"] == "/run/secrets/kafka_ca"


# ---------------------------------------------------------------- ClickHouse


def test_clickhouse_ports_match_the_settings(services: dict[str, Any], defaults: Settings) -> None:
    published = _published(services["clickhouse"])

    assert {defaults.clickhouse_tcp_port, defaults.clickhouse_http_port} <= set(published)
    assert set(published.values()) == {"127.0.0.1"}


@pytest.mark.parametrize(
    ("service", "user", "setting"),
    [("worker", "writer", "CLICKHOUSE"), ("console", "reader", "CLICKHOUSE_READ")],
)
def test_the_sink_writes_as_the_writer_and_the_console_reads_as_the_reader(
    services: dict[str, Any], defaults: Settings, service: str, user: str, setting: str
) -> None:
    env = services[service]["environment"]
    users = (DOCKER / "clickhouse" / "users.d" / "controlfeed.xml").read_text()
    generator = (DOCKER / "secrets" / "generate.sh").read_text()

    url = env[f"CONTROLFEED_{setting}_URL"]
    assert (
        url
        == f"clickhouse://controlfeed_{user}@clickhouse:{defaults.clickhouse_tcp_port}/controlfeed"
    )
    assert env[f"CONTROLFEED_{setting}_PASSWORD_FILE"] == f"/run/secrets/clickhouse_{user}_password"
    assert f"<controlfeed_{user}>" in users
    assert (
        f"<controlfeed_{user}><password_sha256_hex>$(hash clickhouse_{user}_password)" in generator
    )


def test_the_console_has_no_writer_credentials(services: dict[str, Any]) -> None:
    env = services["console"]["environment"]

    assert "CONTROLFEED_CLICKHOUSE_URL" not in env
    assert "clickhouse_writer_password" not in services["console"]["secrets"]


def test_clickhouse_mounts_the_users_and_their_password_hashes(services: dict[str, Any]) -> None:
    clickhouse = services["clickhouse"]

    assert any(v.startswith("./clickhouse/users.d/controlfeed.xml:/etc/clickhouse-server/users.d/")
               for v in clickhouse["volumes"])  # fmt: skip
    assert any(p.startswith("/etc/clickhouse-server/users.d/") for p in _secret_paths(clickhouse))


# ------------------------------------------------------------ workers, console


def test_workers_scale_with_no_host_port(services: dict[str, Any]) -> None:
    assert "ports" not in services["worker"]
    assert "container_name" not in services["worker"]


def test_the_worker_gets_a_pseudonym_key_and_serves_metrics_beyond_its_container(
    services: dict[str, Any], compose: dict[str, Any]
) -> None:
    worker = services["worker"]
    env = worker["environment"]

    assert env["CONTROLFEED_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 (inside a container)
    key_file = env["CONTROLFEED_PSEUDONYM_KEY_FILE"]
    assert key_file == "/run/secrets/pseudonym_key" and "pseudonym_key" in worker["secrets"]
    assert "pseudonym_key" in compose["secrets"]


@pytest.mark.parametrize("service", ["worker", "console"])
def test_the_data_dir_is_a_volume(services: dict[str, Any], service: str) -> None:
    data_dir = services[service]["environment"]["CONTROLFEED_DATA_DIR"]

    assert any(v.split(":")[1] == data_dir for v in services[service]["volumes"])


def test_the_console_serves_tls_beyond_its_container(
    services: dict[str, Any], defaults: Settings
) -> None:
    console = services["console"]
    env = console["environment"]

    assert console["command"] == ["controlfeed", "console"]
    assert env["CONTROLFEED_CONSOLE_HOST"] == "0.0.0.0"  # noqa: S104 (inside a container)
    assert {env["CONTROLFEED_CONSOLE_TLS_CERT"], env["CONTROLFEED_CONSOLE_TLS_KEY"]} <= (
        _secret_paths(console)
    )
    assert int(env["CONTROLFEED_CONSOLE_PORT"]) == defaults.console_port
    assert defaults.console_port in _published(console)


# ------------------------------------------------- Prometheus, Alertmanager, Grafana


def test_prometheus_finds_the_workers_by_dns_where_they_serve_metrics(
    services: dict[str, Any], defaults: Settings
) -> None:
    worker_port = int(services["worker"]["environment"]["CONTROLFEED_METRICS_PORT"])
    scrape = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]
    [job] = [j for j in scrape if j["job_name"] == "controlfeed-worker"]

    assert worker_port == defaults.metrics_port
    assert job["dns_sd_configs"] == [
        {"names": ["worker"], "type": "A", "port": worker_port, "refresh_interval": "15s"}
    ]
    assert defaults.prometheus_port in _published(services["prometheus"])
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]


def test_prometheus_alerts_the_alertmanager_service(services: dict[str, Any]) -> None:
    alerting = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["alerting"]["alertmanagers"]
    targets = [t for m in alerting for sc in m["static_configs"] for t in sc["targets"]]
    listen = next(a for a in services["alertmanager"]["command"] if "web.listen-address" in a)

    assert targets == [f"alertmanager:{listen.rsplit(':', 1)[1]}"]
    assert "./alertmanager:/etc/alertmanager:ro" in services["alertmanager"]["volumes"]


def test_alertmanager_gets_the_secret_files_its_config_reads(services: dict[str, Any]) -> None:
    config = (DOCKER / "alertmanager" / "alertmanager.yml").read_text()
    files = set(re.findall(r"(?:password_file|credentials_file): (\S+)", config))

    assert files and files <= _secret_paths(services["alertmanager"])


def test_grafana_mounts_the_provisioning_and_the_dashboard(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    provider = yaml.safe_load(
        (DOCKER / "grafana" / "provisioning" / "dashboards" / "controlfeed.yml").read_text()
    )["providers"][0]

    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert (DOCKER / "grafana" / "dashboards" / "controlfeed.json").is_file()


def test_grafana_takes_its_admin_password_from_a_secret(services: dict[str, Any]) -> None:
    env = services["grafana"]["environment"]

    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] in _secret_paths(services["grafana"])
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env


@pytest.mark.parametrize("service", ["prometheus", "alertmanager"])
def test_services_without_a_login_are_published_on_loopback_only(
    services: dict[str, Any], service: str
) -> None:
    assert set(_published(services[service]).values()) == {"127.0.0.1"}
