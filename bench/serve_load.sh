#!/usr/bin/env bash
# Load benchmark of `s3rec serve` on loopback: starts the server on MODEL, sends
# RATE requests/s (k=10, histories from HISTORIES) for SECONDS, prints p50/p99 and
# throughput, stops the server with SIGTERM.
# usage: bench/serve_load.sh MODEL [HISTORIES] ; environment: BUILD, RATE (1000),
#        DURATION (20 s), CONNECTIONS (8), SERVER_THREADS (0: one per core, serve's default),
#        PORT (18080), JSON (out file),
#        SERVE_ARGS (more server options, e.g. "--index=hnsw"; the server's start-up, index
#        loading or building included, is waited for, up to 30 minutes)
set -euo pipefail
MODEL=${1:?usage: serve_load.sh MODEL [HISTORIES]}
HISTORIES=${2:-}
BUILD=${BUILD:-build}
PORT=${PORT:-18080}
# shellcheck disable=SC2086
"$BUILD/s3rec" serve --model="$MODEL" --port="$PORT" --threads="${SERVER_THREADS:-0}" ${SERVE_ARGS:-} &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 18000); do
  kill -0 $SERVER 2>/dev/null || { echo "serve_load.sh: the server exited" >&2; exit 1; }
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
"$BUILD/bench_serve" --port="$PORT" --rate="${RATE:-1000}" --seconds="${DURATION:-20}" \
  --connections="${CONNECTIONS:-8}" ${HISTORIES:+--histories="$HISTORIES"} ${JSON:+--json="$JSON"}
