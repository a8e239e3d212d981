#!/usr/bin/env bash
# Side-by-side benchmark of the gateway (validating reverse proxy), all on 127.0.0.1:
#   upstream      nginx answering every path with the same fixed 100-byte body (one for everyone)
#   nginx-proxy   a second nginx, proxy_pass with upstream keep-alive, no token check (baseline)
#   tokengate     `tokengate dev --upstream http://127.0.0.1:UPSTREAM`, requests to
#                 ${gateway_url}${demo_route} with `Authorization: Bearer <JWT>` from its issuer
#   apache        Apache httpd + mod_auth_openidc as an OAuth 2.0 resource server validating the
#                 same JWTs locally (signature via the issuer's JWKS, exp, aud, iss), mod_proxy_http
#                 to the same upstream
# Scenarios, each interleaved (nginx-proxy, tokengate, apache) x ROUNDS in one run, medians:
#   repeated   one token for every request (the gateway's verified-token cache hits)
#   new-token  NEW_TOKENS fresh tokens per round, every request a token the gateway has not seen;
#              a wrk thread stops at its first repeated token, the rate is counted over that window
#   latency    nginx-proxy and tokengate paced at LATENCY_LOAD x nginx-proxy's max rps of the round
#              (a send schedule in wrk's Lua delay(); wrk2 is not in Debian), p50/p99 compared
# plus tokengate's RSS idle and around each new-token run. The ratios against the targets of the
# shared PERFORMANCE.md are printed and written to bench/out/gateway.md.
#
# Usage: bench/gateway.sh        (run from anywhere; root for apt-get installs)
# Environment:
#   ROUNDS=3            interleaved rounds
#   DURATION=10         seconds per wrk measurement
#   THREADS=2 CONNECTIONS=64   wrk -t / -c (every subject and scenario)
#   WARMUP=3            seconds of unmeasured load on each server before round 1 (0 = none)
#   NEW_TOKENS=60000    fresh tokens fetched per round for the new-token scenario (the issuer does
#                       ~4-5k/s); more tokens = a longer measurement window for the gateway
#   LATENCY_LOAD=0.5    offered load of the latency scenario, fraction of nginx-proxy's max rps
#   NGINX_WORKERS=auto  worker_processes of each nginx (upstream and proxy)
#   DIRECT=0            1 = also load the upstream directly (reference: cost of the proxy hop)
#   SKIP_GATEWAY=0      1 = peers only (nginx-proxy, apache; tokengate still issues the tokens).
#                       Automatic when the binary's `dev --help` has no --upstream (no gateway yet).
#   SKIP_APACHE=0       1 = no Apache
#   TOKENGATE_BIN=target/release/tokengate   (relative to the repo root; built with
#                       `cargo build --release -p tokengate` only if the default path is missing)
#   TG_EXTRA_ARGS=""    more arguments for `tokengate dev` (e.g. "--gateway-threads 0": the gateway
#                       on the shared runtime instead of per-core listener threads)
#   KEEP_TMP=1          keep the temporary directory (configs, server logs, dev.json, wrk output)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GW="$HERE/gateway"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-3}
NEW_TOKENS=${NEW_TOKENS:-60000}
LATENCY_LOAD=${LATENCY_LOAD:-0.5}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
DIRECT=${DIRECT:-0}
SKIP_GATEWAY=${SKIP_GATEWAY:-0}
SKIP_APACHE=${SKIP_APACHE:-0}
KEEP_TMP=${KEEP_TMP:-0}
DEFAULT_BIN="target/release/tokengate"
TOKENGATE_BIN=${TOKENGATE_BIN:-$DEFAULT_BIN}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT_DIR="$HERE/out"
OUT_MD="$OUT_DIR/gateway.md"
HOST=127.0.0.1
START_TIMEOUT=120   # seconds to wait for a server to come up
# shellcheck disable=SC2034 # read by fetch_tokens (lib.sh)
FETCH_CONNECTIONS=32
DEFAULT_ROUTE="/demo/bench"   # path used when dev.json has no api.demo_route (issuer-only binary)

# shellcheck source=lib.sh
source "$HERE/lib.sh"

for v in ROUNDS DURATION THREADS CONNECTIONS WARMUP NEW_TOKENS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1 && DURATION >= 1 && THREADS >= 1 && CONNECTIONS >= THREADS)) ||
  die "ROUNDS, DURATION, THREADS must be >= 1 and CONNECTIONS >= THREADS"
((NEW_TOKENS >= 1000)) || die "NEW_TOKENS must be >= 1000"
[[ $LATENCY_LOAD =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] && awk -v l="$LATENCY_LOAD" 'BEGIN { exit !(l > 0) }' ||
  die "LATENCY_LOAD must be in (0, 1] (got '$LATENCY_LOAD')"
[[ $NGINX_WORKERS =~ ^(auto|[1-9][0-9]*)$ ]] || die "NGINX_WORKERS must be auto or a number"

# ---------------------------------------------------------------- tools
APACHE_BIN=/usr/sbin/apache2
OIDC_SO=/usr/lib/apache2/modules/mod_auth_openidc.so
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)
[[ -x /usr/sbin/nginx ]] || need+=(nginx)
if [[ "$SKIP_APACHE" != 1 ]]; then
  [[ -x "$APACHE_BIN" ]] || need+=(apache2)
  [[ -f "$OIDC_SO" ]] || need+=(libapache2-mod-auth-openidc)
