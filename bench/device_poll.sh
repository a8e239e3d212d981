#!/usr/bin/env bash
# Device-code flow under load, tokengate's issuer only (`tokengate dev`, SQLite WAL,
# synchronous=FULL). Each round, interleaved, in this order:
#   create    POST {authority}/oauth2/v2.0/devicecode for DURATION s (wrk, keep-alive HTTPS); every
#             answer is a new pending device code (a durable insert); the codes are kept
#   pending   each of those codes polled once (grant_type=urn:ietf:params:oauth:grant-type:
#             device_code): the first poll of a code is never too soon, so every answer is
#             authorization_pending; a store read each (the polling pace is in the node's memory,
#             nothing is written). A wrk thread stops when its codes are used up; the rate is
#             computed over each thread's own window (bench/device_poll.lua)
#   hot       HOT_CODES codes (set aside from the round's batch) polled in a loop for DURATION s,
#             as a client ignoring the interval would: after the first poll of each code every
#             answer is slow_down (the in-memory interval + 5 s, up to 60 s)
#   unknown   the same loop with device codes that do not exist (invalid_grant): the same request
#             path with nothing found: the reference for what reading a real code costs
# Medians, the answer mix and ratios are printed and written to bench/out/device_poll.md.
# PERFORMANCE.md has no target for these: they are measured and recorded.
#
# Usage: bench/device_poll.sh        (run from anywhere; root for apt-get installs)
# Environment:
#   ROUNDS=3 DURATION=10 THREADS=2 CONNECTIONS=32 HOT_CODES=64 WARMUP=3
#   TOKENGATE_BIN=target/release/tokengate   (relative to the repo root; with this default,
#                       `cargo build --release -p tokengate` runs first, a no-op when up to date)
#   KEEP_TMP=1          keep the temporary directory (server log, dev.json, wrk output)
#   DEV_ARGS="--device-code-starts-per-minute 1000000"   extra `tokengate dev` arguments; the
#                       default lifts the /devicecode budget (30 a minute per source address),
#                       which would otherwise answer the create phase 429. DEV_ARGS= for a build
#                       without the flag (patch its constants instead)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
HOT_CODES=${HOT_CODES:-64}
WARMUP=${WARMUP:-3}
KEEP_TMP=${KEEP_TMP:-0}
DEV_ARGS=${DEV_ARGS---device-code-starts-per-minute 1000000}
DEFAULT_BIN="target/release/tokengate"
TOKENGATE_BIN=${TOKENGATE_BIN:-$DEFAULT_BIN}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT_DIR="$HERE/out"
OUT_MD="$OUT_DIR/device_poll.md"
START_TIMEOUT=120

# shellcheck source=lib.sh
source "$HERE/lib.sh"

for v in ROUNDS DURATION THREADS CONNECTIONS HOT_CODES WARMUP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1 && DURATION >= 1 && THREADS >= 1 && HOT_CODES >= THREADS && CONNECTIONS >= THREADS)) ||
  die "ROUNDS, DURATION, THREADS must be >= 1; HOT_CODES and CONNECTIONS >= THREADS"

ensure_commands wrk openssl jq curl

if [[ "$TOKENGATE_BIN" == "$DEFAULT_BIN" ]]; then
  # always: a no-op when fresh, and the figures are then those of the work tree
  log "cargo build --release -p tokengate"
  (cd "$ROOT" && cargo build --release -p tokengate) || die "cargo build --release -p tokengate failed"
fi
[[ -x "$BIN" ]] || die "tokengate binary not found at $BIN"

start_bench_tmp tokengate-bench

