# Helpers shared by the bench scripts (sourced, not run): logging, installing Debian packages on
# demand, stopping processes by PID, URL encoding, medians.

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
