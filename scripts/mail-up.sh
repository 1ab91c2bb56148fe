#!/usr/bin/env bash
# Start the mail services for the integration tests, all on 127.0.0.1:
#   * Postfix `smtp-sink`: plain SMTP sink that dumps every message to DIR/sink     (port 32525)
#   * Dovecot submission: SMTP with STARTTLS + AUTH PLAIN/LOGIN, relays to smtp-sink (port 32587)
#     and the same on implicit TLS ("submissions")                                    (port 32465)
#   * Dovecot IMAP (plain, LOGIN allowed without TLS) and IMAPS (implicit TLS)        (ports 31143, 31993)
#
# usage: eval "$(scripts/mail-up.sh DIR)"
#   stop:  scripts/services-down.sh DIR
#   ports: env MAILER_TEST_SMTP_SINK_PORT, MAILER_TEST_SUBMISSION_PORT, MAILER_TEST_SUBMISSION_TLS_PORT,
#          MAILER_TEST_IMAP_PORT, MAILER_TEST_IMAPS_PORT override the defaults above.
#   files: DIR/{smtp-sink,dovecot}.pid, DIR/{smtp-sink,dovecot}.log, DIR/dovecot.conf, DIR/{cert,key}.pem
#   stdout: export lines MAILER_TEST_SMTP_SINK, _SMTP_SINK_DIR, _SUBMISSION, _SUBMISSION_TLS, _IMAP, _IMAPS,
#           _MAIL_DIR, _TLS_CERT, _MAIL_USER, _MAIL_PASS, _MAIL_USER_NOSPECIAL, _MAIL_USER_INBOX (nothing else
#           goes to stdout).
#
# Users (one passwd file shared by IMAP and submission), password `secret` for both:
#   test@example.test       mailbox `Sent` marked SPECIAL-USE \Sent (auto=subscribe)
#   nospecial@example.test  no \Sent special-use mailbox at all; has a plain folder `Sent Items`
#                           (auto=subscribe), so "find the Sent folder by name" can be tested.
#   inbox@example.test      like test@example.test; only the inbox reader's tests APPEND to its INBOX.
#   (done with two namespaces with prefix "" and inbox=yes; the userdb enables exactly one per user)
# Maildir++ under DIR/mail/<full user name>/, e.g. an APPEND to Sent by test@example.test lands in
#   DIR/mail/test@example.test/.Sent/cur/<file>   (or .../.Sent/new/ without \Seen),
#   DIR/mail/nospecial@example.test/.Sent Items/cur/<file>.
# Submission offers STARTTLS and AUTH PLAIN LOGIN on 32587 (AUTH also before STARTTLS: Dovecot counts a
# connection whose remote IP equals its local IP as secure, so "no AUTH without TLS" cannot be tested);
# 32465 is the same with implicit TLS. A wrong password gives 535 5.7.8 (IMAP: NO [AUTHENTICATIONFAILED])
# after ~0.5 s. Messages go to smtp-sink; Dovecot prepends its own Received: header.
# TLS: self-signed EC P-256 certificate DIR/cert.pem (CN=localhost, SAN DNS:localhost + IP:127.0.0.1,
#   CA:FALSE, serverAuth: rustls/webpki accepts it as its own trust anchor; connect to "localhost" or
#   127.0.0.1). Made once per DIR and kept across restarts.
#
# smtp-sink dump files (one file per mail transaction): DIR/sink/YYYYmmddHHMMSS.<8 hex digits>
# (`-d DIR/sink/%Y%m%d%H%M%S.`; time in the local time zone of this machine; sorting by name = by time).
# The file is complete once the client got the 250 reply to the final ".". Lines end in LF (CRLF is
# converted; dot-stuffing is undone). Layout:
#     X-Client-Addr: 127.0.0.1
#     X-Client-Proto: ESMTP
#     X-Helo-Args: <EHLO argument>                      (only if the client sent HELO/EHLO)
#     X-Mail-Args: <from@example.test> [ESMTP params]    (exactly once; envelope sender, may be <>)
#     X-Rcpt-Args: <rcpt1@example.test> [params]         (one line per RCPT TO, in order)
#     Received: from <helo> ([127.0.0.1])               (always exactly these 3 lines)
#     <TAB>by sink.test (smtp-sink) with ESMTP id <hex>;
#     <TAB><RFC 2822 date>
#     <the message exactly as sent: headers, empty line, body>
#     <one extra empty line>
# So: envelope = the X-Mail-Args / X-Rcpt-Args lines (address inside <...>, ESMTP params after it);
# raw message = the lines after smtp-sink's 3-line Received header (the first line starting with
# "Received: " plus the next two), minus the one trailing "\n" that smtp-sink appends.
# Mail sent through submission arrives the same way (X-Helo-Args: mail.example.test, X-Mail-Args gets
# " AUTH=<user>"), and the message starts with a 4-line "Received: from <helo> ([127.0.0.1]) by
# mail.example.test with ESMTPSA ..." header added by Dovecot, followed by the message as sent.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=services-lib.sh
. "$here/services-lib.sh"