# ---------------------------------------------------------------- tokengate
TG_VERSION=$("$BIN" --version 2>/dev/null | head -n1 || true)
TG_VERSION="${TG_VERSION:-unknown} ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo no-git)$( [[ -z $(git -C "$ROOT" status --porcelain -- ':(glob)crates/*/src/**' Cargo.toml Cargo.lock 2>/dev/null) ]] || echo "+uncommitted changes in crates/*/src"))"
log "starting $BIN dev"
# shellcheck disable=SC2086 # DEV_ARGS is a list of words
"$BIN" dev --data-dir "$TMP/tg" --issuer-port 0 --gateway-port 0 --admin-port 0 $DEV_ARGS \
  >"$TMP/tokengate.log" 2>&1 </dev/null &
TG_PID=$!
PIDS+=("$TG_PID")
deadline=$((SECONDS + START_TIMEOUT))
until [[ -s "$TMP/tg/dev.json" ]] && jq -e '.authority' "$TMP/tg/dev.json" >/dev/null 2>&1; do
  kill -0 "$TG_PID" 2>/dev/null || die "tokengate exited during start-up"
  ((SECONDS < deadline)) || die "tokengate did not write $TMP/tg/dev.json within ${START_TIMEOUT}s"
  sleep 0.2
done
DEV="$TMP/tg/dev.json"
AUTHORITY=$(jq -er '.authority' "$DEV") || die "dev.json: no authority"
CA=$(jq -er '.ca_cert' "$DEV") || die "dev.json: no ca_cert"
CLIENT_ID=$(jq -er '.public_client.client_id' "$DEV") || die "dev.json: no public_client.client_id"
APP_ID_URI=$(jq -er '.api.app_id_uri' "$DEV") || die "dev.json: no api.app_id_uri"
[[ "$AUTHORITY" == https://127.0.0.1:* ]] || die "tokengate authority is not on loopback: $AUTHORITY"
DEVICE_URL="${AUTHORITY%/}/oauth2/v2.0/devicecode"
TOKEN_URL="${AUTHORITY%/}/oauth2/v2.0/token"
CREATE_BODY="client_id=$(urlenc "$CLIENT_ID")&scope=$(urlenc "$APP_ID_URI/Demo.Read openid profile offline_access")"
POLL_BODY="grant_type=$(urlenc "urn:ietf:params:oauth:grant-type:device_code")&client_id=$(urlenc "$CLIENT_ID")"

post() { # post URL BODY -> "STATUS<tab>BODY"
  local out
  out=$(curl -sS --max-time 10 --cacert "$CA" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "$2" -w '\n%{http_code}' "$1" 2>&1) || { log "curl $1 failed: $out"; return 1; }
  printf '%s\t%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
deadline=$((SECONDS + 30))
until r=$(post "$DEVICE_URL" "$CREATE_BODY" 2>/dev/null) && [[ ${r%%$'\t'*} == 200 ]]; do
  kill -0 "$TG_PID" 2>/dev/null || die "tokengate exited during start-up"
  ((SECONDS < deadline)) || die "POST devicecode never answered 200: ${r:-}"
  sleep 0.5
done
# One code end to end: the answers the load expects, in order.
code=$(jq -er '.device_code' <<<"${r#*$'\t'}") || die "devicecode answer has no device_code: ${r:0:300}"
interval=$(jq -er '.interval' <<<"${r#*$'\t'}") || die "devicecode answer has no interval"
r=$(post "$TOKEN_URL" "$POLL_BODY&device_code=$(urlenc "$code")")
[[ ${r%%$'\t'*} == 400 && $(jq -r .error <<<"${r#*$'\t'}") == authorization_pending ]] || die "first poll: want 400 authorization_pending, got ${r:0:300}"
r=$(post "$TOKEN_URL" "$POLL_BODY&device_code=$(urlenc "$code")")
[[ ${r%%$'\t'*} == 400 && $(jq -r .error <<<"${r#*$'\t'}") == slow_down ]] || die "second poll at once: want 400 slow_down, got ${r:0:300}"
r=$(post "$TOKEN_URL" "$POLL_BODY&device_code=no-such-code")
[[ ${r%%$'\t'*} == 400 && $(jq -r .error <<<"${r#*$'\t'}") == invalid_grant ]] || die "unknown code: want 400 invalid_grant, got ${r:0:300}"
log "tokengate ready at $AUTHORITY (device code: pending, slow_down, unknown checked; interval ${interval}s)"

# ---------------------------------------------------------------- load helpers
# create_codes NAME SECONDS FILE -> prints POST devicecode req/s; the codes go to FILE
create_codes() {
  local name=$1 secs=$2 file=$3 out rps line
  rm -f "$file".*
  out=$(WRK_BODY="$CREATE_BODY" WRK_OUT="$file" WRK_PER_THREAD=100000000 \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s -s "$HERE/fetch_device_codes.lua" "$DEVICE_URL" 2>&1) ||
    die "$name: wrk failed: $out"
  printf '== %s\n%s\n' "$name" "$out" >>"$TMP/wrk.log"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  line=$(grep '^TGBENCH ' <<<"$out" || true)
  [[ -n "$rps" && -n "$line" ]] || die "$name: could not parse wrk output: $out"
  [[ $(sed -n 's/.* non200=\([0-9]*\).*/\1/p' <<<"$line") == 0 ]] || die "$name: non-200 answers from devicecode: $out"
  grep -q 'Socket errors' <<<"$out" && die "$name: socket errors: $out"
  cat "$file".* >"$file"
  printf '%s\n' "$rps"
}

