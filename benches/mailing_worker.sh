# Sourced by benches/pipeline_throughput.sh and benches/memory_flat.sh: a Postfix smtp-sink of their own,
# the release binaries, and one run of `mailer-server worker` over a queued mailing in a fresh SQLite store.
#
# Needs: PORT (the sink's port on 127.0.0.1), WORK (a scratch folder), note() and die().
# Gives: ensure_postfix, start_sink, build_binaries, smtp_source_rate N SESSIONS SIZE,
#        run_mailing EMAILS MAILBOXES BODY_BYTES WORKERS -> sets RUN_SECONDS, RUN_SENT, RUN_RSS_KB, RUN_SEED_SECONDS,
#        RUN_CPU_SECONDS and RUN_SWITCHES (the worker's CPU time and context switches while it sent).

TD="${CARGO_TARGET_DIR:-target}"
SERVER="$TD/release/mailer-server"
SEEDER="$TD/release/examples/bench_queue"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postfix() {
  if [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/sbin/smtp-source ]; then
    note "installing postfix for smtp-sink and smtp-source (the postfix daemon is not configured or started)"
    [ "$(id -u)" = 0 ] || die "smtp-sink/smtp-source missing: apt-get install postfix"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
  fi
  [ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && apt-get install -y -qq time >/dev/null; } || die "/usr/bin/time missing: apt-get install time"
  command -v sqlite3 >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq sqlite3 >/dev/null; } || die "sqlite3 missing: apt-get install sqlite3"
}

# smtp-sink on 127.0.0.1:$PORT; messages are counted by the protocol and thrown away (no -d).
start_sink() {
  port_open "$PORT" && die "port $PORT is in use: set MAILER_BENCH_SMTP_PORT"
  local args=(-h sink.bench.test)
  [ "$(id -u)" = 0 ] && args+=(-u nobody) # as root smtp-sink must drop privileges after bind
  /usr/sbin/smtp-sink "${args[@]}" "127.0.0.1:$PORT" 1024 </dev/null >"$WORK/sink.log" 2>&1 &
  SINK_PID=$!
  for _ in $(seq 50); do port_open "$PORT" && break; sleep 0.1; done
  port_open "$PORT" || { cat "$WORK/sink.log" >&2; die "smtp-sink did not start"; }
}

build_binaries() {
  nice -n 10 cargo build --release --locked -q -p mailer-http --bin mailer-server --example bench_queue >&2 ||
    die "build failed"
}

# Messages per second of one smtp-source run: N messages of SIZE bytes over SESSIONS connections, each
# keeping its connection.
smtp_source_rate() {
  local n=$1 sessions=$2 size=$3 start end
  start=$(date +%s.%N)
  /usr/sbin/smtp-source -d -s "$sessions" -m "$n" -l "$size" -M bench.test \
    -f sender@bench.test -t client@example.test "127.0.0.1:$PORT" || die "smtp-source failed"
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", n / (e - s) }'
}

waiting() { sqlite3 "$1" "SELECT count(*) FROM emails WHERE status IN ('queued','sending')"; }

run_mailing() {
  local emails=$1 mailboxes=$2 body=$3 workers=$4
  local dir="$WORK/run-$emails" key db start seeded end pid
  rm -rf "$dir" && mkdir -p "$dir"
  db="$dir/mailer.db"
  key=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
  cat >"$dir/mailer.toml" <<TOML
database_url = "sqlite://$db?mode=rwc"
secret_key = "$key"
tracking_base_url = "http://127.0.0.1:9"
workers = $workers
worker_idle_ms = 20
worker_name = "bench"
shutdown_grace_secs = 5
inbox_poll_secs = 0
message_id_domain = "bench.test"
[signing_keys]
bench = "a-bench-signing-key-0123456789"
TOML
  start=$(date +%s.%N)
  MAILER_SECRET_KEY="$key" nice -n 5 "$SEEDER" "sqlite://$db?mode=rwc" "$emails" "$mailboxes" "127.0.0.1:$PORT" "$body" >&2 ||
    die "seeding failed"
  seeded=$(date +%s.%N)
  RUN_SEED_SECONDS=$(awk -v s="$start" -v e="$seeded" 'BEGIN { printf "%.1f", e - s }')
  [ "$(waiting "$db")" = "$emails" ] || die "the seeder queued $(waiting "$db") emails, not $emails"
  start=$(date +%s.%N)
  RUST_LOG=warn nice -n "${SERVER_NICE:-0}" /usr/bin/time -v -o "$dir/time.txt" "$SERVER" -c "$dir/mailer.toml" worker >"$dir/worker.log" 2>&1 &
  local time_pid=$!
  sleep 0.2
  pid=$(pgrep -P "$time_pid" -x mailer-server || true)
  [ -n "$pid" ] || { cat "$dir/worker.log" >&2; die "the worker did not start"; }
  local limit=$((SECONDS + ${RUN_LIMIT_SECONDS:-3600}))
  while [ "$(waiting "$db")" != 0 ]; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$dir/worker.log" >&2; die "the worker stopped early"; }
    [ "$SECONDS" -lt "$limit" ] || { kill -TERM "$pid"; wait "$time_pid" || true; die "not done within ${RUN_LIMIT_SECONDS:-3600} s: $(waiting "$db") left"; }
    sleep 0.1
  done
  end=$(date +%s.%N)
  # The worker's CPU time (user + system) and context switches (all its threads) while it sent.
  RUN_CPU_SECONDS=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat")
  RUN_SWITCHES=$(cat "/proc/$pid"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }')
  kill -TERM "$pid"
  wait "$time_pid" || true
  RUN_SECONDS=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
  RUN_SENT=$(sqlite3 "$db" "SELECT count(*) FROM emails WHERE status = 'sent'")
  RUN_RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time.txt")
  [ "$RUN_SENT" = "$emails" ] || {
    sqlite3 "$db" "SELECT status, count(*), max(last_error) FROM emails GROUP BY status" >&2
    die "sent $RUN_SENT of $emails"
  }
  [ -n "${KEEP_RUN:-}" ] || rm -rf "$dir"
}