[ $# = 1 ] || die "usage: $0 DIR"
DIR=$(realpath -m "$1")
case $DIR in *%* | *' '* | *:*) die "DIR must not contain '%', ':' or spaces: $DIR" ;; esac

SINK_PORT=${MAILER_TEST_SMTP_SINK_PORT:-32525}
SUB_PORT=${MAILER_TEST_SUBMISSION_PORT:-32587}
SUBS_PORT=${MAILER_TEST_SUBMISSION_TLS_PORT:-32465}
IMAP_PORT=${MAILER_TEST_IMAP_PORT:-31143}
IMAPS_PORT=${MAILER_TEST_IMAPS_PORT:-31993}
for p in "$SINK_PORT" "$SUB_PORT" "$SUBS_PORT" "$IMAP_PORT" "$IMAPS_PORT"; do
  [[ $p =~ ^[0-9]+$ ]] || die "bad port number: $p"
done
PORTS=("$SINK_PORT" "$SUB_PORT" "$SUBS_PORT" "$IMAP_PORT" "$IMAPS_PORT")
USER1=test@example.test
USER2=nospecial@example.test
USER3=inbox@example.test
PASS=secret

print_exports() {
  emit MAILER_TEST_SMTP_SINK "127.0.0.1:$SINK_PORT"
  emit MAILER_TEST_SMTP_SINK_DIR "$DIR/sink"
  emit MAILER_TEST_SUBMISSION "127.0.0.1:$SUB_PORT"
  emit MAILER_TEST_SUBMISSION_TLS "127.0.0.1:$SUBS_PORT"
  emit MAILER_TEST_IMAP "127.0.0.1:$IMAP_PORT"
  emit MAILER_TEST_IMAPS "127.0.0.1:$IMAPS_PORT"
  emit MAILER_TEST_MAIL_DIR "$DIR/mail"
  emit MAILER_TEST_TLS_CERT "$DIR/cert.pem"
  emit MAILER_TEST_MAIL_USER "$USER1"
  emit MAILER_TEST_MAIL_PASS "$PASS"
  emit MAILER_TEST_MAIL_USER_NOSPECIAL "$USER2"
  emit MAILER_TEST_MAIL_USER_INBOX "$USER3"
}

all_up() {
  local p
  if ! pid_alive "$DIR/smtp-sink.pid" || ! pid_alive "$DIR/dovecot.pid"; then
    return 1
  fi
  for p in "${PORTS[@]}"; do port_open "$p" || return 1; done
}

# ---- already running? ------------------------------------------------------------------------------
if all_up; then
  note "mail services already running in $DIR"
  print_exports
  exit 0
fi
if pid_alive "$DIR/smtp-sink.pid" || pid_alive "$DIR/dovecot.pid"; then
  note "mail services in $DIR are only partly up; restarting them"
  stop_pidfile "$DIR/dovecot.pid"
  stop_pidfile "$DIR/smtp-sink.pid"
