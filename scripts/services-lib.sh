# shellcheck shell=bash
# Helpers shared by scripts/pg-up.sh, scripts/mail-up.sh and scripts/services-down.sh.
# Not meant to be run; the scripts `source` it.
#
# Rule for every script that sources this: stdout carries only `export NAME=value` lines
# (callers `eval` it); all progress, apt output and errors go to stderr.

die() {
  printf '%s: error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

note() {
  printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# print one `export NAME=value` line, shell-quoted
emit() {
  printf 'export %s=%q\n' "$1" "$2"
}

is_root() {
  [ "$(id -u)" = 0 ]
}

# apt_install PKG... : apt-get install (no recommends, non-interactive); output to a temp log.
# Retries once after `apt-get update` (a fresh image has empty package lists).
apt_install() {
  is_root || die "missing packages and we are not root; install them with: apt-get install $*"
  command -v apt-get >/dev/null || die "apt-get is not available; install these packages: $*"
  local log
  log=$(mktemp)
  note "installing $* (log: $log) ..."
  local apt=(apt-get -y -q -o DPkg::Lock::Timeout=120 install --no-install-recommends "$@")
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"$log" 2>&1; then
    note "install failed, running apt-get update and retrying"
    if ! { apt-get -q -o DPkg::Lock::Timeout=120 update &&
      DEBIAN_FRONTEND=noninteractive "${apt[@]}"; } >>"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "apt-get install $* failed (full log: $log)"
    fi
  fi
  rm -f "$log"
}

# ensure_pkgs FILE PKG... : apt_install PKG... unless FILE exists
ensure_pkgs() {
  local want=$1
  shift
  [ -e "$want" ] && return 0
  apt_install "$@"
  [ -e "$want" ] || die "installed $* but $want still does not exist"
}

# run a command as user $1 (drop root with setpriv; run directly when not root)
as_user() {
  local user=$1
  shift
  if is_root; then
    setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"
  else
    "$@"
  fi
}

# fail unless DIR is reachable (all parents +x) by user
check_traversable() {
  local user=$1 dir=$2
  as_user "$user" test -x "$dir" ||
    die "$dir is not reachable by user $user: make its parent directories traversable (chmod 755; mktemp -d makes 0700 dirs)"
}

# proc_running PID : true if PID exists and is not a zombie (an unreaped zombie counts as gone)
proc_running() {
  local stat=""
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || true
  stat=${stat##*) } # drop "pid (comm) "; the state letter comes next
  [ "${stat:0:1}" != Z ]
}

# pid_alive PIDFILE : true if the file holds the pid of a running process
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(head -n 1 "$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  proc_running "$pid"
}

# port_open PORT : true if something accepts TCP connections on 127.0.0.1:PORT
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_free_or_die PORT WHAT
port_free_or_die() {
  if port_open "$1"; then
    die "127.0.0.1:$1 ($2) is already in use by another process: stop it or choose another port"
  fi
}

# wait_listen PORT PIDFILE WHAT LOG : wait up to ~10 s for the port; fail loudly (with the log tail)
wait_listen() {
  local port=$1 pidfile=$2 what=$3 log=$4 i
  for i in $(seq 100); do
    if port_open "$port"; then
      return 0
    fi
    if [ "$i" -gt 5 ] && ! pid_alive "$pidfile"; then
      break
    fi
    sleep 0.1
  done
  note "$what did not come up on 127.0.0.1:$port; last lines of $log:"
  tail -n 20 "$log" >&2 2>/dev/null || true
  die "$what failed to start (port $port not listening after 10 s)"
}

# stop_pidfile PIDFILE [SIGNAL] : signal the pid and wait (max ~15 s, then SIGKILL) until it is gone
stop_pidfile() {
  local pidfile=$1 sig=${2:-TERM} pid i
  [ -s "$pidfile" ] || return 0
  pid=$(head -n 1 "$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && proc_running "$pid"; then
    kill "-$sig" "$pid" 2>/dev/null || true
    for i in $(seq 150); do
      proc_running "$pid" || break
      if [ "$i" = 150 ]; then
        note "pid $pid ($pidfile) ignored SIG$sig for 15 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
      fi
      sleep 0.1
    done
    note "stopped pid $pid ($pidfile)"
  fi
  rm -f "$pidfile"
}
