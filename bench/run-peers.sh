#!/usr/bin/env bash
# Runs the side-by-side peers harness with nats-client's driver added next to async-nats,
# nats.go and the raw-socket baseline, all against the same nats-server in one run.
#
# The harness is not part of this repository: PEERS_SRC names its directory (the one holding
# run.sh and clients.conf); without it the script says so and exits.
#
#   bench/run-peers.sh                 # every workload, REPS=3, then the fail-over trials
#   REPS=5 SKIP_RECONNECT=1 bench/run-peers.sh
#   BASELINE_DRIVER=/path/to/older/nats-client-peers bench/run-peers.sh
#                                      # also runs an older build as `nats-client-before`,
#                                      # for before/after ratios from one run
#                                      # (BASELINE_WORKLOADS=js-pub,js-pub-async,js-consume,js-failover
#                                      # for JetStream; default the core workloads)
#   RAW_MSGID=1 WORKLOADS=js-pub,js-pub-async bench/run-peers.sh
#                                      # also runs `raw-tcp-msgid`: the raw-socket baseline with
#                                      # bench/raw-msgid.patch, i.e. a Nats-Msg-Id header on every
#                                      # publish as nats-client sends (J9) -- the server's own
#                                      # ceiling for publishes that carry an id
#
# The harness directory may be read-only, so it is copied to a scratch directory first.
# Prereqs (Debian): apt-get install -y nats-server golang-go golang-github-nats-io-go-nats-dev
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS_SRC="${PEERS_SRC:-$ROOT/../shared/peers}"
WORK="${PEERS_WORK:-/tmp/nats-client-peers}"

if [ ! -f "$PEERS_SRC/run.sh" ] || [ ! -f "$PEERS_SRC/clients.conf" ]; then
  echo "run-peers.sh: needs the peers harness: set PEERS_SRC to its directory (with run.sh and clients.conf); none at $PEERS_SRC" >&2
  exit 2
fi

cargo build --release --manifest-path "$ROOT/Cargo.toml" -p nats-client-peers
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

if [ "${RAW_MSGID:-0}" = 1 ]; then
  # A separate copy of the raw driver with the id header (the patch reads RAW_MSGID at run time).
  rm -rf "$WORK/rust-bench-msgid"
  cp -r "$PEERS_SRC/rust-bench" "$WORK/rust-bench-msgid"
  chmod -R u+w "$WORK/rust-bench-msgid"
  (cd "$WORK/rust-bench-msgid" && git apply -p2 "$ROOT/bench/raw-msgid.patch")
  # Its own target directory, kept between runs (the copy is made afresh each time).
  cargo build --release --manifest-path "$WORK/rust-bench-msgid/Cargo.toml" --target-dir "$WORK/target-msgid"
  echo "raw-tcp-msgid js-pub,js-pub-async,js-consume env RAW_MSGID=1 target-msgid/release/rust-bench --client raw" \
    >>"$WORK/clients.nats-client.conf"
fi

cd "$WORK"
CLIENTS_FILE="$WORK/clients.nats-client.conf" ./run.sh "$@"
echo "results in $WORK/results" >&2
