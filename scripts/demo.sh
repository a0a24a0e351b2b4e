#!/usr/bin/env bash
# Builds the library and the C examples, starts a local nats-server on a free port, and runs
# the examples against it: connect, publish, subscribe, request/reply. Stops the server after.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-nats-server.sh
cargo build --locked
make -s -C examples-c
server=.venv/bin/nats-server
[ -x "$server" ] || server=nats-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
"$server" -a 127.0.0.1 -p "$port" >/dev/null 2>&1 &
server_pid=$!
pids=()
cleanup() { kill "${pids[@]}" "$server_pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
echo "== nats-server on $url"
bin=build/examples
echo "== demo: connect, subscribe, publish, request/reply in one program"
"$bin/demo" "$url"
echo "== sub + pub"
"$bin/sub" "$url" demo.mail 3 > build/sub.out & pids+=($!)
for _ in $(seq 200); do grep -q ready build/sub.out 2>/dev/null && break; sleep 0.05; done
"$bin/pub" "$url" demo.mail 3 "delivered: user@example.com"
wait "${pids[-1]}"; cat build/sub.out
echo "== reply + request"
"$bin/reply" "$url" demo.policy 2 > build/reply.out & pids+=($!)
for _ in $(seq 200); do grep -q ready build/reply.out 2>/dev/null && break; sleep 0.05; done
"$bin/request" "$url" demo.policy 2 "may I send?"
wait "${pids[-1]}"
echo "== a mail-policy service, found through discovery (\$SRV.PING) and asked"
"$bin/policy_service" "$url" serve 4 > build/policy.out & pids+=($!)
for _ in $(seq 200); do grep -q ready build/policy.out 2>/dev/null && break; sleep 0.05; done
"$bin/policy_service" "$url" ask alice@example.com bob@spam.example not-an-address
wait "${pids[-1]}"; tail -n +2 build/policy.out
echo "== all examples ran OK"
