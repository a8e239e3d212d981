# shellcheck shell=bash
# Helpers shared by the bench scripts (sourced, not run): logging, installing Debian packages on
# demand, stopping processes by PID, URL encoding, medians.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() { # apt_install PACKAGE...
  if ((EUID != 0)); then die "missing packages ($*) and not root: apt-get install -y $*"; fi
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  # Debian's postinst scripts may start the system nginx/apache2 services where an init system
  # runs them; the bench scripts never use those (their servers have their own configs and ports).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

stop_pid() { # TERM, wait up to 5 s, then KILL; also the process's direct children
  local pid=$1 kids i
  kill -0 "$pid" 2>/dev/null || return 0
  kids=$(pgrep -P "$pid" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  for k in $kids; do
    for ((i = 0; i < 30; i++)); do kill -0 "$k" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$k" 2>/dev/null; then kill -KILL "$k" 2>/dev/null || true; fi
  done
  wait "$pid" 2>/dev/null || true
}

urlenc() { jq -rn --arg s "$1" '$s|@uri'; }

median() { # median of the arguments (empty if none)
  (($# > 0)) || { echo ""; return; }
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

package_for() { # the Debian package(s) that provide a command
  case $1 in
    curl) echo "curl ca-certificates" ;;
    node) echo nodejs ;;
    python3) echo "python3 python3-venv" ;;
    *) echo "$1" ;;
  esac
}

ensure_commands() { # ensure_commands COMMAND...: installs the packages of the missing ones
  local need=() c
  for c in "$@"; do
    # shellcheck disable=SC2207 # package_for prints space-separated package names
    command -v "$c" >/dev/null 2>&1 || need+=($(package_for "$c"))
  done
  ((${#need[@]} == 0)) || apt_install "${need[@]}"
}

npm_ci_pinned() { # npm_ci_pinned DIR PACKAGE: `npm ci` in DIR unless PACKAGE is at its pin; prints its version
  local dir=$1 pkg=$2 pin have
  pin=$(jq -r --arg p "$pkg" '.dependencies[$p]' "$dir/package.json")
  have=$(jq -r '.version' "$dir/node_modules/$pkg/package.json" 2>/dev/null || true)
  if [[ "$have" != "$pin" ]]; then
    log "npm ci in $dir ($pkg $pin)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    have=$(jq -r '.version' "$dir/node_modules/$pkg/package.json")
  fi
  echo "$have"
}

# start_bench_tmp PREFIX: a fresh $TMP, an empty $PIDS (append every process you start), and the
# traps that stop those processes (newest first) on any exit, show the tail of their logs when the
# run failed, and remove $TMP unless KEEP_TMP=1.
start_bench_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local rc=$? i f
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  if ((rc != 0)); then
    for f in "$TMP"/*.log "$TMP"/*/error.log; do
      [[ -s "$f" ]] || continue
      printf '[bench] --- last lines of %s\n' "${f#"$TMP"/}" >&2
      tail -n 20 "$f" >&2 || true
    done
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}

# fetch_tokens N OUTFILE: N distinct fresh access tokens from tokengate's token endpoint, one per
# line, collected by wrk (keep-alive HTTPS, bench/gateway/fetch_tokens.lua); bounded. Uses the
# caller's TG_TOKEN_URL, TG_BODY (the form body), THREADS, FETCH_CONNECTIONS and TMP.
fetch_tokens() {
  local n=$1 outfile=$2 have=0 rate=4000 secs per out attempt distinct bad
  rm -f "$TMP"/fetch.*
  for ((attempt = 1; have < n; attempt++)); do
    ((attempt <= 10)) || die "token fetch: only $have of $n tokens after 10 attempts"
    per=$(((n - have + THREADS - 1) / THREADS))
    secs=$(awk -v r="$((n - have))" -v rate="$rate" 'BEGIN { s = int(r / rate * 1.15) + 1; if (s > 300) s = 300; print s }')
    out=$(WRK_BODY="$TG_BODY" WRK_OUT="$TMP/fetch" WRK_PER_THREAD="$per" \
      wrk -t"$THREADS" -c"$FETCH_CONNECTIONS" -d"${secs}s" --timeout 10s -s "$BENCH_DIR/gateway/fetch_tokens.lua" "$TG_TOKEN_URL" 2>&1) ||
      die "token fetch: wrk failed: $out"
    if grep -q -E 'Non-2xx or 3xx responses|Socket errors' <<<"$out"; then die "token fetch: errors: $out"; fi
    have=$(cat "$TMP"/fetch.* 2>/dev/null | wc -l)
    rate=$(awk -v h="$have" -v s="$secs" 'BEGIN { r = h / s; print (r > 500 ? r : 500) }')
  done
  cat "$TMP"/fetch.* | head -n "$n" >"$outfile"
  rm -f "$TMP"/fetch.*
  distinct=$(sort -u "$outfile" | wc -l)
  bad=$(grep -c -v -E '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$outfile" || true)
  ((distinct == n && bad == 0)) || die "token fetch: $distinct distinct of $n, $bad not JWTs"
}
