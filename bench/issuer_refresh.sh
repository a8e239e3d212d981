#!/usr/bin/env bash
# Side-by-side benchmark of the OAuth2 refresh_token grant with rotation (a new refresh token on
# every use, the presented one rotated out, reuse detected), each answer carrying an RS256 JWT
# access token and an RS256 ID token (scope includes openid), public client:
#   openssl              `openssl speed rsa2048` sign/s on one core = the RSA sign limit per core
#   tokengate            `tokengate dev` issuer (SQLite, WAL, synchronous=FULL: the rotation is
#                        on disk before the answer), POST ${authority}/oauth2/v2.0/token
#   oidc-provider+redis  the npm library (bench/oidc-provider/server.mjs MODE=refresh) on
#                        OIDC_WORKERS node processes sharing a redis-server (Debian) with
#                        appendonly yes + appendfsync always: durable rotation too
#   oidc-provider memory the same, one process, oidc-provider's default in-memory adapter (not
#                        durable; the adapter cannot be shared between processes): a reference
#   tokengate cc         the same tokengate, client_credentials grant (one signature, no token
#                        state stored; bench/post_form.lua): a reference for the refresh path's cost
# measured interleaved x ROUNDS in one run; medians and ratios against the shared PERFORMANCE.md
# target ("issuer refresh grant incl. durable rotation write >= 0.4 x the one-core
# RSA-2048 sign rate") are printed and
# written to bench/out/issuer_refresh.md.
#
# No refresh token is ever presented twice under load: bench/refresh_rotation.lua keeps, per wrk
# thread, a queue of unused refresh tokens (one per connection), takes one per request and puts
# back the one each answer carries. Every wrk run starts from fresh tokens: tokengate's come from
# its real sign-in pages (bench/get_refresh_tokens.py, authorization code + PKCE, one sign-in per
# token), oidc-provider's are created through its models just before each run (server.mjs
# SEED_ENDPOINT, one grant each; its in-memory adapter is an LRU that forgets idle tokens).
#
# Usage: bench/issuer_refresh.sh        (run from anywhere; root for apt-get installs)
# Environment:
#   ROUNDS=3 DURATION=10 THREADS=2 CONNECTIONS=32 WARMUP=3 OPENSSL_SECONDS=5
#   TOKENGATE_BIN=target/release/tokengate   (relative to the repo root; with this default,
#                       `cargo build --release -p tokengate` runs first, a no-op when up to date)
#   OIDC_WORKERS=$(nproc)  oidc-provider+redis node processes (node:cluster)
#   OIDC_MEMORY=1       also measure oidc-provider with its in-memory adapter (1 process); 0 = skip
#   TG_CC=1             also measure tokengate's client_credentials grant (reference); 0 = skip
#   SKIP_TOKENGATE=1    measure only openssl and oidc-provider (checks the peer set-up)
#   KEEP_TMP=1          keep the temporary directory (server logs, dev.json, wrk output)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-3}
OPENSSL_SECONDS=${OPENSSL_SECONDS:-5}
OIDC_WORKERS=${OIDC_WORKERS:-$(nproc)}
OIDC_MEMORY=${OIDC_MEMORY:-1}
TG_CC=${TG_CC:-1}
SKIP_TOKENGATE=${SKIP_TOKENGATE:-0}
KEEP_TMP=${KEEP_TMP:-0}
DEFAULT_BIN="target/release/tokengate"
TOKENGATE_BIN=${TOKENGATE_BIN:-$DEFAULT_BIN}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT_DIR="$HERE/out"
OUT_MD="$OUT_DIR/issuer_refresh.md"
HOST=127.0.0.1
START_TIMEOUT=120

# shellcheck source=lib.sh
source "$HERE/lib.sh"

for v in ROUNDS DURATION THREADS CONNECTIONS WARMUP OPENSSL_SECONDS OIDC_WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1 && DURATION >= 1 && OIDC_WORKERS >= 1 && THREADS >= 1)) || die "ROUNDS, DURATION, THREADS and OIDC_WORKERS must be >= 1"
((CONNECTIONS >= THREADS && CONNECTIONS % THREADS == 0)) ||
  die "CONNECTIONS must be a multiple of THREADS (wrk gives each thread CONNECTIONS/THREADS connections, each needs its own refresh token)"

# ---------------------------------------------------------------- tools
ensure_commands wrk openssl jq curl node npm redis-server python3

