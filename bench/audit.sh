#!/usr/bin/env bash
# The audit log's costs (issue #11), measured in one run:
#   throughput  three `tokengate dev` gateways (built-in echo upstream, one repeated token each):
#               one recording every decision (hash-chained audit record per request, default
#               buffered durability), one recording every decision with `--audit-durability
#               strict` (no answer before its record's batch has committed), one recording none
#               (`--gateway-decisions none`); wrk against each, interleaved ROUNDS times, medians of
#               req/s and p99; targets: all / none >= 0.95; strict vs all reported
#   query       RECORDS gateway records bulk-loaded into a dev store on SQLite and (when PG_URL is
#               reachable) on Postgres, then filtered pages through the admin API
#               (bench/audit_query.py): p50/p99 per query, target p99 < 200 ms
#   tail        the live tail (server-sent events) followed while wrk drives decisions through the
#               recording gateway: delivery lag p50/p99 (bench/audit_tail_lag.py)
# Results printed and written to bench/out/audit.md.
#
# Environment: ROUNDS=5 DURATION=8 THREADS=2 CONNECTIONS=64 RECORDS=10000000 REPEAT=20
#              TOKENGATE_BIN=target/release/tokengate (built if missing) SKIP_THROUGHPUT=0 SKIP_QUERY=0
#              SKIP_QUERY_SQLITE=0 SKIP_TAIL=0
#              PG_URL=${TOKENGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
RECORDS=${RECORDS:-10000000}
REPEAT=${REPEAT:-20}
SKIP_THROUGHPUT=${SKIP_THROUGHPUT:-0}
SKIP_QUERY=${SKIP_QUERY:-0}
SKIP_QUERY_SQLITE=${SKIP_QUERY_SQLITE:-0}
SKIP_TAIL=${SKIP_TAIL:-0}
PG_URL=${PG_URL:-${TOKENGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}}
TOKENGATE_BIN=${TOKENGATE_BIN:-target/release/tokengate}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT="$HERE/out/audit.md"
mkdir -p "$HERE/out"

ensure_commands wrk jq curl python3 sqlite3
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release -p tokengate)
start_bench_tmp tg-audit-bench

start_dev() { # start_dev NAME [ARGS...]: waits for its dev.json
  local name=$1 dir="$TMP/$1" i
  shift
  rm -f "$dir/dev.json"
  "$BIN" dev --data-dir "$dir" --issuer-port 0 --gateway-port 0 --admin-port 0 "$@" >>"$TMP/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  eval "PID_$name=$!"
  for ((i = 0; i < 600; i++)); do
    [[ -s "$dir/dev.json" ]] && jq -e '.gateway_url' "$dir/dev.json" >/dev/null 2>&1 && break
    sleep 0.2
  done
  [[ -s "$dir/dev.json" ]] || die "$name did not start"
}

client_token() { # client_token DEV_JSON CLIENT_KEY SCOPE
  local dev=$1
  curl -sf --cacert "$(jq -r .ca_cert "$dev")" "$(jq -r .authority "$dev")/oauth2/v2.0/token" \
    --data-urlencode grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r ".$2.client_id" "$dev")" \
    --data-urlencode "client_secret=$(jq -r ".$2.client_secret" "$dev")" \
    --data-urlencode "scope=$3" | jq -er .access_token
}

