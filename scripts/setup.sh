#!/usr/bin/env bash
# Installs everything controlfeed needs on this machine; safe to repeat (a warm
# machine skips every step that is done). Called by `make setup`, and so by
# both README commands (`make demo`, `make test`).
#
#   1. Debian packages: clickhouse-server and clickhouse-client (18.16),
#      prometheus (with promtool), prometheus-alertmanager (with amtool),
#      docker-compose (validates docker/compose.yaml with no daemon),
#      chromium and a Chinese font (the console's browser tests), Java 17
#      and Maven if absent.
#   2. A virtualenv in .venv with the project and its dev extras (reinstalled
#      only when pyproject.toml changes).
#   3. The pinned Kafka release from Maven Central into ~/.cache/controlfeed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 2; }

# --- 1. Debian packages -------------------------------------------------------
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
[ -x /usr/sbin/clickhouse-server ] || command -v clickhouse-server >/dev/null \
  || command -v clickhouse >/dev/null || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null || command -v clickhouse >/dev/null \
  || need+=(clickhouse-client)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null \
  || need+=(prometheus-alertmanager)  # the local stack's Alertmanager and amtool
command -v docker-compose >/dev/null || need+=(docker-compose)  # validates docker/compose.yaml
command -v chromium >/dev/null || need+=(chromium)  # the console's browser tests (Playwright)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)  # 中文 in them
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    die "need root to install ${need[*]}: run 'apt-get install --no-install-recommends ${need[*]}' as root, then retry"
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >/dev/null
  # policy-rc.d may refuse to start the packaged daemons; we run our own instances anyway.
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get could not install ${need[*]}; run it by hand to see why"
fi

# --- 2. Python virtualenv -----------------------------------------------------
python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python=$candidate; break
  fi
done
[ -n "$python" ] || die "Python 3.11 or newer is required (apt-get install python3 python3-venv)"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($python --version)"
  "$python" -m venv .venv || die "could not create .venv (apt-get install python3-venv)"
fi
stamp=.venv/.controlfeed-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi

# --- 3. Kafka release ----------------------------------------------------------
.venv/bin/controlfeed stack fetch
