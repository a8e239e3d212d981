#!/usr/bin/env bash
# Side-by-side benchmark of the OAuth2 client_credentials grant (client secret in the form body,
# RS256 JWT access token out):
#   openssl       `openssl speed rsa2048` sign/s on one core   = the RSA sign limit per core
#   tokengate     `tokengate dev` issuer, POST ${authority}/oauth2/v2.0/token over HTTPS
#   oidc-provider the npm library (bench/oidc-provider/server.mjs), JWT (RS256) access tokens
#                 via resource indicators, HTTPS keep-alive on loopback
# measured interleaved (openssl, tokengate, oidc-provider) x ROUNDS in one run; medians and the
# ratios against docs' targets (shared PERFORMANCE.md) are printed and written to
# bench/out/issuer_client_credentials.md.
#
# Usage: bench/issuer_client_credentials.sh        (run from anywhere; root for apt-get installs)
# Environment:
#   ROUNDS=3            interleaved rounds
#   DURATION=10         seconds per wrk measurement
#   THREADS=2 CONNECTIONS=32   wrk -t / -c
#   WARMUP=3            seconds of unmeasured load on each server before round 1 (0 = none)
#   OPENSSL_SECONDS=5   openssl speed -seconds
#   TOKENGATE_BIN=target/release/tokengate   (relative to the repo root; built with
#                       `cargo build --release -p tokengate` only if the default path is missing)
#   OIDC_WORKERS=$(nproc)  oidc-provider node processes (node:cluster); node runs JS on one
#                       thread, so this gives it the cores tokengate's runtime uses too (README.md)
#   SKIP_TOKENGATE=1    measure only openssl and oidc-provider (checks the peer set-up)
#   KEEP_TMP=1          keep the temporary directory (server logs, dev.json) for inspection
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
SKIP_TOKENGATE=${SKIP_TOKENGATE:-0}
KEEP_TMP=${KEEP_TMP:-0}
DEFAULT_BIN="target/release/tokengate"
TOKENGATE_BIN=${TOKENGATE_BIN:-$DEFAULT_BIN}
case "$TOKENGATE_BIN" in /*) BIN=$TOKENGATE_BIN ;; *) BIN="$ROOT/$TOKENGATE_BIN" ;; esac
OUT_DIR="$HERE/out"
OUT_MD="$OUT_DIR/issuer_client_credentials.md"
HOST=127.0.0.1
START_TIMEOUT=120   # seconds to wait for a server to come up

# shellcheck source=lib.sh
source "$HERE/lib.sh"

for v in ROUNDS DURATION THREADS CONNECTIONS WARMUP OPENSSL_SECONDS OIDC_WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1 && DURATION >= 1 && OIDC_WORKERS >= 1)) || die "ROUNDS, DURATION and OIDC_WORKERS must be >= 1"

# ---------------------------------------------------------------- tools
ensure_commands wrk openssl jq curl node npm

# oidc-provider from npm, pinned by bench/oidc-provider/package-lock.json.
OIDC_DIR="$HERE/oidc-provider"
OIDC_HAVE=$(npm_ci_pinned "$OIDC_DIR" oidc-provider)

if [[ "$SKIP_TOKENGATE" != 1 && ! -x "$BIN" ]]; then
  if [[ "$TOKENGATE_BIN" == "$DEFAULT_BIN" ]]; then
    log "$BIN missing: cargo build --release -p tokengate"
    (cd "$ROOT" && cargo build --release -p tokengate)
  fi
  [[ -x "$BIN" ]] || die "tokengate binary not found at $BIN"
fi

# ---------------------------------------------------------------- processes and cleanup
start_bench_tmp tokengate-bench


# check_token NAME URL BODY CAFILE: one real request must return an RS256 JWT access token.
check_token() {
  local name=$1 url=$2 body=$3 ca=$4 resp alg
  resp=$(curl -sS --max-time 10 --cacert "$ca" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "$body" "$url" 2>&1) || { log "$name: curl failed: $resp"; return 1; }
  alg=$(jq -r '.access_token | split(".") | select(length == 3) | .[0]
               | gsub("-"; "+") | gsub("_"; "/") | . + ("=" * ((4 - length % 4) % 4))
               | @base64d | fromjson | .alg' <<<"$resp" 2>/dev/null || true)
  if [[ "$alg" != RS256 ]]; then
    log "$name: no RS256 JWT access_token from $url: ${resp:0:300}"
    return 1
  fi
}

# wait_token NAME PID URL BODY CAFILE: retry check_token until it passes (bounded).
wait_token() {
  local name=$1 pid=$2 deadline=$((SECONDS + 30))
  until check_token "$name" "$3" "$4" "$5" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
    ((SECONDS < deadline)) || { check_token "$name" "$3" "$4" "$5" || true; die "$name: token request never succeeded"; }
    sleep 0.5
  done
}

# run_wrk NAME URL BODY SECONDS -> prints requests/s; fails on non-2xx responses or socket errors
run_wrk() {
  local name=$1 url=$2 body=$3 secs=$4 out rps non2xx errs
  out=$(WRK_BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s \
    -s "$HERE/post_form.lua" "$url" 2>&1) || die "$name: wrk failed: $out"
  printf '%s\n' "$out" >>"$TMP/wrk-$name.log"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  errs=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
  [[ -n "$rps" ]] || die "$name: could not parse wrk output: $out"
  [[ -z "$non2xx" || "$non2xx" == 0 ]] || die "$name: $non2xx non-2xx responses under load (a benchmark of errors is worthless): $out"
  [[ -z "$errs" || "$errs" == 0 ]] || die "$name: socket errors under load: $out"
  awk -v r="$rps" 'BEGIN { if (r + 0 <= 0) exit 1 }' || die "$name: 0 requests/s: $out"
  printf '%s\n' "$rps"
}

# openssl speed rsa2048 on one core -> sign/s
openssl_sign() {
  local out
  out=$(openssl speed -seconds "$OPENSSL_SECONDS" rsa2048 2>/dev/null) || die "openssl speed failed"
  printf '%s\n' "$out" >>"$TMP/openssl-speed.txt"
  awk '
    / sign\/s / { n = split($0, h, " "); for (i = 1; i <= n; i++) if (h[i] == "sign/s") col = i }
    /^rsa +2048 +bits/ && col { print $(col + 3); found = 1; exit }
    END { if (!found) exit 1 }' <<<"$out" || die "could not parse openssl speed output: $out"
}

# ---------------------------------------------------------------- start the servers
BENCH_CERT="$TMP/oidc-cert.pem" BENCH_KEY="$TMP/oidc-key.pem"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$HOST" \
  -addext "subjectAltName=IP:$HOST" -keyout "$BENCH_KEY" -out "$BENCH_CERT" >/dev/null 2>&1 ||
  die "openssl req -x509 failed"

# oidc-provider
OIDC_CLIENT_ID=$(cat /proc/sys/kernel/random/uuid)
OIDC_SECRET=$(openssl rand -base64 32)   # contains + / = : exercises url-encoding like tokengate's
OIDC_RESOURCE="api://tokengate-bench"
OIDC_SCOPE="api.read"
log "starting oidc-provider $OIDC_HAVE (node $(node --version), workers=$OIDC_WORKERS)"
NODE_ENV=production TLS_CERT="$BENCH_CERT" TLS_KEY="$BENCH_KEY" PORT=0 PORT_FILE="$TMP/oidc.port" \
  CLIENT_ID="$OIDC_CLIENT_ID" CLIENT_SECRET="$OIDC_SECRET" RESOURCE="$OIDC_RESOURCE" SCOPE="$OIDC_SCOPE" \
  WORKERS="$OIDC_WORKERS" node "$OIDC_DIR/server.mjs" >"$TMP/oidc-provider.log" 2>&1 &
OIDC_PID=$!
PIDS+=("$OIDC_PID")
deadline=$((SECONDS + START_TIMEOUT))
until [[ -s "$TMP/oidc.port" ]]; do
  kill -0 "$OIDC_PID" 2>/dev/null || die "oidc-provider exited during start-up"
  ((SECONDS < deadline)) || die "oidc-provider did not start within ${START_TIMEOUT}s"
  sleep 0.2
done
OIDC_URL="https://$HOST:$(cat "$TMP/oidc.port")/token"
OIDC_BODY="grant_type=client_credentials&client_id=$(urlenc "$OIDC_CLIENT_ID")&client_secret=$(urlenc "$OIDC_SECRET")&resource=$(urlenc "$OIDC_RESOURCE")&scope=$(urlenc "$OIDC_SCOPE")"
wait_token oidc-provider "$OIDC_PID" "$OIDC_URL" "$OIDC_BODY" "$BENCH_CERT"
log "oidc-provider ready at $OIDC_URL"

# tokengate
TG_VERSION="skipped"
if [[ "$SKIP_TOKENGATE" != 1 ]]; then
  TG_VERSION=$("$BIN" --version 2>/dev/null | head -n1 || true)
  TG_VERSION="${TG_VERSION:-unknown} ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo no-git))"
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
  TG_CLIENT_ID=$(jq -er '.confidential_client.client_id' "$DEV") || die "dev.json: no confidential_client.client_id"
  TG_SECRET=$(jq -er '.confidential_client.client_secret' "$DEV") || die "dev.json: no confidential_client.client_secret"
  TG_APP_ID_URI=$(jq -er '.api.app_id_uri' "$DEV") || die "dev.json: no api.app_id_uri"
  [[ "$TG_AUTHORITY" == https://127.0.0.1:* ]] || die "tokengate authority is not on loopback: $TG_AUTHORITY"
  [[ "$TG_CA" == /* ]] || TG_CA="$TMP/tg/$TG_CA"
  TG_URL="${TG_AUTHORITY%/}/oauth2/v2.0/token"
  TG_BODY="grant_type=client_credentials&client_id=$(urlenc "$TG_CLIENT_ID")&client_secret=$(urlenc "$TG_SECRET")&scope=$(urlenc "$TG_APP_ID_URI/.default")"
  wait_token tokengate "$TG_PID" "$TG_URL" "$TG_BODY" "$TG_CA"
  log "tokengate ready at $TG_URL"
fi

# ---------------------------------------------------------------- measure
if ((WARMUP > 0)); then
  log "warm-up ${WARMUP}s each (not counted)"
  [[ "$SKIP_TOKENGATE" == 1 ]] || run_wrk tokengate-warmup "$TG_URL" "$TG_BODY" "$WARMUP" >/dev/null
  run_wrk oidc-provider-warmup "$OIDC_URL" "$OIDC_BODY" "$WARMUP" >/dev/null
fi

R_OPENSSL=() R_TG=() R_OIDC=()
for ((r = 1; r <= ROUNDS; r++)); do
  v=$(openssl_sign); R_OPENSSL+=("$v"); log "round $r/$ROUNDS openssl rsa2048 sign/s: $v"
  if [[ "$SKIP_TOKENGATE" != 1 ]]; then
    v=$(run_wrk tokengate "$TG_URL" "$TG_BODY" "$DURATION"); R_TG+=("$v"); log "round $r/$ROUNDS tokengate req/s: $v"
  else
    R_TG+=("")
  fi
  v=$(run_wrk oidc-provider "$OIDC_URL" "$OIDC_BODY" "$DURATION"); R_OIDC+=("$v"); log "round $r/$ROUNDS oidc-provider req/s: $v"
done
# Servers must still answer correctly after the load.
[[ "$SKIP_TOKENGATE" == 1 ]] || check_token tokengate "$TG_URL" "$TG_BODY" "$TG_CA" || die "tokengate: token request failed after load"
check_token oidc-provider "$OIDC_URL" "$OIDC_BODY" "$BENCH_CERT" || die "oidc-provider: token request failed after load"

# ---------------------------------------------------------------- report
ratio() { # ratio A B [multiplier of B] -> 2 decimals, "n/a" if missing
  [[ -n "$1" && -n "$2" ]] || { echo "n/a"; return; }
  awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN { if (b * m > 0) printf "%.2f", a / (b * m); else print "n/a" }'
}
verdict() { # verdict RATIO TARGET
  [[ "$1" != n/a ]] || { echo "n/a"; return; }
  awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0) ? "met" : "MISSED" }'
}
fmt() { [[ -n "$1" ]] && awk -v v="$1" 'BEGIN { printf "%.0f", v }' || echo "n/a"; }

TG_VALUES=()
for v in "${R_TG[@]}"; do [[ -z "$v" ]] || TG_VALUES+=("$v"); done
M_OPENSSL=$(median "${R_OPENSSL[@]}")
M_TG=$(median "${TG_VALUES[@]+"${TG_VALUES[@]}"}")
M_OIDC=$(median "${R_OIDC[@]}")
RATIO_SIGN=$(ratio "$M_TG" "$M_OPENSSL")
RATIO_SIGN2=$(ratio "$M_TG" "$M_OPENSSL" 2)
RATIO_OIDC=$(ratio "$M_TG" "$M_OIDC")

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
CMD="ROUNDS=$ROUNDS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS WARMUP=$WARMUP OIDC_WORKERS=$OIDC_WORKERS bench/issuer_client_credentials.sh"
[[ "$SKIP_TOKENGATE" != 1 ]] || CMD="SKIP_TOKENGATE=1 $CMD"

mkdir -p "$OUT_DIR"
{
  echo "# Issuer: client_credentials grant, side by side"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $CPU"
  echo "- command: \`$CMD\`"
  echo "- load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s\` POST form, HTTPS keep-alive on 127.0.0.1, client secret in the body, RS256 JWT access token; interleaved openssl, tokengate, oidc-provider x $ROUNDS rounds; medians"
  echo "- tokengate: $TG_VERSION"
  echo "- oidc-provider $OIDC_HAVE on node $(node --version), $OIDC_WORKERS worker process(es), NODE_ENV=production"
  echo "- $(openssl version | head -n1) (\`openssl speed -seconds $OPENSSL_SECONDS rsa2048\`, one core); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')"
  echo
  echo "| round | openssl RSA-2048 sign/s (1 core) | tokengate req/s | oidc-provider req/s |"
  echo "|---|---:|---:|---:|"
  for ((i = 0; i < ROUNDS; i++)); do
    echo "| $((i + 1)) | $(fmt "${R_OPENSSL[$i]}") | $(fmt "${R_TG[$i]}") | $(fmt "${R_OIDC[$i]}") |"
  done
  echo "| **median** | **$(fmt "$M_OPENSSL")** | **$(fmt "$M_TG")** | **$(fmt "$M_OIDC")** |"
  echo
  echo "| ratio (medians) | value | target | |"
  echo "|---|---:|---:|---|"
  echo "| tokengate / openssl sign per core | $RATIO_SIGN | ≥ 0.7 | $(verdict "$RATIO_SIGN" 0.7) |"
  echo "| tokengate / (2 × openssl sign per core) — this machine has 2 cores | $RATIO_SIGN2 | (reference) | |"
  echo "| tokengate / oidc-provider | $RATIO_OIDC | ≥ 3 | $(verdict "$RATIO_OIDC" 3) |"
} >"$OUT_MD"

# Plain-text table on stdout.
echo
printf '%-44s %12s\n' "median over $ROUNDS round(s)" "value"
printf '%-44s %12s\n' "tokengate req/s" "$(fmt "$M_TG")"
printf '%-44s %12s\n' "oidc-provider req/s" "$(fmt "$M_OIDC")"
printf '%-44s %12s\n' "openssl RSA-2048 sign/s (one core)" "$(fmt "$M_OPENSSL")"
printf '%-44s %12s   %s\n' "tokengate / openssl_sign_per_core" "$RATIO_SIGN" "target >= 0.7: $(verdict "$RATIO_SIGN" 0.7)"
printf '%-44s %12s   %s\n' "tokengate / (2 x openssl_sign_per_core)" "$RATIO_SIGN2" "reference (2 cores)"
printf '%-44s %12s   %s\n' "tokengate / oidc-provider" "$RATIO_OIDC" "target >= 3: $(verdict "$RATIO_OIDC" 3)"
echo
log "markdown written to ${OUT_MD#"$ROOT"/}"
