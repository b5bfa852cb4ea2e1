#!/usr/bin/env bash
# A/B of two kvs builds on RESP GET, with the node:net peer in the same rounds: throughput and
# the server's CPU per GET, to tell a change in kvs's own cost from this machine's noise (used
# for the RESP GET fast path; results quoted in BENCHMARKS.md).
#
#   bash bench/ab-resp-get.sh OLD_CHECKOUT NEW_CHECKOUT [ROUNDS=3]
#
# Each checkout must be built (npm ci && npm run build); the peer is NEW_CHECKOUT's
# dist/bench/peers/node-net-resp-map.js. Per round and system: a fresh server (kvs on a fresh
# durable lmdb store), 10,000 keys of 100 bytes written by redis-benchmark -P 16 SET, then
# redis-benchmark -c 50 -r 10000 GET, 400,000 requests at -P 16 and 100,000 at -P 1. CPU is the
# server's user + system time from /proc/PID/stat around each, divided by the requests (all of
# its threads; for a GET nearly all of it is the main thread). Needs redis-benchmark, redis-cli.
set -euo pipefail
old=$(cd "$1" && pwd)
new=$(cd "$2" && pwd)
rounds=${3:-3}
# shellcheck source=lib/ab-common.sh
source "$(dirname "$0")/lib/ab-common.sh"
echo "$token admin" > "$work/tokens"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

measure() { # port pipeline requests auth...
  local port=$1 pipeline=$2 requests=$3
  shift 3
  local before after rate
  before=$(cpu_ticks "$server_pid")
  rate=$(redis-benchmark -p "$port" "$@" -c 50 -d 100 -r 10000 -n "$requests" -P "$pipeline" -t get --csv -q 2>/dev/null |
    awk -F'","' 'NR==2 {gsub(/"/, "", $2); printf "%d", $2}')
  after=$(cpu_ticks "$server_pid")
  printf "%s (%.1f us)" "$rate" "$(echo "($after - $before) * 1000000 / $ticks_per_second / $requests" | bc -l)"
}

echo "| round | build | GET -P 16, req/s (CPU per GET) | GET -P 1, req/s (CPU per GET) |"
echo "| --- | --- | --- | --- |"
for round in $(seq 1 "$rounds"); do
  for build in old new peer; do
    port=$(free_port)
    auth=(-a "$token")
    if [ "$build" = peer ]; then
      auth=()
      node "$new/dist/bench/peers/node-net-resp-map.js" --port "$port" > "$work/server.log" 2>&1 &
    else
      dir=$old
      [ "$build" = new ] && dir=$new
      mkdir -p "$work/data-$round-$build"
      node "$dir/bin/kvs.js" serve --data "$work/data-$round-$build" --port 0 --resp-port "$port" \
        --token-file "$work/tokens" > "$work/server.log" 2>&1 &
    fi
    server_pid=$!
    for _ in $(seq 100); do
      redis-cli -p "$port" ping > /dev/null 2>&1 && break
      sleep 0.1
    done
    redis-benchmark -p "$port" "${auth[@]}" -c 50 -d 100 -r 10000 -n 60000 -P 16 -t set -q > /dev/null 2>&1
    p16=$(measure "$port" 16 400000 "${auth[@]}")
    p1=$(measure "$port" 1 100000 "${auth[@]}")
    echo "| $round | $build | $p16 | $p1 |"
    kill "$server_pid"
    wait "$server_pid" 2> /dev/null || true
    server_pid=""
  done
done