# ------------------------------------------------------------------ throughput
THROUGHPUT="throughput: skipped"
if [[ "$SKIP_THROUGHPUT" != 1 ]]; then
  start_dev all --gateway-decisions all
  start_dev strict --gateway-decisions all --audit-durability strict
  start_dev none --gateway-decisions none
  declare -A TOKEN URL RPS P99
  for n in all strict none; do
    dev="$TMP/$n/dev.json"
    TOKEN[$n]=$(client_token "$dev" confidential_client "$(jq -r .api.app_id_uri "$dev")/.default")
    URL[$n]="$(jq -r .gateway_url "$dev")$(jq -r .api.demo_route "$dev")x"
    [[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN[$n]}" "${URL[$n]}")" == 200 ]] ||
      die "$n: the token does not pass"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer ${TOKEN[$n]}" "${URL[$n]}" >/dev/null
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for n in all strict none; do
      out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer ${TOKEN[$n]}" "${URL[$n]}")
      grep -q "Non-2xx" <<<"$out" && die "$n: non-2xx answers: $out"
      rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.2f", v }' <<<"$out")
      RPS[$n]="${RPS[$n]:-} $rps"
      P99[$n]="${P99[$n]:-} $p99"
      log "round $r $n: $rps rps, p99 $p99 ms"
    done
  done
  # shellcheck disable=SC2086 # word splitting intended
  MED_ALL=$(median ${RPS[all]})
  # shellcheck disable=SC2086
  MED_NONE=$(median ${RPS[none]})
  # shellcheck disable=SC2086
  MED_STRICT=$(median ${RPS[strict]})
  # shellcheck disable=SC2086
  P99_ALL=$(median ${P99[all]}) P99_STRICT=$(median ${P99[strict]}) P99_NONE=$(median ${P99[none]})
  RATIO=$(awk -v a="$MED_ALL" -v b="$MED_NONE" 'BEGIN { printf "%.3f", a / b }')
  STRICT_RATIO=$(awk -v a="$MED_STRICT" -v b="$MED_ALL" 'BEGIN { printf "%.3f", a / b }')
  RECORDED=$(sqlite3 "$TMP/all/tokengate.db" "SELECT count(*) FROM audit_events WHERE action = 'gateway.request'")
  RECORDED_STRICT=$(sqlite3 "$TMP/strict/tokengate.db" "SELECT count(*) FROM audit_events WHERE action = 'gateway.request'")
  THROUGHPUT="gateway, repeated token, median of $ROUNDS x ${DURATION}s (wrk -t$THREADS -c$CONNECTIONS): every decision recorded $MED_ALL rps (p99 $P99_ALL ms), none $MED_NONE rps (p99 $P99_NONE ms): ratio $RATIO (target >= 0.95); $RECORDED records written
strict durability: $MED_STRICT rps (p99 $P99_STRICT ms), $STRICT_RATIO x buffered; $RECORDED_STRICT records written"
  echo "$THROUGHPUT"
  stop_pid "$PID_none"
  stop_pid "$PID_strict"
fi

# ------------------------------------------------------------------ tail
TAIL="tail: skipped"
if [[ "$SKIP_TAIL" != 1 ]]; then
  [[ -n "${PID_all:-}" ]] || start_dev all --gateway-decisions all
  dev="$TMP/all/dev.json"
  token=$(client_token "$dev" confidential_client "$(jq -r .api.app_id_uri "$dev")/.default")
  admin_token=$(client_token "$dev" admin "api://tokengate-admin/.default")
  TAIL=$(python3 "$HERE/audit_tail_lag.py" --admin "$(jq -r .admin_url "$dev")" --token "$admin_token" \
    --seconds "$DURATION" -- -t"$THREADS" -c"$CONNECTIONS" -H "Authorization: Bearer $token" \
    "$(jq -r .gateway_url "$dev")$(jq -r .api.demo_route "$dev")x")
  echo "$TAIL"
fi
[[ -z "${PID_all:-}" ]] || stop_pid "$PID_all"