OIDC_DIR="$HERE/oidc-provider"
OIDC_HAVE=$(npm_ci_pinned "$OIDC_DIR" oidc-provider)
IOREDIS_HAVE=$(npm_ci_pinned "$OIDC_DIR/redis" ioredis)

# Python with `requests` for the sign-in pages: the repo's .venv if it has it, else bench/.venv.
PY=""
for cand in "$ROOT/.venv/bin/python" "$HERE/.venv/bin/python"; do
  if [[ -x "$cand" ]] && "$cand" -c 'import requests' 2>/dev/null; then PY=$cand; break; fi
done
if [[ -z "$PY" && "$SKIP_TOKENGATE" != 1 ]]; then
  log "creating bench/.venv with requests"
  python3 -m venv "$HERE/.venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$HERE/.venv/bin/pip" install -q requests || die "pip install requests failed"
  PY="$HERE/.venv/bin/python"
fi

if [[ "$SKIP_TOKENGATE" != 1 ]]; then
  if [[ "$TOKENGATE_BIN" == "$DEFAULT_BIN" ]]; then
    # always: a no-op when fresh, and the figures are then those of the work tree
    log "cargo build --release -p tokengate"
    (cd "$ROOT" && cargo build --release -p tokengate) || die "cargo build --release -p tokengate failed"
  fi
  [[ -x "$BIN" ]] || die "tokengate binary not found at $BIN"
fi

# ---------------------------------------------------------------- processes and cleanup
start_bench_tmp tokengate-bench

# Wrk runs that need fresh tokens: the warm-up (if any) and every round; plus two for the checks.
# tokengate's are fetched once, through its sign-in pages (its store keeps them all).
RUNS=$((ROUNDS + (WARMUP > 0 ? 1 : 0)))
NTOKENS=$((RUNS * CONNECTIONS + 2))

# split_tokens FILE: FILE.run-K gets the CONNECTIONS tokens of wrk run K (0-based); the 2 spare
# tokens after them are for the checks (check_token_of)
split_tokens() {
  local file=$1 run
  [[ $(sort -u "$file" | grep -c .) -eq $NTOKENS ]] || die "$file: expected $NTOKENS distinct refresh tokens"
  for ((run = 0; run < RUNS; run++)); do
    sed -n "$((run * CONNECTIONS + 1)),$(((run + 1) * CONNECTIONS))p" "$file" >"$file.run-$run"
  done
}
# check_token_of FILE K -> the K-th spare token (1 or 2) after the wrk runs' tokens
check_token_of() { sed -n "$((RUNS * CONNECTIONS + $2))p" "$1"; }

# seed_oidc NAME N FILE: N fresh refresh tokens from oidc-provider's models (server.mjs POST /bench/seed)
seed_oidc() {
  local base
  base=$(cat "$TMP/$1.base")
  curl -sS --fail --max-time 60 --cacert "$BENCH_CERT" --data "n=$2" -o "$3" "$base/bench/seed" ||
    die "$1: POST /bench/seed failed"
  [[ $(sort -u "$3" | grep -c .) -eq $2 ]] || die "$1: expected $2 distinct seeded refresh tokens"
}
# oidc_tokens NAME -> path of a file with CONNECTIONS fresh tokens for the next wrk run
oidc_tokens() {
  OIDC_SEQ=$((OIDC_SEQ + 1))
  seed_oidc "$1" "$CONNECTIONS" "$TMP/$1.tokens.$OIDC_SEQ"
  OIDC_FILE="$TMP/$1.tokens.$OIDC_SEQ"
}
OIDC_SEQ=0
# oidc_one NAME -> one fresh token on stdout
oidc_one() {
  OIDC_SEQ=$((OIDC_SEQ + 1))
  seed_oidc "$1" 1 "$TMP/$1.one.$OIDC_SEQ"
  cat "$TMP/$1.one.$OIDC_SEQ"
}

# jwt_alg JWT -> the "alg" of its header (empty if not a JWT)
jwt_alg() {
  jq -rn --arg t "$1" '$t | split(".") | select(length == 3) | .[0]
    | gsub("-"; "+") | gsub("_"; "/") | . + ("=" * ((4 - length % 4) % 4)) | @base64d | fromjson | .alg' 2>/dev/null || true
}