# poll NAME FILE SECONDS ONCE EXPECT -> prints "rate pending slow_down other"
#   EXPECT: pending (every answer authorization_pending), pending+slow_down (no other answer),
#   invalid_grant (every answer invalid_grant)
poll() {
  local name=$1 file=$2 secs=$3 once=$4 expect=$5 out line kv_p kv_s kv_o kv_e rate first
  out=$(WRK_CODES="$file" WRK_THREADS="$THREADS" WRK_BODY="$POLL_BODY" WRK_ONCE="$once" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s -s "$HERE/device_poll.lua" "$TOKEN_URL" 2>&1) ||
    die "$name: wrk failed: $out"
  printf '== %s\n%s\n' "$name" "$out" >>"$TMP/wrk.log"
  line=$(grep '^TGBENCH ' <<<"$out" || true)
  [[ -n "$line" ]] || die "$name: could not parse wrk output: $out"
  kv() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
  kv_p=$(kv pending) kv_s=$(kv slow_down) kv_o=$(kv other) kv_e=$(kv errors) rate=$(kv rate)
  first=$(grep '^TGBENCH_FIRST_OTHER' <<<"$out" || true)
  [[ "$kv_e" == 0 ]] || die "$name: socket errors under load: $out"
  case "$expect" in
    pending) [[ "$kv_s" == 0 && "$kv_o" == 0 && "$kv_p" -gt 0 ]] || die "$name: want only authorization_pending, got pending=$kv_p slow_down=$kv_s other=$kv_o $first" ;;
    pending+slow_down) [[ "$kv_o" == 0 ]] || die "$name: unexpected answers (other=$kv_o): $first" ;;
    invalid_grant) [[ "$kv_p" == 0 && "$kv_s" == 0 && "$first" == *'"error":"invalid_grant"'* ]] || die "$name: want only invalid_grant, got pending=$kv_p slow_down=$kv_s $first" ;;
  esac
  awk -v r="$rate" 'BEGIN { if (r + 0 <= 0) exit 1 }' || die "$name: 0 answers/s: $out"
  printf '%s %s %s %s %s\n' "$rate" "$kv_p" "$kv_s" "$kv_o" "$(kv window_s)"
}

# fake codes: the shape of real ones (base64url, same length), never issued
make_fake() {
  local n=$1 len=$2 i
  for ((i = 0; i < n; i++)); do
    head -c 64 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' | cut -c1-"$len"
  done >"$TMP/fake.codes"
}
make_fake "$HOT_CODES" "${#code}"

# ---------------------------------------------------------------- measure
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
if ((WARMUP > 0)); then
  log "warm-up ${WARMUP}s per scenario (not counted)"
  create_codes warmup-create "$WARMUP" "$TMP/warmup.codes" >/dev/null
  head -n "$HOT_CODES" "$TMP/warmup.codes" >"$TMP/warmup.hot"
  poll warmup-hot "$TMP/warmup.hot" "$WARMUP" 0 pending+slow_down >/dev/null
  poll warmup-unknown "$TMP/fake.codes" "$WARMUP" 0 invalid_grant >/dev/null
fi

R_CREATE=() R_PENDING=() R_HOT=() R_UNKNOWN=() N_CODES=() W_PENDING=() HOT_MIX=()
for ((r = 1; r <= ROUNDS; r++)); do
  v=$(create_codes create "$DURATION" "$TMP/round$r.codes"); R_CREATE+=("$v")
  total=$(wc -l <"$TMP/round$r.codes")
  ((total > HOT_CODES + THREADS)) || die "round $r: only $total device codes created"
  head -n "$HOT_CODES" "$TMP/round$r.codes" >"$TMP/round$r.hot"
  tail -n +"$((HOT_CODES + 1))" "$TMP/round$r.codes" >"$TMP/round$r.once"
  N_CODES+=("$((total - HOT_CODES))")
  log "round $r/$ROUNDS devicecode (create) req/s: $v ($total codes)"

  read -r rate p s o w < <(poll pending "$TMP/round$r.once" "$DURATION" 1 pending)
  R_PENDING+=("$rate"); W_PENDING+=("$w")
  log "round $r/$ROUNDS pending polls/s: $rate (authorization_pending $p over ${w}s)"

  read -r rate p s o w < <(poll hot "$TMP/round$r.hot" "$DURATION" 0 pending+slow_down)
  R_HOT+=("$rate"); HOT_MIX+=("$p/$s")
  log "round $r/$ROUNDS hot polls/s: $rate (authorization_pending $p, slow_down $s)"

  read -r rate p s o w < <(poll unknown "$TMP/fake.codes" "$DURATION" 0 invalid_grant)
  R_UNKNOWN+=("$rate")
  log "round $r/$ROUNDS unknown-code polls/s: $rate"