# ------------------------------------------------------------------ query
STEP_MS=200 # RECORDS over ~23 days at 10M: inside the default 90-day retention
START_MS=$(( $(date +%s) * 1000 - RECORDS * STEP_MS - 60000 ))
load_sql() { # load_sql DIALECT: the bulk insert of RECORDS gateway records
  local series detail idexpr from
  if [[ $1 == sqlite ]]; then
    series="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $RECORDS) "
    detail="json_object('route', 'route-' || (i % 10), 'policy_version', 'v1', 'method', 'GET', 'path', '/orders/' || (i % 500))"
    idexpr="printf('00000000-0000-4000-8000-%012d', i)"
    from="FROM n"
  else
    series=""
    detail="json_build_object('route', 'route-' || (i % 10), 'policy_version', 'v1', 'method', 'GET', 'path', '/orders/' || (i % 500))::text"
    idexpr="'00000000-0000-4000-8000-' || lpad(i::text, 12, '0')"
    from="FROM generate_series(1, $RECORDS) AS i"
  fi
  cat <<SQL
${series}INSERT INTO audit_events (seq, id, at_ms, source, action, outcome, reason, tenant_id, client_id, subject, token_id, client_ip, status, latency_us, detail)
SELECT (SELECT COALESCE(MAX(seq), 0) FROM audit_events) + i, $idexpr, $START_MS + i * $STEP_MS, 'gateway', 'gateway.request',
       CASE WHEN i % 20 = 0 THEN 'denied' ELSE 'allowed' END, CASE WHEN i % 20 = 0 THEN 'insufficient_scope' END,
       'tenant-' || (i % 3), 'client-' || (i % 1000), 'user-' || (i % 100000), 'uti-' || (i / 10),
       '10.0.' || (i % 250) || '.1', CASE WHEN i % 20 = 0 THEN 403 ELSE 200 END, 500, $detail
$from;
UPDATE audit_chain_head SET seq = (SELECT MAX(seq) FROM audit_events);
SQL
}

query_bench() { # query_bench NAME: runs audit_query.py against the dev NAME
  local dev="$TMP/$1/dev.json"
  local token
  token=$(client_token "$dev" admin "api://tokengate-admin/.default")
  python3 "$HERE/audit_query.py" --admin "$(jq -r .admin_url "$dev")" --token "$token" --records "$RECORDS" \
    --start-ms "$START_MS" --step-ms "$STEP_MS" --repeat "$REPEAT"
}

QUERY_SQLITE="query on SQLite: skipped"
QUERY_PG="query on Postgres: skipped"
if [[ "$SKIP_QUERY" != 1 && "$SKIP_QUERY_SQLITE" != 1 ]]; then
  start_dev q_sqlite
  stop_pid "$PID_q_sqlite"
  log "loading $RECORDS records into SQLite"
  t0=$(date +%s)
  load_sql sqlite | sqlite3 -bail "$TMP/q_sqlite/tokengate.db"
  log "loaded in $(( $(date +%s) - t0 )) s"
  start_dev q_sqlite
  QUERY_SQLITE="SQLite, $RECORDS records:
$(query_bench q_sqlite)"
  echo "$QUERY_SQLITE"
  stop_pid "$PID_q_sqlite"
fi
if [[ "$SKIP_QUERY" != 1 ]]; then
  if psql -X -q "$PG_URL" -c 'select 1' >/dev/null 2>&1; then
    db=tg_bench_audit
    psql -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    PG_DB_URL="${PG_URL%/*}/$db"
    start_dev q_pg --store "$PG_DB_URL"
    stop_pid "$PID_q_pg"
    log "loading $RECORDS records into Postgres"
    t0=$(date +%s)
    load_sql postgres | psql -X -q -v ON_ERROR_STOP=1 "$PG_DB_URL" >/dev/null
    psql -X -q "$PG_DB_URL" -c "VACUUM ANALYZE audit_events" >/dev/null
    log "loaded in $(( $(date +%s) - t0 )) s"
    start_dev q_pg --store "$PG_DB_URL"
    QUERY_PG="Postgres, $RECORDS records:
$(query_bench q_pg)"
    echo "$QUERY_PG"
    stop_pid "$PID_q_pg"
    psql -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null
  fi
fi

{
  echo "# Audit log costs ($(date -u +%F), $("$BIN" --version | head -n1), $(git -C "$ROOT" rev-parse --short HEAD))"
  echo
  echo '```'
  echo "$THROUGHPUT"
  echo "$TAIL"
  echo "$QUERY_SQLITE"
  echo "$QUERY_PG"
  echo '```'
} >"$OUT"
log "written $OUT"
