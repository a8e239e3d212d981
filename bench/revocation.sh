#!/usr/bin/env bash
# The kill switch's costs (issue #10), side by side in one run:
#   check       the per-request revocation check with 100,000 live revocations: ns per check and
#               allocations (crates/tokengate-core/examples/revocation_check_cost.rs; target <= 1 µs)
#   throughput  two `tokengate dev` gateways (built-in echo upstream, one repeated token each, so
#               the verified-token cache hits and the revocation check is what differs), one with
#               REVOCATIONS live revocations, one with none; wrk against each, interleaved ROUNDS
#               times, medians; target: with / without >= 0.97
#   latency     revocation-to-deny across two gateway-only nodes on Postgres
#               (bench/revocation_latency.py; target p99 < 1 s), when PG_URL is reachable
# Results printed and written to bench/out/revocation.md.
#
# Environment: ROUNDS=5 DURATION=8 THREADS=2 CONNECTIONS=64 REVOCATIONS=100000
#              TOKENGATE_BIN=target/release/tokengate (built if missing)
#              PG_URL=${TOKENGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}  SKIP_LATENCY=0
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
REVOCATIONS=${REVOCATIONS:-100000}
PG_URL=${PG_URL:-${TOKENGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}}
SKIP_LATENCY=${SKIP_LATENCY:-0}
TOKENGATE_BIN=${TOKENGATE_BIN:-target/release/tokengate}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT="$HERE/out/revocation.md"
mkdir -p "$HERE/out"

ensure_commands wrk jq curl python3
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release -p tokengate)
start_bench_tmp tg-revocation-bench

# ------------------------------------------------------------------ check
log "revocation check cost"
CHECK=$(cd "$ROOT" && cargo run --quiet --release -p tokengate-core --example revocation_check_cost)
echo "$CHECK"

# ------------------------------------------------------------------ throughput
start_dev() { # start_dev NAME: sets DEV_<NAME> to its dev.json path
  local name=$1 dir="$TMP/$1" i
  "$BIN" dev --data-dir "$dir" --issuer-port 0 --gateway-port 0 --admin-port 0 >"$TMP/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  for ((i = 0; i < 600; i++)); do
    [[ -s "$dir/dev.json" ]] && jq -e '.gateway_url' "$dir/dev.json" >/dev/null 2>&1 && break
    sleep 0.2
  done
  [[ -s "$dir/dev.json" ]] || die "$name did not start"
}

token_of() { # token_of DEV_JSON
  local dev=$1
  curl -sf --cacert "$(jq -r .ca_cert "$dev")" "$(jq -r .authority "$dev")/oauth2/v2.0/token" \
    --data-urlencode grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r .confidential_client.client_id "$dev")" \
    --data-urlencode "client_secret=$(jq -r .confidential_client.client_secret "$dev")" \
    --data-urlencode "scope=$(jq -r .api.app_id_uri "$dev")/.default" | jq -er .access_token
}

entries_of() { # entries_of DEV_JSON: the node's tokengate_revocations_entries
  curl -sf "$(jq -r .admin_url "$1")/metrics" | awk '/^tokengate_revocations_entries /{print $2}'
}

start_dev without
start_dev with
# REVOCATIONS token revocations straight into the second store, in one transaction at the feed's
# next versions, as `revoke token` would write them one by one; its feed poll applies them.
python3 - "$TMP/with/tokengate.db" "$REVOCATIONS" <<'PY'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db, timeout=30)
now = int(time.time())
with c:
    head = c.execute("UPDATE feed_head SET version = version + ? RETURNING version", (n,)).fetchone()[0]
    c.executemany(
        "INSERT INTO revocations (version, kind, subject, tenant_id, detail, issued_before, actor, reason, created_at_ms, forget_after) "
        "VALUES (?, 'token', ?, NULL, '{}', ?, 'bench', NULL, ?, ?)",
        ((head - n + 1 + i, f"bench-uti-{i:08d}-AAAAAAAAAAAA", now + 1, now * 1000, now + 7200) for i in range(n)))
PY
for ((i = 0; i < 300; i++)); do
  [[ "$(entries_of "$TMP/with/dev.json")" == "$REVOCATIONS" ]] && break
  sleep 0.1
done
[[ "$(entries_of "$TMP/with/dev.json")" == "$REVOCATIONS" ]] || die "the node did not apply $REVOCATIONS revocations"
log "$REVOCATIONS revocations applied"

declare -A TOKEN URL
for n in without with; do
  TOKEN[$n]=$(token_of "$TMP/$n/dev.json")
  URL[$n]="$(jq -r .gateway_url "$TMP/$n/dev.json")$(jq -r .api.demo_route "$TMP/$n/dev.json")x"
  [[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN[$n]}" "${URL[$n]}")" == 200 ]] ||
    die "$n: the token does not pass"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer ${TOKEN[$n]}" "${URL[$n]}" >/dev/null
done
declare -A RPS
for ((r = 1; r <= ROUNDS; r++)); do
  for n in without with; do
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer ${TOKEN[$n]}" "${URL[$n]}")
    grep -q "Non-2xx" <<<"$out" && die "$n: non-2xx answers: $out"
    rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
    RPS[$n]="${RPS[$n]:-} $rps"
    log "round $r $n: $rps rps"
  done
done
# shellcheck disable=SC2086 # word splitting intended
MED_WITHOUT=$(median ${RPS[without]})
# shellcheck disable=SC2086
MED_WITH=$(median ${RPS[with]})
RATIO=$(awk -v a="$MED_WITH" -v b="$MED_WITHOUT" 'BEGIN { printf "%.3f", a / b }')
THROUGHPUT="gateway, repeated token, median of $ROUNDS x ${DURATION}s (wrk -t$THREADS -c$CONNECTIONS): none $MED_WITHOUT rps, $REVOCATIONS revocations $MED_WITH rps: ratio $RATIO (target >= 0.97)"
echo "$THROUGHPUT"

# ------------------------------------------------------------------ latency
LATENCY="latency: skipped"
if [[ "$SKIP_LATENCY" != 1 ]] && psql -X -q "$PG_URL" -c 'select 1' >/dev/null 2>&1; then
  LATENCY=$(python3 "$HERE/revocation_latency.py" --bin "$BIN" --pg "$PG_URL" --out "$TMP/latency.md")
  echo "$LATENCY"
fi

{
  echo "# Kill switch costs ($(date -u +%F), $("$BIN" --version | head -n1), $(git -C "$ROOT" rev-parse --short HEAD))"
  echo
  echo '```'
  echo "$CHECK"
  echo "$THROUGHPUT"
  echo "$LATENCY"
  echo '```'
} >"$OUT"
log "written $OUT"