# refresh NAME URL BODY CA TOKEN -> prints "STATUS<tab>BODY"
refresh() {
  local out
  out=$(curl -sS --max-time 10 --cacert "$4" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "$3&refresh_token=$(urlenc "$5")" -w '\n%{http_code}' "$2" 2>&1) || { log "$1: curl failed: $out"; return 1; }
  printf '%s\t%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}

# check_rotation NAME URL BODY CA TOKEN: one real refresh must answer 200 with an RS256 JWT access
# token, an RS256 ID token and a new refresh token; the new one must work once more; then the
# first (rotated out, not the immediately previous one) presented again must be refused (reuse),
# and after that the family's latest token too (the server revoked the whole sign-in).
check_rotation() {
  local name=$1 url=$2 body=$3 ca=$4 t0=$5 r st js t1 t2
  r=$(refresh "$name" "$url" "$body" "$ca" "$t0") || return 1
  st=${r%%$'\t'*} js=${r#*$'\t'}
  [[ "$st" == 200 ]] || { log "$name: refresh answered $st: ${js:0:300}"; return 1; }
  [[ $(jwt_alg "$(jq -r '.access_token // ""' <<<"$js")") == RS256 ]] || { log "$name: no RS256 JWT access_token: ${js:0:300}"; return 1; }
  [[ $(jwt_alg "$(jq -r '.id_token // ""' <<<"$js")") == RS256 ]] || { log "$name: no RS256 id_token: ${js:0:300}"; return 1; }
  t1=$(jq -r '.refresh_token // ""' <<<"$js")
  [[ -n "$t1" && "$t1" != "$t0" ]] || { log "$name: no new refresh_token: ${js:0:300}"; return 1; }
  r=$(refresh "$name" "$url" "$body" "$ca" "$t1") || return 1
  st=${r%%$'\t'*} js=${r#*$'\t'}
  [[ "$st" == 200 ]] || { log "$name: second refresh answered $st: ${js:0:300}"; return 1; }
  t2=$(jq -r '.refresh_token // ""' <<<"$js")
  [[ -n "$t2" && "$t2" != "$t1" ]] || { log "$name: no new refresh_token on the second refresh"; return 1; }
  r=$(refresh "$name" "$url" "$body" "$ca" "$t0") || return 1
  st=${r%%$'\t'*} js=${r#*$'\t'}
  [[ "$st" == 400 && $(jq -r '.error // ""' <<<"$js") == invalid_grant ]] ||
    { log "$name: a rotated refresh token presented again answered $st (want 400 invalid_grant): ${js:0:300}"; return 1; }
  r=$(refresh "$name" "$url" "$body" "$ca" "$t2") || return 1
  st=${r%%$'\t'*} js=${r#*$'\t'}
  [[ "$st" == 400 ]] ||
    { log "$name: after reuse, the family's latest refresh token answered $st (want 400: family revoked): ${js:0:300}"; return 1; }
}

# check_once NAME URL BODY CA TOKEN: a single refresh answers 200 with a new refresh token
check_once() {
  local r st js
  r=$(refresh "$1" "$2" "$3" "$4" "$5") || return 1
  st=${r%%$'\t'*} js=${r#*$'\t'}
  [[ "$st" == 200 && -n $(jq -r '.refresh_token // ""' <<<"$js") ]] || { log "$1: refresh answered $st: ${js:0:300}"; return 1; }
}

# run_wrk NAME URL BODY TOKENFILE SECONDS -> prints requests/s; fails on any error answer
run_wrk() {
  local name=$1 url=$2 body=$3 tokens=$4 secs=$5 out rps line non200 missing exhausted errs non2xx
  out=$(WRK_TOKENS="$tokens" WRK_THREADS="$THREADS" WRK_BODY="$body" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s -s "$HERE/refresh_rotation.lua" "$url" 2>&1) ||
    die "$name: wrk failed: $out"
  printf '== %s\n%s\n' "$name" "$out" >>"$TMP/wrk.log"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  line=$(grep '^TGBENCH ' <<<"$out" || true)
  [[ -n "$rps" && -n "$line" ]] || die "$name: could not parse wrk output: $out"
  kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  non200=$(kv non200) missing=$(kv no_refresh_token) exhausted=$(kv exhausted) errs=$(kv errors) non2xx=$(kv non2xx_or_3xx)
  if [[ "$non200" != 0 || "$missing" != 0 || "$exhausted" != 0 || "$errs" != 0 || "$non2xx" != 0 ]]; then
    die "$name: error answers under load (non-200 $non200, 200 without refresh_token $missing, out of tokens $exhausted, socket errors $errs): $(grep '^TGBENCH_FIRST_ERROR' <<<"$out" || true)"
  fi
  awk -v r="$rps" 'BEGIN { if (r + 0 <= 0) exit 1 }' || die "$name: 0 requests/s: $out"
  printf '%s\n' "$rps"
}

# run_cc NAME URL BODY SECONDS -> prints requests/s of the client_credentials reference
run_cc() {
  local out rps non2xx
  out=$(WRK_BODY="$3" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${4}s" --timeout 10s -s "$HERE/post_form.lua" "$2" 2>&1) ||
    die "$1: wrk failed: $out"
  printf '== %s\n%s\n' "$1" "$out" >>"$TMP/wrk.log"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  [[ -n "$rps" ]] || die "$1: could not parse wrk output: $out"
  [[ -z "$non2xx" || "$non2xx" == 0 ]] || die "$1: $non2xx non-2xx responses under load: $out"
  ! grep -q 'Socket errors' <<<"$out" || die "$1: socket errors under load: $out"
  printf '%s\n' "$rps"
}

openssl_sign() {
  local out
  out=$(openssl speed -seconds "$OPENSSL_SECONDS" rsa2048 2>/dev/null) || die "openssl speed failed"
  printf '%s\n' "$out" >>"$TMP/openssl-speed.txt"
  awk '
    / sign\/s / { n = split($0, h, " "); for (i = 1; i <= n; i++) if (h[i] == "sign/s") col = i }
    /^rsa +2048 +bits/ && col { print $(col + 3); found = 1; exit }
    END { if (!found) exit 1 }' <<<"$out" || die "could not parse openssl speed output: $out"
}

wait_file() { # wait_file NAME PID FILE
  local deadline=$((SECONDS + START_TIMEOUT))
  until [[ -s "$3" ]]; do
    kill -0 "$2" 2>/dev/null || die "$1 exited during start-up"
    ((SECONDS < deadline)) || die "$1 did not start within ${START_TIMEOUT}s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- start the servers
BENCH_CERT="$TMP/oidc-cert.pem" BENCH_KEY="$TMP/oidc-key.pem"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$HOST" \
  -addext "subjectAltName=IP:$HOST" -keyout "$BENCH_KEY" -out "$BENCH_CERT" >/dev/null 2>&1 ||
  die "openssl req -x509 failed"

# redis-server for oidc-provider: unix socket only (no TCP), every write fsync'd before the reply.
REDIS_SOCK="$TMP/redis.sock"
mkdir -p "$TMP/redis"
REDIS_VERSION=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
log "starting redis-server $REDIS_VERSION (appendonly yes, appendfsync always, unix socket)"
redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 --dir "$TMP/redis" \
  --appendonly yes --appendfsync always --save "" --daemonize no --logfile "$TMP/redis.log" </dev/null &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
deadline=$((SECONDS + 30))
until redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1; do
  kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited during start-up"
  ((SECONDS < deadline)) || die "redis-server did not answer within 30s"
  sleep 0.2
done

OIDC_CLIENT_ID=$(cat /proc/sys/kernel/random/uuid)
OIDC_RESOURCE="api://tokengate-bench"
OIDC_SCOPE="api.read"
OIDC_BODY="grant_type=refresh_token&client_id=$(urlenc "$OIDC_CLIENT_ID")&scope=$(urlenc "openid profile offline_access $OIDC_SCOPE")"

# start_oidc NAME ADAPTER WORKERS -> sets OIDC_URL_<NAME>; the base URL goes to $TMP/NAME.base
start_oidc() {
  local name=$1 adapter=$2 workers=$3 pid
  log "starting oidc-provider $OIDC_HAVE ($name: adapter $adapter, workers=$workers, node $(node --version))"
  NODE_ENV=production MODE=refresh ADAPTER="$adapter" REDIS="$REDIS_SOCK" \
    TLS_CERT="$BENCH_CERT" TLS_KEY="$BENCH_KEY" PORT=0 PORT_FILE="$TMP/$name.port" \
    CLIENT_ID="$OIDC_CLIENT_ID" RESOURCE="$OIDC_RESOURCE" SCOPE="$OIDC_SCOPE" WORKERS="$workers" \
    SEED_ENDPOINT=1 \
    node "$OIDC_DIR/server.mjs" >"$TMP/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_file "$name" "$pid" "$TMP/$name.port"
  printf '%s\n' "https://$HOST:$(cat "$TMP/$name.port")" >"$TMP/$name.base"
  printf -v "OIDC_URL_${name//-/_}" '%s' "https://$HOST:$(cat "$TMP/$name.port")/token"
}

start_oidc oidc-redis redis "$OIDC_WORKERS"
OIDC_REDIS_URL=$OIDC_URL_oidc_redis
check_rotation oidc-redis "$OIDC_REDIS_URL" "$OIDC_BODY" "$BENCH_CERT" "$(oidc_one oidc-redis)" ||
  die "oidc-redis: rotation check failed"
log "oidc-provider+redis ready at $OIDC_REDIS_URL (rotation and reuse detection checked)"
if [[ "$OIDC_MEMORY" == 1 ]]; then
  start_oidc oidc-memory memory 1
  OIDC_MEMORY_URL=$OIDC_URL_oidc_memory
  check_rotation oidc-memory "$OIDC_MEMORY_URL" "$OIDC_BODY" "$BENCH_CERT" "$(oidc_one oidc-memory)" ||
    die "oidc-memory: rotation check failed"
  log "oidc-provider (memory, 1 process) ready at $OIDC_MEMORY_URL"
fi

TG_VERSION="skipped"
if [[ "$SKIP_TOKENGATE" != 1 ]]; then
  TG_VERSION=$("$BIN" --version 2>/dev/null | head -n1 || true)
  TG_VERSION="${TG_VERSION:-unknown} ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo no-git)$( [[ -z $(git -C "$ROOT" status --porcelain -- ':(glob)crates/*/src/**' Cargo.toml Cargo.lock 2>/dev/null) ]] || echo "+uncommitted changes in crates/*/src"))"
  log "starting $BIN dev"
  "$BIN" dev --data-dir "$TMP/tg" --issuer-port 0 --gateway-port 0 --admin-port 0 \
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
  TG_AUTHORITY=$(jq -er '.authority' "$DEV") || die "dev.json: no authority"
  TG_CA=$(jq -er '.ca_cert' "$DEV") || die "dev.json: no ca_cert"
  TG_CLIENT_ID=$(jq -er '.public_client.client_id' "$DEV") || die "dev.json: no public_client.client_id"
  TG_APP_ID_URI=$(jq -er '.api.app_id_uri' "$DEV") || die "dev.json: no api.app_id_uri"
  [[ "$TG_AUTHORITY" == https://127.0.0.1:* ]] || die "tokengate authority is not on loopback: $TG_AUTHORITY"
  TG_URL="${TG_AUTHORITY%/}/oauth2/v2.0/token"
  TG_BODY="grant_type=refresh_token&client_id=$(urlenc "$TG_CLIENT_ID")&scope=$(urlenc "$TG_APP_ID_URI/Demo.Read openid profile offline_access")"
  TG_CC_BODY="grant_type=client_credentials&client_id=$(urlenc "$(jq -er '.confidential_client.client_id' "$DEV")")&client_secret=$(urlenc "$(jq -er '.confidential_client.client_secret' "$DEV")")&scope=$(urlenc "$TG_APP_ID_URI/.default")"
  deadline=$((SECONDS + 30))
  until curl -sf --max-time 5 --cacert "$TG_CA" -o /dev/null "${TG_AUTHORITY%/}/v2.0/.well-known/openid-configuration"; do
    kill -0 "$TG_PID" 2>/dev/null || die "tokengate exited during start-up"
    ((SECONDS < deadline)) || die "tokengate: discovery never answered"
    sleep 0.5
  done
  log "fetching $NTOKENS refresh tokens through tokengate's sign-in pages (authorization code + PKCE)"
  "$PY" "$HERE/get_refresh_tokens.py" "$DEV" "$NTOKENS" "$TMP/tg.tokens" || die "get_refresh_tokens.py failed"
  split_tokens "$TMP/tg.tokens"
  check_rotation tokengate "$TG_URL" "$TG_BODY" "$TG_CA" "$(check_token_of "$TMP/tg.tokens" 1)" ||
    die "tokengate: rotation check failed"
  log "tokengate ready at $TG_URL (rotation and reuse detection checked)"
fi

# ---------------------------------------------------------------- measure
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
run=0
if ((WARMUP > 0)); then
  log "warm-up ${WARMUP}s each (not counted)"
  [[ "$SKIP_TOKENGATE" == 1 ]] || run_wrk tokengate-warmup "$TG_URL" "$TG_BODY" "$TMP/tg.tokens.run-$run" "$WARMUP" >/dev/null
  [[ "$SKIP_TOKENGATE" == 1 || "$TG_CC" != 1 ]] || run_cc tokengate-cc-warmup "$TG_URL" "$TG_CC_BODY" "$WARMUP" >/dev/null
  oidc_tokens oidc-redis
  run_wrk oidc-redis-warmup "$OIDC_REDIS_URL" "$OIDC_BODY" "$OIDC_FILE" "$WARMUP" >/dev/null
  if [[ "$OIDC_MEMORY" == 1 ]]; then
    oidc_tokens oidc-memory
    run_wrk oidc-memory-warmup "$OIDC_MEMORY_URL" "$OIDC_BODY" "$OIDC_FILE" "$WARMUP" >/dev/null
  fi
  run=$((run + 1))
fi

R_OPENSSL=() R_TG=() R_REDIS=() R_MEM=() R_CC=()
for ((r = 1; r <= ROUNDS; r++, run++)); do
  v=$(openssl_sign); R_OPENSSL+=("$v"); log "round $r/$ROUNDS openssl rsa2048 sign/s: $v"
  if [[ "$SKIP_TOKENGATE" != 1 ]]; then
    v=$(run_wrk tokengate "$TG_URL" "$TG_BODY" "$TMP/tg.tokens.run-$run" "$DURATION"); R_TG+=("$v"); log "round $r/$ROUNDS tokengate req/s: $v"
  else
    R_TG+=("")
  fi
  if [[ "$SKIP_TOKENGATE" != 1 && "$TG_CC" == 1 ]]; then
    v=$(run_cc tokengate-cc "$TG_URL" "$TG_CC_BODY" "$DURATION"); R_CC+=("$v"); log "round $r/$ROUNDS tokengate client_credentials req/s: $v"
  else
    R_CC+=("")
  fi
  oidc_tokens oidc-redis
  v=$(run_wrk oidc-redis "$OIDC_REDIS_URL" "$OIDC_BODY" "$OIDC_FILE" "$DURATION"); R_REDIS+=("$v"); log "round $r/$ROUNDS oidc-provider+redis req/s: $v"
  if [[ "$OIDC_MEMORY" == 1 ]]; then
    oidc_tokens oidc-memory
    v=$(run_wrk oidc-memory "$OIDC_MEMORY_URL" "$OIDC_BODY" "$OIDC_FILE" "$DURATION"); R_MEM+=("$v"); log "round $r/$ROUNDS oidc-provider memory req/s: $v"
  else
    R_MEM+=("")
  fi
done
# Servers must still answer correctly after the load.
[[ "$SKIP_TOKENGATE" == 1 ]] || check_once tokengate "$TG_URL" "$TG_BODY" "$TG_CA" "$(check_token_of "$TMP/tg.tokens" 2)" || die "tokengate: refresh failed after load"
check_once oidc-redis "$OIDC_REDIS_URL" "$OIDC_BODY" "$BENCH_CERT" "$(oidc_one oidc-redis)" || die "oidc-redis: refresh failed after load"
[[ "$OIDC_MEMORY" != 1 ]] || check_once oidc-memory "$OIDC_MEMORY_URL" "$OIDC_BODY" "$BENCH_CERT" "$(oidc_one oidc-memory)" || die "oidc-memory: refresh failed after load"

# Durability evidence: how many rotated refresh tokens each durable store holds after the runs.
TG_ROTATED="n/a"
if [[ "$SKIP_TOKENGATE" != 1 ]] && command -v sqlite3 >/dev/null 2>&1; then
  TG_ROTATED=$(sqlite3 "file:$TMP/tg/tokengate.db?mode=ro" "SELECT count(*) FROM refresh_tokens WHERE state != 'active'" 2>/dev/null || echo "n/a")
fi
REDIS_AOF_KB=$(du -sk "$TMP/redis" | awk '{print $1}')

# ---------------------------------------------------------------- report
ratio() {
  [[ -n "$1" && -n "$2" ]] || { echo "n/a"; return; }
  awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN { if (b * m > 0) printf "%.2f", a / (b * m); else print "n/a" }'
}
verdict() {
  [[ "$1" != n/a ]] || { echo "n/a"; return; }
  awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0) ? "met" : "MISSED" }'
}
fmt() { [[ -n "$1" ]] && awk -v v="$1" 'BEGIN { printf "%.0f", v }' || echo "n/a"; }
nonempty() { local v; for v in "$@"; do [[ -z "$v" ]] || printf '%s\n' "$v"; done; }

mapfile -t TG_VALUES < <(nonempty "${R_TG[@]}")
mapfile -t MEM_VALUES < <(nonempty "${R_MEM[@]}")
mapfile -t CC_VALUES < <(nonempty "${R_CC[@]}")
M_OPENSSL=$(median "${R_OPENSSL[@]}")
M_TG=$(median "${TG_VALUES[@]+"${TG_VALUES[@]}"}")
M_REDIS=$(median "${R_REDIS[@]}")
M_MEM=$(median "${MEM_VALUES[@]+"${MEM_VALUES[@]}"}")
M_CC=$(median "${CC_VALUES[@]+"${CC_VALUES[@]}"}")
RATIO_CC=$(ratio "$M_TG" "$M_CC")
RATIO_CC_SIGN=$(ratio "$M_CC" "$M_OPENSSL")
RATIO_SIGN=$(ratio "$M_TG" "$M_OPENSSL")
RATIO_SIGN2=$(ratio "$M_TG" "$M_OPENSSL" 2)
RATIO_SIGS=$(ratio "$M_TG" "$M_OPENSSL" 0.5)   # 2 RS256 signatures per answer
RATIO_REDIS=$(ratio "$M_TG" "$M_REDIS")
RATIO_MEM=$(ratio "$M_TG" "$M_MEM")
RATIO_REDIS_SIGN=$(ratio "$M_REDIS" "$M_OPENSSL")

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
CMD="ROUNDS=$ROUNDS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS WARMUP=$WARMUP OIDC_WORKERS=$OIDC_WORKERS OIDC_MEMORY=$OIDC_MEMORY TG_CC=$TG_CC bench/issuer_refresh.sh"
[[ "$SKIP_TOKENGATE" != 1 ]] || CMD="SKIP_TOKENGATE=1 $CMD"
FS=$(df -T "$TMP" | awk 'NR == 2 {print $2}')

LOAD_AFTER=$(cut -d" " -f1-3 /proc/loadavg)
mkdir -p "$OUT_DIR"
{
  echo "# Issuer: refresh_token grant with rotation, side by side"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $CPU; data on $FS (\`$TMP\`)"
  echo "- load average (1/5/15 min) before the measurements: $LOAD_BEFORE; after: $LOAD_AFTER (other work on the machine shows here)"
  echo "- command: \`$CMD\`"
  echo "- load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s -s refresh_rotation.lua\` POST form, HTTPS keep-alive on 127.0.0.1, public client, \`grant_type=refresh_token\`; every request presents a refresh token never presented before (the one the previous answer returned); each answer: new refresh token + RS256 JWT access token + RS256 ID token (2 signatures); interleaved openssl, tokengate$( [[ "$TG_CC" == 1 ]] && echo ", tokengate client_credentials (reference: post_form.lua, confidential client secret, one signature, no token state stored)"), oidc-provider+redis$( [[ "$OIDC_MEMORY" == 1 ]] && echo ", oidc-provider memory") x $ROUNDS rounds; medians"
  echo "- checked before the load on every server: rotation (new refresh token each time), a rotated token presented again → 400 invalid_grant, and then the family's latest token refused too (whole sign-in revoked); after the load: one more refresh answers 200. Any non-200 answer under load aborts the run"
  echo "- tokengate: $TG_VERSION; \`tokengate dev\` (SQLite, WAL, synchronous=FULL), refresh tokens from its sign-in pages (authorization code + PKCE; one sign-in each); rotated tokens in its store after the runs: $TG_ROTATED"
  echo "- oidc-provider $OIDC_HAVE on node $(node --version), NODE_ENV=production, \`rotateRefreshToken: true\`, JWT access tokens via resource indicators: (a) +redis: $OIDC_WORKERS worker process(es), adapter \`oidc-provider/redis_adapter.mjs\` (ioredis $IOREDIS_HAVE) on redis-server $REDIS_VERSION with \`appendonly yes\`, \`appendfsync always\` (unix socket; AOF after the runs: ${REDIS_AOF_KB} KB)$( [[ "$OIDC_MEMORY" == 1 ]] && echo "; (b) memory: 1 process, default in-memory adapter — **not durable**, and not shareable between processes"); refresh tokens created through its models just before each run (one grant each)"
  echo "- $(openssl version | head -n1) (\`openssl speed -seconds $OPENSSL_SECONDS rsa2048\`, one core); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')"
  echo
  echo "| round | openssl RSA-2048 sign/s (1 core) | tokengate refresh req/s | tokengate client_credentials req/s (ref.) | oidc-provider+redis refresh req/s | oidc-provider memory refresh req/s |"
  echo "|---|---:|---:|---:|---:|---:|"
  for ((i = 0; i < ROUNDS; i++)); do
    echo "| $((i + 1)) | $(fmt "${R_OPENSSL[$i]}") | $(fmt "${R_TG[$i]}") | $(fmt "${R_CC[$i]}") | $(fmt "${R_REDIS[$i]}") | $(fmt "${R_MEM[$i]}") |"
  done
  echo "| **median** | **$(fmt "$M_OPENSSL")** | **$(fmt "$M_TG")** | **$(fmt "$M_CC")** | **$(fmt "$M_REDIS")** | **$(fmt "$M_MEM")** |"
  echo
  echo "| ratio (medians) | value | target | |"
  echo "|---|---:|---:|---|"
  echo "| tokengate refresh / openssl sign per core | $RATIO_SIGN | ≥ 0.4 | $(verdict "$RATIO_SIGN" 0.4) |"
  echo "| tokengate / (2 × openssl sign per core) — this machine has 2 cores | $RATIO_SIGN2 | (reference) | |"
  echo "| tokengate RS256 signatures/s (2 per answer) / openssl sign per core | $RATIO_SIGS | (reference) | |"
  echo "| tokengate / oidc-provider+redis (durable) | $RATIO_REDIS | (side by side) | |"
  echo "| tokengate / oidc-provider memory (not durable, 1 process) | $RATIO_MEM | (reference) | |"
  echo "| oidc-provider+redis / openssl sign per core | $RATIO_REDIS_SIGN | (reference) | |"
  echo "| tokengate refresh / tokengate client_credentials (same server, same run) | $RATIO_CC | (reference) | |"
  echo "| tokengate client_credentials / openssl sign per core | $RATIO_CC_SIGN | (≥ 0.7 in its own benchmark) | |"
} >"$OUT_MD"

echo
printf '%-52s %12s\n' "median over $ROUNDS round(s)" "value"
printf '%-52s %12s\n' "tokengate refresh req/s" "$(fmt "$M_TG")"
printf '%-52s %12s\n' "oidc-provider+redis req/s" "$(fmt "$M_REDIS")"
printf '%-52s %12s\n' "oidc-provider memory (1 process) req/s" "$(fmt "$M_MEM")"
printf '%-52s %12s\n' "tokengate client_credentials req/s (reference)" "$(fmt "$M_CC")"
printf '%-52s %12s\n' "openssl RSA-2048 sign/s (one core)" "$(fmt "$M_OPENSSL")"
printf '%-52s %12s   %s\n' "tokengate / openssl_sign_per_core" "$RATIO_SIGN" "target >= 0.4: $(verdict "$RATIO_SIGN" 0.4)"
printf '%-52s %12s   %s\n' "tokengate / (2 x openssl_sign_per_core)" "$RATIO_SIGN2" "reference (2 cores)"
printf '%-52s %12s   %s\n' "tokengate signatures/s / openssl_sign_per_core" "$RATIO_SIGS" "reference (2 per answer)"
printf '%-52s %12s   %s\n' "tokengate / oidc-provider+redis" "$RATIO_REDIS" "side by side"
printf '%-52s %12s   %s\n' "tokengate / oidc-provider memory" "$RATIO_MEM" "reference"
printf '%-52s %12s   %s\n' "tokengate refresh / client_credentials" "$RATIO_CC" "reference"
echo
log "markdown written to ${OUT_MD#"$ROOT"/}"
