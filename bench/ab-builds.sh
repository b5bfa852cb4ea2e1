#!/usr/bin/env bash
# A/B of two kvs builds on this machine, taking turns, to tell a regression from run-to-run noise
# (used for refactors that must not change speed; results quoted in BENCHMARKS.md).
#
#   bash bench/ab-builds.sh OLD_CHECKOUT NEW_CHECKOUT [ROUNDS=3] [SECONDS=5]
#
# Each checkout must be built (npm ci && npm run build). Per round and build: a fresh server on a
# fresh lmdb store (durable), 10,000 keys of 100 bytes preloaded over RESP, then wrk -t1 -c50 GET
# and PUT over those keys for SECONDS each, and redis-benchmark -c50 GET and SET at -P1 and -P16
# (a fixed request count each, scaled by SECONDS/5: GET 100k / 400k, SET 30k / 60k). Prints one
# markdown table row per round and build. Needs wrk, redis-benchmark, curl.
set -euo pipefail
old=$(cd "$1" && pwd)
new=$(cd "$2" && pwd)
rounds=${3:-3}
seconds=${4:-5}
# shellcheck source=lib/ab-common.sh
source "$(dirname "$0")/lib/ab-common.sh"

cat > "$work/get.lua" <<'EOF'
request = function()
  return wrk.format("GET", string.format("/v1/kv/key:%012d", math.random(0, 9999)))
end
EOF
cat > "$work/put.lua" <<EOF
local body = string.rep("x", 100)
request = function()
  return wrk.format("PUT", string.format("/v1/kv/key:%012d", math.random(0, 9999)),
    { ["Authorization"] = "Bearer $token", ["Content-Type"] = "text/plain" }, body)
end
EOF

wrk_rate() { wrk -t1 -c50 -d"${seconds}s" -s "$1" "$2" | awk '/Requests\/sec/ {printf "%d", $2}'; }
resp_rate() { # $1 port, $2 test, $3 pipeline, $4 requests at SECONDS=5
  redis-benchmark -p "$1" -a "$token" -c 50 -d 100 -r 10000 -n $(($4 * seconds / 5)) -P "$3" -t "$2" --csv -q 2>/dev/null |
    awk -F'","' 'NR==2 {gsub(/"/, "", $2); printf "%d", $2}'
}

echo "| round | build | HTTP GET/s | HTTP PUT/s | RESP GET -P1 | RESP GET -P16 | RESP SET -P1 | RESP SET -P16 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq 1 "$rounds"); do
  for build in old new; do
    dir=$old
    [ "$build" = new ] && dir=$new
    data="$work/data-$round-$build"
    mkdir -p "$data"
    echo "$token admin" > "$work/tokens"
    port=$(free_port)
    resp=$(free_port)
    node "$dir/bin/kvs.js" serve --data "$data" --port "$port" --resp-port "$resp" \
      --token-file "$work/tokens" > "$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
      curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break
      sleep 0.05
    done
    redis-benchmark -p "$resp" -a "$token" -c 50 -d 100 -r 10000 -n 30000 -t set -q > /dev/null 2>&1
    get=$(wrk_rate "$work/get.lua" "http://127.0.0.1:$port")
    put=$(wrk_rate "$work/put.lua" "http://127.0.0.1:$port")
    rget1=$(resp_rate "$resp" get 1 100000)
    rget16=$(resp_rate "$resp" get 16 400000)
    rset1=$(resp_rate "$resp" set 1 30000)
    rset16=$(resp_rate "$resp" set 16 60000)
    echo "| $round | $build | $get | $put | $rget1 | $rget16 | $rset1 | $rset16 |"
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    rm -rf "$data"
  done
done
