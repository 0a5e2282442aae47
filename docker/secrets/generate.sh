#!/usr/bin/env bash
# Makes the secrets docker/compose.yaml mounts, in this folder (gitignored: never
# commit what it writes). Safe to repeat: it makes only what is missing, so to
# rotate one, remove its file and run it again (docs/deployment.md says what each
# rotation needs). Needs openssl and sha256sum.
#
#   bash docker/secrets/generate.sh            # then: docker compose -f docker/compose.yaml up -d
#
# What it writes (one compose secret per file):
#   pseudonym_key                   HMAC key of person_key (32 random bytes, hex)
#   kafka_ca.crt                    the CA every Kafka client trusts (CONTROLFEED_KAFKA_CA_FILE)
#   kafka_broker.pem                the broker's key and certificate (PEM keystore), for the
#                                   names kafka (compose network) and localhost (the host)
#   kafka_<principal>_password      SCRAM-SHA-512 password of admin, worker, producer,
#                                   console and downstream
#   console_tls.crt, console_tls.key  the console's HTTPS certificate (same CA) and key
#   grafana_tls.crt, grafana_tls.key  Grafana's HTTPS certificate and key
#   clickhouse_writer_password, clickhouse_reader_password
#   clickhouse_users.xml            the two users' SHA-256 password hashes (users.d)
#   grafana_admin_password
#   smtp_password, dispatch_webhook_token  placeholders: write the real values in
#   ca/ca.key                       the CA's private key: not mounted anywhere; keep it
#                                   offline, it signs new certificates
# and docker/.env (gitignored): the compose project name.
#
# Files are 0644 inside this 0700 folder: containers run as other users (Kafka
# 1000, ClickHouse 101, Grafana 472, controlfeed 10001) and compose bind-mounts
# the files as they are, so the folder, not the file, keeps other host users out.
set -euo pipefail
cd "$(dirname "$0")"
umask 022
chmod 700 .
mkdir -p ca && chmod 700 ca

say() { printf 'secrets: %s\n' "$*"; }
random() { openssl rand -hex "${1:-24}"; }
new() { [ ! -s "$1" ]; }

new pseudonym_key && { random 32 > pseudonym_key; say "made pseudonym_key"; }
for principal in admin worker producer console downstream; do
  new "kafka_${principal}_password" && random > "kafka_${principal}_password"
done
for name in clickhouse_writer_password clickhouse_reader_password grafana_admin_password; do
  new "$name" && { random > "$name"; say "made $name"; }
done
for name in smtp_password dispatch_webhook_token; do
  new "$name" && { echo "CHANGE-ME" > "$name"; say "$name is a placeholder: write the real one in"; }
done

# --- TLS: a CA, the broker's and the console's certificates ----------------------
if new ca/ca.key || new kafka_ca.crt; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=controlfeed CA" \
    -keyout ca/ca.key -out kafka_ca.crt 2>/dev/null
  chmod 600 ca/ca.key
  rm -f kafka_broker.pem console_tls.crt grafana_tls.crt  # signed by the old CA
  say "made a CA (ca/ca.key: keep it offline)"
fi
sign() {  # sign NAME CN SAN: NAME.key and NAME.crt signed by the CA
  local work; work=$(mktemp -d)
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$work/key" -out "$work/csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" > "$work/ext"
  openssl x509 -req -in "$work/csr" -CA kafka_ca.crt -CAkey ca/ca.key -CAcreateserial \
    -CAserial ca/serial -days 825 -extfile "$work/ext" -out "$work/crt" 2>/dev/null
  mv "$work/key" "$1.key" && mv "$work/crt" "$1.crt" && rm -rf "$work"
}
if new kafka_broker.pem; then
  sign ca/kafka_broker kafka "DNS:kafka,DNS:localhost,IP:127.0.0.1"
  cat ca/kafka_broker.key ca/kafka_broker.crt > kafka_broker.pem  # PKCS#8 key, then the cert
  rm -f ca/kafka_broker.key ca/kafka_broker.crt
  say "made kafka_broker.pem (kafka, localhost)"
fi
if new console_tls.crt || new console_tls.key; then
  sign console_tls console "DNS:console,DNS:localhost,IP:127.0.0.1"
  say "made console_tls.crt and .key (console, localhost)"
fi
if new grafana_tls.crt || new grafana_tls.key; then
  sign grafana_tls grafana "DNS:grafana,DNS:localhost,IP:127.0.0.1"
  say "made grafana_tls.crt and .key (grafana, localhost)"
fi

# --- ClickHouse users: hashes for the server, passwords for the clients ----------
hash() { printf '%s' "$(cat "$1")" | sha256sum | cut -d' ' -f1; }
cat > clickhouse_users.xml <<XML
<!-- Written by docker/secrets/generate.sh from the password files beside it. -->
<clickhouse>
  <users>
    <controlfeed_writer><password_sha256_hex>$(hash clickhouse_writer_password)</password_sha256_hex></controlfeed_writer>
    <controlfeed_reader><password_sha256_hex>$(hash clickhouse_reader_password)</password_sha256_hex></controlfeed_reader>
  </users>
</clickhouse>
XML

# --- docker/.env: read by compose from docker/ -----------------------------------
umask 077
cat > ../.env <<ENV
# Written by docker/secrets/generate.sh; gitignored. Compose reads it from docker/.
COMPOSE_PROJECT_NAME=controlfeed
ENV
chmod 644 -- * 2>/dev/null || true
chmod 755 generate.sh ca
chmod 700 ca . && chmod 600 ca/*
say "done: $(ls | grep -vc -e generate.sh -e README.md -e '^ca$') files in $(pwd)"