done
# still answering correctly after the load
r=$(post "$DEVICE_URL" "$CREATE_BODY"); [[ ${r%%$'\t'*} == 200 ]] || die "devicecode failed after load: ${r:0:300}"
code=$(jq -r .device_code <<<"${r#*$'\t'}")
r=$(post "$TOKEN_URL" "$POLL_BODY&device_code=$(urlenc "$code")")
[[ $(jq -r .error <<<"${r#*$'\t'}") == authorization_pending ]] || die "poll failed after load: ${r:0:300}"
# the last hot code's interval: how far slow_down pushed it
last_hot=$(tail -n1 "$TMP/round$ROUNDS.hot")
r=$(post "$TOKEN_URL" "$POLL_BODY&device_code=$(urlenc "$last_hot")")
HOT_RETRY=$(jq -r '.error_description' <<<"${r#*$'\t'}" | sed -n 's/.*wait at least \([0-9]*\) seconds.*/\1/p')

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt() { [[ -n "$1" ]] && awk -v v="$1" 'BEGIN { printf "%.0f", v }' || echo "n/a"; }
M_CREATE=$(median "${R_CREATE[@]}")
M_PENDING=$(median "${R_PENDING[@]}")
M_HOT=$(median "${R_HOT[@]}")
M_UNKNOWN=$(median "${R_UNKNOWN[@]}")
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
FS=$(df -T "$TMP" | awk 'NR == 2 {print $2}')
CMD="ROUNDS=$ROUNDS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS HOT_CODES=$HOT_CODES WARMUP=$WARMUP bench/device_poll.sh"

LOAD_AFTER=$(cut -d" " -f1-3 /proc/loadavg)
mkdir -p "$OUT_DIR"
{
  echo "# Issuer: device-code polling"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $CPU; data on $FS"
  echo "- load average (1/5/15 min) before the measurements: $LOAD_BEFORE; after: $LOAD_AFTER (other work on the machine shows here)"
  echo "- command: \`$CMD\`"
  echo "- tokengate: $TG_VERSION; \`tokengate dev\` (SQLite, WAL, synchronous=FULL); public client; device code interval ${interval}s"
  echo "- load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s\` POST form, HTTPS keep-alive on 127.0.0.1; per round, in order: create (POST devicecode), pending (each new code polled once), hot ($HOT_CODES codes polled in a loop), unknown (codes never issued, same loop); $ROUNDS rounds; medians. Every poll answer is a 400 and is counted as served; any answer other than the expected ones, or a socket error, aborts the run"
  echo "- $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')"
  echo
  echo "| round | devicecode (create) req/s | pending polls/s | codes for the pending run (its window, s) | hot polls/s | hot answers pending / slow_down | unknown-code polls/s |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for ((i = 0; i < ROUNDS; i++)); do
    echo "| $((i + 1)) | $(fmt "${R_CREATE[$i]}") | $(fmt "${R_PENDING[$i]}") | ${N_CODES[$i]} (${W_PENDING[$i]}) | $(fmt "${R_HOT[$i]}") | ${HOT_MIX[$i]} | $(fmt "${R_UNKNOWN[$i]}") |"
  done
  echo "| **median** | **$(fmt "$M_CREATE")** | **$(fmt "$M_PENDING")** | | **$(fmt "$M_HOT")** | | **$(fmt "$M_UNKNOWN")** |"
  echo
  echo "| ratio (medians) | value |"
  echo "|---|---:|"
  echo "| pending polls / unknown-code polls (a found code vs none) | $(ratio "$M_PENDING" "$M_UNKNOWN") |"
  echo "| hot (slow_down) polls / unknown-code polls | $(ratio "$M_HOT" "$M_UNKNOWN") |"
  echo "| pending polls / devicecode creations | $(ratio "$M_PENDING" "$M_CREATE") |"
  echo
  echo "After the runs, one more slow_down on a hot code asked the client to wait ${HOT_RETRY:-?} s (each slow_down adds 5 s; the code lives 900 s)."
} >"$OUT_MD"

echo
printf '%-48s %12s\n' "median over $ROUNDS round(s)" "value"
printf '%-48s %12s\n' "devicecode (create) req/s" "$(fmt "$M_CREATE")"
printf '%-48s %12s\n' "pending polls/s (authorization_pending)" "$(fmt "$M_PENDING")"
printf '%-48s %12s\n' "hot polls/s (slow_down dominated)" "$(fmt "$M_HOT")"
printf '%-48s %12s\n' "unknown-code polls/s (no commit)" "$(fmt "$M_UNKNOWN")"
printf '%-48s %12s\n' "pending / unknown" "$(ratio "$M_PENDING" "$M_UNKNOWN")"
printf '%-48s %12s\n' "hot / unknown" "$(ratio "$M_HOT" "$M_UNKNOWN")"
echo
log "markdown written to ${OUT_MD#"$ROOT"/}"