fi
port_free_or_die "$SINK_PORT" "smtp-sink, MAILER_TEST_SMTP_SINK_PORT"
port_free_or_die "$SUB_PORT" "submission, MAILER_TEST_SUBMISSION_PORT"
port_free_or_die "$SUBS_PORT" "submissions, MAILER_TEST_SUBMISSION_TLS_PORT"
port_free_or_die "$IMAP_PORT" "IMAP, MAILER_TEST_IMAP_PORT"
port_free_or_die "$IMAPS_PORT" "IMAPS, MAILER_TEST_IMAPS_PORT"

# ---- packages --------------------------------------------------------------------------------------
need=()
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
[ -x /usr/lib/dovecot/submission ] || need+=(dovecot-submissiond)
if [ ${#need[@]} -gt 0 ]; then
  if is_root && [[ " ${need[*]} " == *" postfix "* ]]; then
    # no main.cf, no mail system set up: we only want /usr/sbin/smtp-sink, never the postfix daemon
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  fi
  apt_install "${need[@]}"
  for f in /usr/sbin/smtp-sink /usr/lib/dovecot/imap /usr/lib/dovecot/submission; do
    [ -x "$f" ] || die "installed ${need[*]} but $f is still missing"
  done
fi
command -v openssl >/dev/null || ensure_pkgs /usr/bin/openssl openssl

# ---- directories, certificate, users ---------------------------------------------------------------
if is_root; then
  RUN_AS=nobody
else
  RUN_AS=$(id -un)
fi
RUN_GROUP=$(id -gn "$RUN_AS")
mkdir -p "$DIR"
chmod 755 "$DIR"
check_traversable "$RUN_AS" "$DIR"
mkdir -p "$DIR/sink" "$DIR/mail" "$DIR/run" "$DIR/state"

if [ ! -s "$DIR/cert.pem" ] || [ ! -s "$DIR/key.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>"$DIR/openssl.log" ||
    die "openssl could not make the test certificate (see $DIR/openssl.log)"
  rm -f "$DIR/openssl.log"
fi
chmod 644 "$DIR/cert.pem"
chmod 600 "$DIR/key.pem"

# passdb: user:{SCHEME}password
cat >"$DIR/passwd" <<EOF
$USER1:{PLAIN}$PASS
$USER2:{PLAIN}$PASS
$USER3:{PLAIN}$PASS
EOF
chmod 600 "$DIR/passwd"
# userdb (passwd-file format user:pw:uid:gid:gecos:home:shell:extra): choose each user's namespace.
# Dovecot 2.3 only takes the extra fields of a userdb passwd-file line with the userdb_ prefix.
cat >"$DIR/users" <<EOF
$USER1:::::::
$USER2:::::::userdb_namespace/inbox/disabled=yes userdb_namespace/nospecial/disabled=no
$USER3:::::::
EOF

cat >"$DIR/dovecot.conf" <<EOF
# generated by scripts/mail-up.sh; self-contained (does not read /etc/dovecot)
protocols = imap submission
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/state
instance_name = mailer-test-$IMAP_PORT
hostname = mail.example.test
log_path = $DIR/dovecot.log
info_log_path = $DIR/dovecot.log
auth_verbose = yes
# answer a wrong password quickly (~0.5 s instead of 2 s); see also anvil-auth-penalty below
auth_failure_delay = 0

ssl = yes
ssl_cert = <$DIR/cert.pem
ssl_key = <$DIR/key.pem
ssl_min_protocol = TLSv1.2

# LOGIN/AUTH without TLS is allowed (Dovecot treats loopback as secure anyway)
disable_plaintext_auth = no
auth_mechanisms = plain login

default_internal_user = $RUN_AS
default_internal_group = $RUN_GROUP
default_login_user = $RUN_AS
mail_uid = $RUN_AS
mail_gid = $RUN_GROUP
first_valid_uid = 1
mail_location = maildir:$DIR/mail/%u

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/users
  default_fields = home=$DIR/mail/%u
}

# test@example.test: Sent with SPECIAL-USE \\Sent
namespace inbox {
  inbox = yes
  prefix =
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
# nospecial@example.test: no special-use mailboxes, a plain "Sent Items" folder
namespace nospecial {
  disabled = yes
  inbox = yes
  prefix =
  mailbox "Sent Items" {
    auto = subscribe
  }
}

submission_relay_host = 127.0.0.1
submission_relay_port = $SINK_PORT
submission_relay_ssl = no
submission_relay_trusted = no

service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service submission-login {
  chroot =
  inet_listener submission {
    address = 127.0.0.1
    port = $SUB_PORT
  }
  inet_listener submissions {
    address = 127.0.0.1
    port = $SUBS_PORT
    ssl = yes
  }
}
service pop3-login {
  chroot =
}
service anvil {
  chroot =
  # no per-IP auth penalty (2 s, 4 s, ... 15 s waits after wrong passwords): the auth process
  # cannot connect to this socket and then runs without penalties (logs one
  # "net_connect_unix(anvil-auth-penalty) failed" error at start: expected)
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-userdb {
    mode = 0600
    user = $RUN_AS
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0600
    user = $RUN_AS
  }
}
EOF
chmod 644 "$DIR/dovecot.conf"
if is_root; then
  chown "$RUN_AS:$RUN_GROUP" "$DIR/key.pem" "$DIR/passwd" "$DIR/users"
  chown -R "$RUN_AS:$RUN_GROUP" "$DIR/sink" "$DIR/mail" "$DIR/run" "$DIR/state"
fi
touch "$DIR/dovecot.log" "$DIR/smtp-sink.log"
if is_root; then chown "$RUN_AS:$RUN_GROUP" "$DIR/dovecot.log"; fi

# on failure, stop whatever this run started
started=()
on_exit() {
  local rc=$? f
  if [ "$rc" != 0 ]; then
    for f in "${started[@]}"; do stop_pidfile "$f"; done
  fi
}
trap on_exit EXIT

# ---- smtp-sink -------------------------------------------------------------------------------------
sink_args=(-h sink.test -d "$DIR/sink/%Y%m%d%H%M%S.")
if is_root; then sink_args+=(-u "$RUN_AS"); fi # required as root: drops privileges after bind
/usr/sbin/smtp-sink "${sink_args[@]}" "127.0.0.1:$SINK_PORT" 256 </dev/null >>"$DIR/smtp-sink.log" 2>&1 &
echo $! >"$DIR/smtp-sink.pid"
started+=("$DIR/smtp-sink.pid")
wait_listen "$SINK_PORT" "$DIR/smtp-sink.pid" smtp-sink "$DIR/smtp-sink.log"

# ---- dovecot ---------------------------------------------------------------------------------------
rm -f "$DIR/run/master.pid"
if ! as_user "$RUN_AS" /usr/sbin/dovecot -c "$DIR/dovecot.conf" </dev/null >>"$DIR/dovecot.log" 2>&1; then
  tail -n 20 "$DIR/dovecot.log" >&2
  die "dovecot refused to start (config $DIR/dovecot.conf, log $DIR/dovecot.log)"
fi
for _ in $(seq 100); do
  [ -s "$DIR/run/master.pid" ] && break
  sleep 0.1
done
[ -s "$DIR/run/master.pid" ] || die "dovecot wrote no $DIR/run/master.pid (log $DIR/dovecot.log)"
cat "$DIR/run/master.pid" >"$DIR/dovecot.pid"
started+=("$DIR/dovecot.pid")
for p in "$IMAP_PORT" "$IMAPS_PORT" "$SUB_PORT" "$SUBS_PORT"; do
  wait_listen "$p" "$DIR/dovecot.pid" dovecot "$DIR/dovecot.log"
done

note "smtp-sink pid $(cat "$DIR/smtp-sink.pid"), dovecot pid $(cat "$DIR/dovecot.pid"); logs in $DIR/*.log"
print_exports