fi
((${#need[@]} == 0)) || apt_install "${need[@]}"
NGINX=/usr/sbin/nginx

if [[ ! -x "$BIN" ]]; then
  if [[ "$TOKENGATE_BIN" == "$DEFAULT_BIN" ]]; then
    log "$BIN missing: cargo build --release -p tokengate"
    (cd "$ROOT" && cargo build --release -p tokengate)
  fi
  [[ -x "$BIN" ]] || die "tokengate binary not found at $BIN"
fi
GATEWAY_NOTE=""
if [[ "$SKIP_GATEWAY" != 1 ]] && ! "$BIN" dev --help 2>/dev/null | grep -q -- '--upstream'; then
  GATEWAY_NOTE="this tokengate binary has no gateway yet (\`dev --help\` lacks --upstream): peers only"
  log "$GATEWAY_NOTE"
  SKIP_GATEWAY=1
fi

# ---------------------------------------------------------------- processes and cleanup
start_bench_tmp tokengate-bench-gw
chmod 711 "$TMP"   # Apache's children (User www-data) read their CA file below it


# render TEMPLATE OUT KEY=VALUE...: replace every @KEY@; fails if a placeholder is left
render() {
  local tpl=$1 out=$2 content kv k v left
  shift 2
  content=$(<"$tpl")
  for kv in "$@"; do
    k=${kv%%=*} v=${kv#*=}
    content=${content//"@$k@"/"$v"}
  done
  left=$(grep -o -E '@[A-Z_]+@' <<<"$content" | sort -u | tr '\n' ' ' || true)
  [[ -z "$left" ]] || die "$(basename "$tpl"): unfilled placeholders: $left"
  printf '%s\n' "$content" >"$out"
}

# free_port: sets FREE_PORT to a loopback port below the ephemeral range nobody listens on
USED_PORTS=" "
free_port() {
  local lo hi p i
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range || lo=32768
  hi=$((lo - 1)) lo=$((lo > 20000 ? 15000 : 10000))
  for ((i = 0; i < 500; i++)); do
    p=$((lo + RANDOM % (hi - lo + 1)))
    [[ "$USED_PORTS" != *" $p "* ]] || continue
    if ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      FREE_PORT=$p
      return 0
    fi
  done
  die "no free port found"
}

# http_get URL [curl args...] -> prints "CODE SIZE" and leaves the body in $TMP/last-body
http_get() {
  local url=$1
  shift
  curl -sS --max-time 10 -o "$TMP/last-body" -w '%{http_code} %{size_download}' "$@" "$url" 2>/dev/null ||
    echo "000 0"
}

# wait_http NAME PID URL CODE [curl args...]: poll (bounded) until URL answers CODE
wait_http() {
  local name=$1 pid=$2 url=$3 code=$4 deadline=$((SECONDS + START_TIMEOUT)) got
  shift 4
  while :; do
    got=$(http_get "$url" "$@")
    [[ "${got%% *}" != "$code" ]] || return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
    ((SECONDS < deadline)) || die "$name: $url never answered $code within ${START_TIMEOUT}s (last: $got)"
    sleep 0.2
  done
}

# expect NAME URL CODE BODY_FILE|- [curl args...]: one request must answer CODE (and, unless
# BODY_FILE is -, exactly the upstream's body)
expect() {
  local name=$1 url=$2 code=$3 body=$4 got
  shift 4
  got=$(http_get "$url" "$@")
  [[ "${got%% *}" == "$code" ]] || die "$name: expected HTTP $code from $url, got $got: $(head -c 300 "$TMP/last-body" 2>/dev/null)"
  if [[ "$body" != - ]]; then
    cmp -s "$TMP/last-body" "$body" ||
      die "$name: HTTP $code but not the upstream's ${#UPSTREAM_BODY}-byte body from $url (got ${got#* } bytes: $(head -c 200 "$TMP/last-body"))"
  fi
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo ""; }

# ---------------------------------------------------------------- wrk
# wrk_run NAME URL SECS [WRK_*=value ...] [wrk args ...]
# Runs wrk with bench/gateway/bearer.lua (WRK_* arguments go to its environment). Sets W_RPS
# (wrk's Requests/sec) and W_LINE (the script's "TGBENCH k=v ..." line). Any non-2xx response or
# socket error aborts the whole run: a benchmark of error responses is worthless.
W_RPS="" W_LINE=""
wrk_run() {
  local name=$1 url=$2 secs=$3 out non2xx errs a
  shift 3
  local envs=("WRK_THREADS=$THREADS" "WRK_DURATION=$secs") args=()
  for a in "$@"; do
    if [[ "$a" =~ ^WRK_[A-Z_]+= ]]; then envs+=("$a"); else args+=("$a"); fi
  done
  out=$(env "${envs[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s \
    -s "$GW/bearer.lua" "${args[@]+"${args[@]}"}" "$url" 2>&1) || die "$name: wrk failed: $out"
  printf '== %s %s\n%s\n' "$name" "$(date -u +%T)" "$out" >>"$TMP/wrk.log"
  W_RPS=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  W_LINE=$(grep -m1 '^TGBENCH ' <<<"$out" || true)
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  [[ -n "$W_RPS" && -n "$W_LINE" ]] || die "$name: could not parse wrk output: $out"
  [[ -z "$non2xx" || "$non2xx" == 0 ]] && [[ "$(kv non2xx_or_3xx)" == 0 ]] ||
    die "$name: non-2xx responses under load (a benchmark of errors is worthless): $out"
  [[ -z "$errs" || "$errs" == 0 ]] && [[ "$(kv errors)" == 0 ]] || die "$name: socket errors under load: $out"
  [[ "$(kv requests)" -gt 0 ]] || die "$name: no request completed: $out"
}
kv() { grep -o -E "(^| )$1=[^ ]+" <<<"$W_LINE" | head -n1 | cut -d= -f2; }

# get_token -> one access token by curl (checked to be an RS256 JWT)
get_token() {
  local resp alg
  resp=$(curl -sS --max-time 10 --cacert "$TG_CA" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "$TG_BODY" "$TG_TOKEN_URL" 2>&1) || die "token request failed: $resp"
  alg=$(jq -r '.access_token | split(".") | select(length == 3) | .[0]
               | gsub("-"; "+") | gsub("_"; "/") | . + ("=" * ((4 - length % 4) % 4))
               | @base64d | fromjson | .alg' <<<"$resp" 2>/dev/null || true)
  [[ "$alg" == RS256 ]] || die "no RS256 JWT access_token from $TG_TOKEN_URL: ${resp:0:300}"
  jq -r .access_token <<<"$resp"
}

# ---------------------------------------------------------------- upstream and nginx proxy
UPSTREAM_BODY=$(printf 'tokengate-bench-upstream-%075d' 0)   # exactly 100 bytes, no newline
((${#UPSTREAM_BODY} == 100)) || die "upstream body is not 100 bytes"
printf '%s' "$UPSTREAM_BODY" >"$TMP/upstream-body"
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's|^nginx version: ||')

start_nginx() { # start_nginx NAME TEMPLATE PORT [KEY=VALUE...] -> sets NGINX_PID
  local name=$1 tpl=$2 port=$3 dir="$TMP/$1"
  shift 3
  mkdir -p "$dir"
  render "$tpl" "$dir/nginx.conf" DIR="$dir" WORKERS="$NGINX_WORKERS" PORT="$port" "$@"
  "$NGINX" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$TMP/$name.log" 2>&1 ||
    die "$name: nginx -t failed: $(cat "$TMP/$name.log")"
  "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >>"$TMP/$name.log" 2>&1 </dev/null &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
}

free_port; UPSTREAM_PORT=$FREE_PORT
log "starting upstream ($NGINX_VERSION) on $HOST:$UPSTREAM_PORT"
start_nginx upstream "$GW/upstream.nginx.conf" "$UPSTREAM_PORT" BODY="$UPSTREAM_BODY"
UPSTREAM_PID=$NGINX_PID
UPSTREAM_URL="http://$HOST:$UPSTREAM_PORT"
wait_http upstream "$UPSTREAM_PID" "$UPSTREAM_URL/" 200

free_port; PROXY_PORT=$FREE_PORT
log "starting nginx reverse proxy on $HOST:$PROXY_PORT"
start_nginx nginx-proxy "$GW/proxy.nginx.conf" "$PROXY_PORT" UPSTREAM_PORT="$UPSTREAM_PORT"
PROXY_PID=$NGINX_PID
wait_http nginx-proxy "$PROXY_PID" "http://$HOST:$PROXY_PORT/" 200

# ---------------------------------------------------------------- tokengate (issuer, gateway)
TG_VERSION=$("$BIN" --version 2>/dev/null | head -n1 || true)
TG_VERSION="${TG_VERSION:-unknown} ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo no-git))"
TG_ARGS=(dev --data-dir "$TMP/tg" --issuer-port 0 --gateway-port 0 --admin-port 0)
[[ "$SKIP_GATEWAY" == 1 ]] || TG_ARGS+=(--upstream "$UPSTREAM_URL")
# shellcheck disable=SC2206 # word splitting intended: a list of arguments
[[ -z "${TG_EXTRA_ARGS:-}" ]] || TG_ARGS+=(${TG_EXTRA_ARGS})
log "starting $BIN ${TG_ARGS[*]}"
"$BIN" "${TG_ARGS[@]}" >"$TMP/tokengate.log" 2>&1 </dev/null &
TG_PID=$!
PIDS+=("$TG_PID")
DEV="$TMP/tg/dev.json"
deadline=$((SECONDS + START_TIMEOUT))
until [[ -s "$DEV" ]] && jq -e '.authority' "$DEV" >/dev/null 2>&1 &&
  { [[ "$SKIP_GATEWAY" == 1 ]] || jq -e '.gateway_url | strings' "$DEV" >/dev/null 2>&1; }; do
  kill -0 "$TG_PID" 2>/dev/null || die "tokengate exited during start-up"
  ((SECONDS < deadline)) || die "tokengate did not write $DEV (with authority and gateway_url) within ${START_TIMEOUT}s"
  sleep 0.2
done
TG_AUTHORITY=$(jq -er '.authority' "$DEV") || die "dev.json: no authority"
TG_ISSUER=$(jq -er '.issuer' "$DEV") || die "dev.json: no issuer"
TG_CA=$(jq -er '.ca_cert' "$DEV") || die "dev.json: no ca_cert"
TG_CLIENT_ID=$(jq -er '.confidential_client.client_id' "$DEV") || die "dev.json: no confidential_client.client_id"
TG_SECRET=$(jq -er '.confidential_client.client_secret' "$DEV") || die "dev.json: no confidential_client.client_secret"
TG_APP_ID=$(jq -er '.api.app_id' "$DEV") || die "dev.json: no api.app_id"
TG_APP_ID_URI=$(jq -er '.api.app_id_uri' "$DEV") || die "dev.json: no api.app_id_uri"
ROUTE=$(jq -r '.api.demo_route // empty' "$DEV")
if [[ -z "$ROUTE" ]]; then
  [[ "$SKIP_GATEWAY" == 1 ]] || die "dev.json: no api.demo_route"
  ROUTE=$DEFAULT_ROUTE
fi
[[ "$ROUTE" == /* ]] || die "dev.json: api.demo_route is not a path: $ROUTE"
[[ "$TG_AUTHORITY" == https://127.0.0.1:* ]] || die "tokengate authority is not on loopback: $TG_AUTHORITY"
[[ "$TG_CA" == /* ]] || TG_CA="$TMP/tg/$TG_CA"
TG_TOKEN_URL="${TG_AUTHORITY%/}/oauth2/v2.0/token"
TG_JWKS_URI="${TG_AUTHORITY%/}/discovery/v2.0/keys"
TG_BODY="grant_type=client_credentials&client_id=$(urlenc "$TG_CLIENT_ID")&client_secret=$(urlenc "$TG_SECRET")&scope=$(urlenc "$TG_APP_ID_URI/.default")"
GW_URL=""
if [[ "$SKIP_GATEWAY" != 1 ]]; then
  GW_BASE=$(jq -er '.gateway_url' "$DEV") || die "dev.json: no gateway_url"
  [[ "$GW_BASE" == http://127.0.0.1:* ]] || die "gateway_url is not http on loopback: $GW_BASE"
  GW_URL="${GW_BASE%/}$ROUTE"
fi
TOKEN=$(get_token)
log "tokengate issuer ready at $TG_AUTHORITY${GW_URL:+, gateway route $GW_URL}"

# ---------------------------------------------------------------- Apache httpd + mod_auth_openidc
AP_URL=""
APACHE_VERSION="skipped" OIDC_VERSION=""
if [[ "$SKIP_APACHE" != 1 ]]; then
  APACHE_VERSION=$("$APACHE_BIN" -v 2>/dev/null | sed -n 's|^Server version: ||p')
  OIDC_VERSION=$(dpkg-query -W -f='${Version}' libapache2-mod-auth-openidc 2>/dev/null || echo unknown)
  AP_DIR="$TMP/apache"
  mkdir -p "$AP_DIR/run"
  chmod 755 "$AP_DIR"
  cp "$TG_CA" "$AP_DIR/ca.pem"
  chmod 644 "$AP_DIR/ca.pem"
  AP_USER=www-data AP_GROUP=www-data
  id -u "$AP_USER" >/dev/null 2>&1 || AP_USER=nobody AP_GROUP=nogroup
  free_port; AP_PORT=$FREE_PORT
  render "$GW/apache.conf" "$AP_DIR/httpd.conf" DIR="$AP_DIR" PORT="$AP_PORT" USER="$AP_USER" GROUP="$AP_GROUP" \
    LOGLEVEL=warn CA_CERT="$AP_DIR/ca.pem" JWKS_URI="$TG_JWKS_URI" IAT_SLACK=3600 \
    UPSTREAM_PORT="$UPSTREAM_PORT" AUDIENCE="$TG_APP_ID" ISSUER="$TG_ISSUER"
  "$APACHE_BIN" -t -f "$AP_DIR/httpd.conf" >"$TMP/apache.log" 2>&1 ||
    die "apache: configtest failed: $(cat "$TMP/apache.log")"
  log "starting $APACHE_VERSION + mod_auth_openidc $OIDC_VERSION on $HOST:$AP_PORT"
  "$APACHE_BIN" -f "$AP_DIR/httpd.conf" -DFOREGROUND >>"$TMP/apache.log" 2>&1 </dev/null &
  AP_PID=$!
  PIDS+=("$AP_PID")
  AP_URL="http://$HOST:$AP_PORT$ROUTE"
  wait_http apache "$AP_PID" "$AP_URL" 401
fi

# ---------------------------------------------------------------- check every server once
PROXY_URL="http://$HOST:$PROXY_PORT$ROUTE"
DIRECT_URL="$UPSTREAM_URL$ROUTE"
BAD_TOKEN="${TOKEN%?????}AAAAA"   # same header and claims, broken signature
[[ "$BAD_TOKEN" != "$TOKEN" ]] || BAD_TOKEN="${TOKEN%?????}BBBBB"
check_servers() { # check_servers WHEN
  expect "upstream ($1)" "$DIRECT_URL" 200 "$TMP/upstream-body"
  expect "nginx-proxy ($1)" "$PROXY_URL" 200 "$TMP/upstream-body" -H "Authorization: Bearer $TOKEN"
  local name url
  for name in tokengate apache; do
    case $name in tokengate) url=$GW_URL ;; apache) url=$AP_URL ;; esac
    [[ -n "$url" ]] || continue
    expect "$name ($1, valid token)" "$url" 200 "$TMP/upstream-body" -H "Authorization: Bearer $TOKEN"
    expect "$name ($1, no token)" "$url" 401 -
    expect "$name ($1, bad signature)" "$url" 401 - -H "Authorization: Bearer $BAD_TOKEN"
  done
}
check_servers "before load"
log "checked: upstream and nginx-proxy answer the 100-byte body; ${GW_URL:+tokengate and }${AP_URL:+apache }answer 200 + body with the token, 401 without it or with a bad signature"

sleep 1
RSS_IDLE=$(rss_kb "$TG_PID")
RSS_WARM=""

# ---------------------------------------------------------------- measure
SUBJECTS=(nginx-proxy)
[[ -z "$GW_URL" ]] || SUBJECTS+=(tokengate)
[[ -z "$AP_URL" ]] || SUBJECTS+=(apache)
url_of() {
  case $1 in
    nginx-proxy) echo "$PROXY_URL" ;; tokengate) echo "$GW_URL" ;; apache) echo "$AP_URL" ;; direct) echo "$DIRECT_URL" ;;
  esac
}

if ((WARMUP > 0)); then
  log "warm-up ${WARMUP}s each (not counted)"
  for s in "${SUBJECTS[@]}"; do wrk_run "$s-warmup" "$(url_of "$s")" "$WARMUP" -H "Authorization: Bearer $TOKEN"; done
  RSS_WARM=$(rss_kb "$TG_PID")
fi

declare -A R   # R[scenario,subject,round] = value
RSS_BEFORE=() RSS_AFTER=() NEW_DISTINCT_TOTAL=0
NEED_TOKENS=0
[[ -z "$GW_URL" && -z "$AP_URL" ]] || NEED_TOKENS=1
for ((r = 1; r <= ROUNDS; r++)); do
  TOKEN=$(get_token)   # a fresh repeated token per round (mod_auth_openidc also checks iat age)
  TOKFILE="$TMP/tokens-round$r.txt"
  if ((NEED_TOKENS)); then
    t0=$SECONDS
    fetch_tokens "$NEW_TOKENS" "$TOKFILE"
    log "round $r/$ROUNDS: fetched $NEW_TOKENS distinct fresh tokens in $((SECONDS - t0))s"
    R[rssfetch,x,$r]=$(rss_kb "$TG_PID")
  fi

  # repeated token
  if [[ "$DIRECT" == 1 ]]; then
    wrk_run direct "$DIRECT_URL" "$DURATION" -H "Authorization: Bearer $TOKEN"
    R[rep,direct,$r]=$W_RPS; log "round $r/$ROUNDS repeated   upstream-direct req/s: $W_RPS"
  fi
  for s in "${SUBJECTS[@]}"; do
    wrk_run "$s-repeated" "$(url_of "$s")" "$DURATION" -H "Authorization: Bearer $TOKEN"
    R[rep,$s,$r]=$W_RPS
    R[repp99,$s,$r]=$(kv p99_us)
    [[ "$s" != tokengate ]] || R[rssrep,x,$r]=$(rss_kb "$TG_PID")
    log "round $r/$ROUNDS repeated   $s req/s: $W_RPS (p99 $(kv p99_us) us)"
  done

  # new token on every request
  if ((NEED_TOKENS)); then
    for s in "${SUBJECTS[@]}"; do
      case $s in
        nginx-proxy)
          # the same Lua token cycling (same wrk cost per request); nginx checks nothing, so the
          # whole duration counts
          wrk_run "$s-newtoken" "$(url_of "$s")" "$DURATION" WRK_TOKENS="$TOKFILE"
          R[new,$s,$r]=$W_RPS
          log "round $r/$ROUNDS new-token  $s req/s: $W_RPS (same token cycling, whole run)"
          ;;
        *)
          [[ "$s" != tokengate ]] || RSS_BEFORE+=("$(rss_kb "$TG_PID")")
          wrk_run "$s-newtoken" "$(url_of "$s")" "$DURATION" WRK_TOKENS="$TOKFILE" WRK_STOP_AT_REPEAT=1
          R[new,$s,$r]=$(kv fresh_rps)
          R[newfresh,$s,$r]=$(kv fresh)
          R[newsent,$s,$r]=$(kv sent)
          R[newwin,$s,$r]=$(kv window_s)
          R[newwrap,$s,$r]=$(kv threads_wrapped)
          if [[ "$s" == tokengate ]]; then
            RSS_AFTER+=("$(rss_kb "$TG_PID")")
            NEW_DISTINCT_TOTAL=$((NEW_DISTINCT_TOTAL + $(kv fresh)))
          fi
          log "round $r/$ROUNDS new-token  $s req/s: $(kv fresh_rps) ($(kv fresh) distinct tokens in $(kv window_s)s, $(kv sent) sent; threads out of tokens: $(kv threads_wrapped))"
          ;;
      esac
    done
  fi

  # latency at LATENCY_LOAD x nginx-proxy's max rps of this round, repeated token
  if [[ -n "$GW_URL" ]]; then
    rate=$(awk -v r="${R[rep,nginx-proxy,$r]}" -v l="$LATENCY_LOAD" 'BEGIN { printf "%.0f", r * l }')
    R[latrate,x,$r]=$rate
    for s in nginx-proxy tokengate; do
      wrk_run "$s-latency" "$(url_of "$s")" "$DURATION" WRK_RATE="$rate" -H "Authorization: Bearer $TOKEN"
      R[latrps,$s,$r]=$(awk -v n="$(kv requests)" -v d="$(kv duration_us)" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
      R[p50,$s,$r]=$(kv p50_us)
      R[p99,$s,$r]=$(kv p99_us)
      R[p999,$s,$r]=$(kv p999_us)
      log "round $r/$ROUNDS latency    $s at ~$rate req/s offered (${R[latrps,$s,$r]} achieved): p50 $(kv p50_us) us, p99 $(kv p99_us) us"
    done
  fi
  rm -f "$TOKFILE"
done
# Servers must still answer correctly after the load.
check_servers "after load"

# ---------------------------------------------------------------- report
col() { # col KEY SUBJECT -> the non-empty per-round values
  local r
  for ((r = 1; r <= ROUNDS; r++)); do [[ -z "${R[$1,$2,$r]:-}" ]] || echo "${R[$1,$2,$r]}"; done
}
med() { local -a v; mapfile -t v < <(col "$1" "$2"); median "${v[@]+"${v[@]}"}"; }
ratio() { # ratio A B -> 2 decimals, "n/a" if missing
  [[ -n "$1" && -n "$2" ]] || { echo "n/a"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
verdict() { # verdict VALUE TARGET [le] -> met / MISSED / n/a
  [[ "$1" != n/a && -n "$1" ]] || { echo "n/a"; return; }
  if [[ "${3:-ge}" == le ]]; then
    awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 <= t + 0) ? "met" : "MISSED" }'
  else
    awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0) ? "met" : "MISSED" }'
  fi
}
fmt() { [[ -n "${1:-}" ]] && awk -v v="$1" 'BEGIN { printf "%.0f", v }' || echo "n/a"; }
ms() { [[ -n "${1:-}" ]] && awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }' || echo "n/a"; }
mb() { [[ -n "${1:-}" ]] && awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }' || echo "n/a"; }

M_DIRECT=$(med rep direct)
M_PX=$(med rep nginx-proxy) M_GW=$(med rep tokengate) M_AP=$(med rep apache)
M_PXN=$(med new nginx-proxy) M_GWN=$(med new tokengate) M_APN=$(med new apache)
M_PX99=$(med p99 nginx-proxy) M_GW99=$(med p99 tokengate)
M_PX50=$(med p50 nginx-proxy) M_GW50=$(med p50 tokengate)
M_LATRATE=$(med latrate x)
RAT_REP=$(ratio "$M_GW" "$M_PX")
RAT_NEW=$(ratio "$M_GWN" "$M_PXN")
RAT_NEW_VS_REP=$(ratio "$M_GWN" "$M_PX")
RAT_AP=$(ratio "$M_GW" "$M_AP")
RAT_APN=$(ratio "$M_GWN" "$M_APN")
ADDED_P99="n/a"
[[ -z "$M_PX99" || -z "$M_GW99" ]] || ADDED_P99=$(awk -v g="$M_GW99" -v p="$M_PX99" 'BEGIN { printf "%.2f", (g - p) / 1000 }')
DELTA_RSS="" PER_TOKEN_B="n/a"
if ((${#RSS_AFTER[@]} > 0)) && [[ -n "$GW_URL" ]]; then
  DELTA_RSS=0
  for ((i = 0; i < ${#RSS_AFTER[@]}; i++)); do DELTA_RSS=$((DELTA_RSS + RSS_AFTER[i] - RSS_BEFORE[i])); done
  ((NEW_DISTINCT_TOTAL > 0)) && PER_TOKEN_B=$(awk -v d="$DELTA_RSS" -v n="$NEW_DISTINCT_TOTAL" 'BEGIN { printf "%.0f", d * 1024 / n }')
fi
RSS_LAST=""
((${#RSS_AFTER[@]} == 0)) || RSS_LAST=${RSS_AFTER[${#RSS_AFTER[@]}-1]}

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
CMD="ROUNDS=$ROUNDS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS WARMUP=$WARMUP NEW_TOKENS=$NEW_TOKENS LATENCY_LOAD=$LATENCY_LOAD"
[[ "$DIRECT" != 1 ]] || CMD+=" DIRECT=1"
[[ "$SKIP_APACHE" != 1 ]] || CMD+=" SKIP_APACHE=1"
[[ -n "$GW_URL" || -n "$GATEWAY_NOTE" ]] || CMD+=" SKIP_GATEWAY=1"
[[ "$TOKENGATE_BIN" == "$DEFAULT_BIN" ]] || CMD+=" TOKENGATE_BIN=$TOKENGATE_BIN"
[[ -z "${TG_EXTRA_ARGS:-}" ]] || CMD+=" TG_EXTRA_ARGS='$TG_EXTRA_ARGS'"
CMD+=" bench/gateway.sh"

cell() { # cell KEY SUBJECT ROUND [fmt]
  local v=${R[$1,$2,$3]:-}
  case ${4:-n} in n) fmt "$v" ;; ms) ms "$v" ;; esac
}

mkdir -p "$OUT_DIR"
{
  echo "# Gateway: validating reverse proxy, side by side"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $CPU"
  echo "- command: \`$CMD\`"
  echo "- load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s\` GET \`$ROUTE\` with \`Authorization: Bearer <RS256 JWT>\` on 127.0.0.1 (keep-alive); upstream: nginx, fixed 100-byte body; interleaved ${SUBJECTS[*]} per scenario x $ROUNDS rounds; medians"
  echo "- tokengate: $TG_VERSION (\`tokengate ${TG_ARGS[*]}\`)${GATEWAY_NOTE:+ — **$GATEWAY_NOTE**}"
  echo "- nginx: $NGINX_VERSION (upstream and proxy, worker_processes $NGINX_WORKERS each; proxy: upstream keepalive 128)"
  if [[ -n "$AP_URL" ]]; then
    echo "- apache: $APACHE_VERSION, event MPM, mod_auth_openidc $OIDC_VERSION (\`AuthType oauth20\`, \`OIDCOAuthVerifyJwksUri\`: RS256 signature, exp, \`Require claim\` aud and iss; it verifies the signature on every request, it has no verified-token cache), mod_proxy_http"
  fi
  echo "- $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}'); tokens from tokengate's client_credentials grant (\`$TG_APP_ID_URI/.default\`)"
  echo
  echo "## Throughput (req/s)"
  echo
  printf '| round |'; [[ "$DIRECT" != 1 ]] || printf ' upstream direct |'
  for s in "${SUBJECTS[@]}"; do printf ' %s repeated |' "$s"; done
  ((NEED_TOKENS)) && for s in "${SUBJECTS[@]}"; do printf ' %s new-token |' "$s"; done
  echo
  printf '|---|'; [[ "$DIRECT" != 1 ]] || printf -- '---:|'
  for s in "${SUBJECTS[@]}"; do printf -- '---:|'; done
  ((NEED_TOKENS)) && for s in "${SUBJECTS[@]}"; do printf -- '---:|'; done
  echo
  for ((r = 1; r <= ROUNDS; r++)); do
    printf '| %s |' "$r"; [[ "$DIRECT" != 1 ]] || printf ' %s |' "$(cell rep direct "$r")"
    for s in "${SUBJECTS[@]}"; do printf ' %s |' "$(cell rep "$s" "$r")"; done
    ((NEED_TOKENS)) && for s in "${SUBJECTS[@]}"; do printf ' %s |' "$(cell new "$s" "$r")"; done
    echo
  done
  printf '| **median** |'; [[ "$DIRECT" != 1 ]] || printf ' **%s** |' "$(fmt "$M_DIRECT")"
  for s in "${SUBJECTS[@]}"; do printf ' **%s** |' "$(fmt "$(med rep "$s")")"; done
  ((NEED_TOKENS)) && for s in "${SUBJECTS[@]}"; do printf ' **%s** |' "$(fmt "$(med new "$s")")"; done
  echo
  echo
  if ((NEED_TOKENS)); then
    echo "New-token scenario: $NEW_TOKENS fresh tokens per round, each wrk thread cycling through its own slice."
    echo "For tokengate and apache a thread stops at its first repeated token and the rate counts only"
    echo "requests with a token not sent before, over each thread's own window (so: no verified-token cache hits)."
    echo "nginx-proxy runs the same Lua token cycling for the whole duration (it checks no token)."
    echo
    echo "| round | subject | distinct tokens sent (= requests counted) | requests sent | window s | threads out of tokens |"
    echo "|---|---|---:|---:|---:|---|"
    for ((r = 1; r <= ROUNDS; r++)); do
      for s in tokengate apache; do
        [[ -n "${R[newfresh,$s,$r]:-}" ]] || continue
        echo "| $r | $s | ${R[newfresh,$s,$r]} | ${R[newsent,$s,$r]} | ${R[newwin,$s,$r]} | ${R[newwrap,$s,$r]} |"
      done
    done
    echo
    echo "(requests sent − distinct = requests a stopping thread had already queued; they are not counted.)"
    echo
  fi
  if [[ -n "$GW_URL" ]]; then
    echo "## Latency at ${LATENCY_LOAD} × nginx-proxy's max rps (repeated token)"
    echo
    echo "wrk2 (constant rate) is not packaged in Debian. Approximation: \`wrk -c$CONNECTIONS\` with a Lua \`delay()\`"
    echo "that holds each request until the next send slot of a fixed schedule (offered rate / $THREADS threads),"
    echo "so both servers get the same offered rate; a thread that falls behind sends at once to catch up."
    echo "Latencies are wrk's, from the actual send (not corrected for coordinated omission)."
    echo
    echo "| round | offered req/s | nginx-proxy achieved | tokengate achieved | nginx-proxy p50 ms | tokengate p50 ms | nginx-proxy p99 ms | tokengate p99 ms | nginx-proxy p99.9 ms | tokengate p99.9 ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for ((r = 1; r <= ROUNDS; r++)); do
      echo "| $r | ${R[latrate,x,$r]} | ${R[latrps,nginx-proxy,$r]} | ${R[latrps,tokengate,$r]} | $(cell p50 nginx-proxy "$r" ms) | $(cell p50 tokengate "$r" ms) | $(cell p99 nginx-proxy "$r" ms) | $(cell p99 tokengate "$r" ms) | $(cell p999 nginx-proxy "$r" ms) | $(cell p999 tokengate "$r" ms) |"
    done
    echo "| **median** | $(fmt "$M_LATRATE") | | | **$(ms "$M_PX50")** | **$(ms "$M_GW50")** | **$(ms "$M_PX99")** | **$(ms "$M_GW99")** | | |"
    echo
    echo "## Memory (tokengate RSS, /proc/PID/status VmRSS)"
    echo
    echo "| when | RSS MB |"
    echo "|---|---:|"
    echo "| idle, after start-up and the checks, before any load | $(mb "$RSS_IDLE") |"
    [[ -z "$RSS_WARM" ]] || echo "| after the warm-up (repeated token, ${WARMUP}s) | $(mb "$RSS_WARM") |"
    for ((i = 0; i < ${#RSS_AFTER[@]}; i++)); do
      echo "| round $((i + 1)): after fetching its $NEW_TOKENS tokens (issuer) / after repeated | $(mb "${R[rssfetch,x,$((i + 1))]:-}") / $(mb "${R[rssrep,x,$((i + 1))]:-}") |"
      echo "| round $((i + 1)): before / after new-token | $(mb "${RSS_BEFORE[$i]}") / $(mb "${RSS_AFTER[$i]}") |"
    done
    echo
    echo "Per cached token ≈ sum over rounds of (RSS after − before the new-token run) / distinct tokens verified"
    echo "= $(mb "$DELTA_RSS") MB / $NEW_DISTINCT_TOTAL = **$PER_TOKEN_B bytes** (an upper bound if nothing is evicted: it also holds"
    echo "allocator slack; a lower bound if the cache evicted entries during the run)."
    echo
  fi
  echo "## Ratios (medians) vs targets"
  echo
  echo "| ratio | value | target | |"
  echo "|---|---:|---:|---|"
  echo "| tokengate / nginx-proxy, repeated token | $RAT_REP | ≥ 0.9 | $(verdict "$RAT_REP" 0.9) |"
  echo "| tokengate / nginx-proxy, new token every request (same token cycling) | $RAT_NEW | ≥ 0.5 | $(verdict "$RAT_NEW" 0.5) |"
  echo "| tokengate new-token / nginx-proxy repeated (plain wrk) | $RAT_NEW_VS_REP | (reference) | |"
  echo "| tokengate p99 − nginx-proxy p99 at ${LATENCY_LOAD} load, ms | $ADDED_P99 | ≤ 0.5 | $(verdict "$ADDED_P99" 0.5 le) |"
  echo "| tokengate / apache+mod_auth_openidc, repeated token | $RAT_AP | ≥ 2 | $(verdict "$RAT_AP" 2) |"
  echo "| tokengate / apache+mod_auth_openidc, new token | $RAT_APN | (reference) | |"
  echo "| tokengate idle RSS, MB | $(mb "$RSS_IDLE") | ≤ 50 | $(verdict "$(mb "$RSS_IDLE")" 50 le) |"
  echo "| tokengate memory per cached token, bytes | $PER_TOKEN_B | ≤ 1024 | $(verdict "$PER_TOKEN_B" 1024 le) |"
  if [[ -n "$GATEWAY_NOTE" ]]; then
    echo
    echo "tokengate was not measured: $GATEWAY_NOTE. Its idle RSS above is the issuer-only process."
  fi
} >"$OUT_MD"

# Plain-text table on stdout.
echo
printf '%-58s %12s\n' "median over $ROUNDS round(s)" "value"
[[ "$DIRECT" != 1 ]] || printf '%-58s %12s\n' "upstream direct req/s (reference)" "$(fmt "$M_DIRECT")"
printf '%-58s %12s\n' "nginx-proxy req/s, repeated token" "$(fmt "$M_PX")"
printf '%-58s %12s\n' "tokengate req/s, repeated token" "$(fmt "$M_GW")"
printf '%-58s %12s\n' "apache+mod_auth_openidc req/s, repeated token" "$(fmt "$M_AP")"
printf '%-58s %12s\n' "nginx-proxy req/s, token cycling" "$(fmt "$M_PXN")"
printf '%-58s %12s\n' "tokengate req/s, new token every request" "$(fmt "$M_GWN")"
printf '%-58s %12s\n' "apache+mod_auth_openidc req/s, new token every request" "$(fmt "$M_APN")"
printf '%-58s %12s\n' "latency: offered req/s (${LATENCY_LOAD} x nginx-proxy)" "$(fmt "$M_LATRATE")"
printf '%-58s %12s\n' "latency: nginx-proxy p50 / p99 ms" "$(ms "$M_PX50") / $(ms "$M_PX99")"
printf '%-58s %12s\n' "latency: tokengate p50 / p99 ms" "$(ms "$M_GW50") / $(ms "$M_GW99")"
printf '%-58s %12s\n' "tokengate RSS idle MB" "$(mb "$RSS_IDLE")"
printf '%-58s %12s\n' "tokengate RSS after last new-token run MB" "$(mb "$RSS_LAST")"
printf '%-58s %12s   %s\n' "tokengate / nginx-proxy, repeated" "$RAT_REP" "target >= 0.9: $(verdict "$RAT_REP" 0.9)"
printf '%-58s %12s   %s\n' "tokengate / nginx-proxy, new token (same cycling)" "$RAT_NEW" "target >= 0.5: $(verdict "$RAT_NEW" 0.5)"
printf '%-58s %12s   %s\n' "tokengate p99 - nginx-proxy p99 (ms)" "$ADDED_P99" "target <= 0.5: $(verdict "$ADDED_P99" 0.5 le)"
printf '%-58s %12s   %s\n' "tokengate / apache, repeated" "$RAT_AP" "target >= 2: $(verdict "$RAT_AP" 2)"
printf '%-58s %12s   %s\n' "tokengate idle RSS MB" "$(mb "$RSS_IDLE")" "target <= 50: $(verdict "$(mb "$RSS_IDLE")" 50 le)"
printf '%-58s %12s   %s\n' "tokengate bytes per cached token" "$PER_TOKEN_B" "target <= 1024: $(verdict "$PER_TOKEN_B" 1024 le)"
[[ -z "$GATEWAY_NOTE" ]] || printf '\n%s\n' "NOTE: $GATEWAY_NOTE"
echo
log "markdown written to ${OUT_MD#"$ROOT"/}"
