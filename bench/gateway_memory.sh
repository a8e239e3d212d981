#!/usr/bin/env bash
# The gateway's memory bound (issue #13: RSS idle <= 50 MB, and <= 120 MB after 10 minutes at full
# load with 100,000 distinct tokens cached), on one `tokengate dev` node (built-in echo upstream,
# every decision recorded in the audit log):
#   idle   VmRSS once dev.json is written and the node has settled (5 s)
#   fetch  TOKENS distinct fresh access tokens from the node's own issuer
#          (bench/gateway/fetch_tokens.lua)
#   soak   wrk -tTHREADS -cCONNECTIONS for SOAK seconds, each wrk thread cycling through its own
#          slice of the tokens (bench/gateway/bearer.lua), VmRSS sampled every SAMPLE seconds
# Prints and writes bench/out/gateway_memory.md: RSS idle, after the fetch, peak and final during
# the soak; the verified-token cache's entries and capacity and the audit queue from /metrics;
# requests and answers other than 200.
#
# Environment: TOKENS=100000 SOAK=600 SAMPLE=10 THREADS=2 CONNECTIONS=64
#              TOKENGATE_BIN=target/release/tokengate (built if missing) TG_EXTRA_ARGS=
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

TOKENS=${TOKENS:-100000}
SOAK=${SOAK:-600}
SAMPLE=${SAMPLE:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
FETCH_CONNECTIONS=32 # read by fetch_tokens (lib.sh)
TOKENGATE_BIN=${TOKENGATE_BIN:-target/release/tokengate}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT="$HERE/out/gateway_memory.md"
mkdir -p "$HERE/out"

ensure_commands wrk jq curl
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release -p tokengate)
start_bench_tmp tg-memory-bench

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
metric() { curl -sf "$ADMIN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# shellcheck disable=SC2206 # word splitting intended: a list of arguments
EXTRA=(${TG_EXTRA_ARGS:-})
"$BIN" dev --data-dir "$TMP/tg" --issuer-port 0 --gateway-port 0 --admin-port 0 "${EXTRA[@]}" \
  >"$TMP/tokengate.log" 2>&1 </dev/null &
PID=$!
PIDS+=("$PID")
DEV="$TMP/tg/dev.json"
for ((i = 0; i < 600; i++)); do
  [[ -s "$DEV" ]] && jq -e '.gateway_url | strings' "$DEV" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || die "tokengate exited during start-up: $(tail -5 "$TMP/tokengate.log")"
  sleep 0.2
done
[[ -s "$DEV" ]] || die "tokengate did not write $DEV"
ADMIN=$(jq -er .admin_url "$DEV")
URL="$(jq -er .gateway_url "$DEV")$(jq -er .api.demo_route "$DEV")x"
TG_TOKEN_URL="$(jq -er .authority "$DEV")/oauth2/v2.0/token"
TG_BODY="grant_type=client_credentials&client_id=$(urlenc "$(jq -er .confidential_client.client_id "$DEV")")"
TG_BODY+="&client_secret=$(urlenc "$(jq -er .confidential_client.client_secret "$DEV")")"
TG_BODY+="&scope=$(urlenc "$(jq -er .api.app_id_uri "$DEV")/.default")"
sleep 5
RSS_IDLE=$(rss_mb "$PID")
log "idle RSS $RSS_IDLE MB; fetching $TOKENS tokens"

TOKFILE="$TMP/tokens"
fetch_tokens "$TOKENS" "$TOKFILE"
RSS_FETCH=$(rss_mb "$PID")
log "RSS after the fetch $RSS_FETCH MB; soaking ${SOAK}s"

WRK_TOKENS="$TOKFILE" WRK_THREADS="$THREADS" WRK_DURATION="$SOAK" \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SOAK}s" --timeout 10s -s "$HERE/gateway/bearer.lua" "$URL" \
  >"$TMP/wrk.out" 2>&1 &
WRK=$!
PIDS+=("$WRK")
PEAK=0 SAMPLES=""
for ((t = SAMPLE; t <= SOAK; t += SAMPLE)); do
  sleep "$SAMPLE"
  r=$(rss_mb "$PID")
  SAMPLES+="$t:$r "
  PEAK=$(awk -v a="$PEAK" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
done
wait "$WRK" || die "wrk failed: $(cat "$TMP/wrk.out")"
RSS_FINAL=$(rss_mb "$PID")
ENTRIES=$(metric tokengate_gateway_verified_cache_entries)
CAPACITY=$(metric tokengate_gateway_verified_cache_capacity)
QUEUE=$(metric tokengate_audit_queue_records)
REQUESTS=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
RPS=$(awk '/^Requests\/sec/ { print $2 }' "$TMP/wrk.out")
NON200=$(awk '/Non-2xx/ { print $NF }' "$TMP/wrk.out")
[[ -n "$REQUESTS" ]] || die "could not parse wrk output: $(cat "$TMP/wrk.out")"

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "met" : "MISSED") }'; }
{
  echo "# Gateway memory under load ($(date -u +%Y-%m-%d), $("$BIN" --version 2>/dev/null | head -n1))"
  echo
  # shellcheck disable=SC2016 # the single quotes are literal: $TG_EXTRA_ARGS expands inside them
  echo "\`TOKENS=$TOKENS SOAK=$SOAK SAMPLE=$SAMPLE THREADS=$THREADS CONNECTIONS=$CONNECTIONS bench/gateway_memory.sh\`${TG_EXTRA_ARGS:+ with TG_EXTRA_ARGS='$TG_EXTRA_ARGS'}"
  echo
  echo "| | MB | target |"
  echo "|---|---:|---|"
  echo "| RSS idle | $RSS_IDLE | <= 50: $(verdict "$RSS_IDLE" 50) |"
  echo "| RSS after fetching $TOKENS tokens | $RSS_FETCH | |"
  echo "| RSS peak during the ${SOAK}s soak | $PEAK | <= 120: $(verdict "$PEAK" 120) |"
  echo "| RSS at the end | $RSS_FINAL | <= 120: $(verdict "$RSS_FINAL" 120) |"
  echo
  echo "- $REQUESTS requests ($RPS req/s), answers other than 2xx: ${NON200:-0}"
  echo "- verified-token cache: $ENTRIES entries of $CAPACITY; audit queue at the end: $QUEUE records"
  echo "- RSS samples (seconds:MB): $SAMPLES"
} | tee "$OUT"
