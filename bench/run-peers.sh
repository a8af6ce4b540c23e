#!/usr/bin/env bash
# Runs the side-by-side peers harness (../shared/peers) with nats-client's driver added next to
# async-nats, nats.go and the raw-socket baseline, all against the same nats-server in one run.
#
#   bench/run-peers.sh                 # every workload, REPS=3, then the fail-over trials
#   REPS=5 SKIP_RECONNECT=1 bench/run-peers.sh
#   BASELINE_DRIVER=/path/to/older/nats-client-peers bench/run-peers.sh
#                                      # also runs an older build as `nats-client-before`,
#                                      # for before/after ratios from one run
#                                      # (BASELINE_WORKLOADS=js-pub,js-pub-async,js-consume,js-failover
#                                      # for JetStream; default the core workloads)
#
# The shared harness directory is read-only, so it is copied to a scratch directory first.
# Prereqs (Debian): apt-get install -y nats-server golang-go golang-github-nats-io-go-nats-dev
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS_SRC="${PEERS_SRC:-$ROOT/../shared/peers}"
WORK="${PEERS_WORK:-/tmp/nats-client-peers}"

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p nats-client-peers
DRIVER="$ROOT/target/release/nats-client-peers"

mkdir -p "$WORK"
cp -r "$PEERS_SRC"/. "$WORK"/
chmod -R u+w "$WORK"
{
  grep -vE '^\s*(#|$)' "$PEERS_SRC/clients.conf"
  grep -vE '^\s*(#|$)' "$ROOT/bench/peers-clients.conf" | sed "s|@DRIVER@|$DRIVER|"
  if [ -n "${BASELINE_DRIVER:-}" ]; then
    echo "nats-client-before ${BASELINE_WORKLOADS:-pub,pubsub,reqrep,reconnect} $BASELINE_DRIVER"
  fi
} >"$WORK/clients.nats-client.conf"

cd "$WORK"
CLIENTS_FILE="$WORK/clients.nats-client.conf" ./run.sh "$@"
echo "results in $WORK/results" >&2
