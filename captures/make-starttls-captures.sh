#!/usr/bin/env bash
# Regenerate the STARTTLS sample captures in this directory.  Run as root (packet capture needs
# it):
#
#     sudo captures/make-starttls-captures.sh
#
# Only 127.0.0.1 is used; nothing leaves the machine.  The pcap is made with "tcpdump -i lo".
#
#   smtp-starttls.pcap + smtp-starttls.keys   127.0.0.1:2526.  aiosmtpd (a real SMTP server
#       library) with STARTTLS required before AUTH; Python's smtplib says EHLO, STARTTLS,
#       EHLO again inside TLS, AUTH PLAIN as ursula / Starttls-Pass-7, sends one mail and quits.
#       The client writes its TLS secrets (ssl's keylog_filename) to the key log.  Without the
#       keys, the capture shows EHLO and STARTTLS in the clear and then only TLS records; with
#       them, the login inside.
#
#   imap-starttls.pcap + imap-starttls.keys   127.0.0.1:1143.  Dovecot (Debian's IMAP and POP3
#       server) with plaintext logins refused outside TLS; Python's imaplib says STARTTLS, then
#       LOGIN ursula / Starttls-Pass-7, SELECT INBOX, LOGOUT inside TLS.
#   pop3-starttls.pcap + pop3-starttls.keys   127.0.0.1:1110.  The same Dovecot; poplib says STLS,
#       then USER, PASS, STAT, QUIT inside TLS.
#   ftp-auth-tls.pcap + ftp-auth-tls.keys     127.0.0.1:2121.  pyftpdlib's TLS_FTPHandler with
#       TLS required on the control connection; ftplib says AUTH TLS, then USER, PASS, PWD, QUIT
#       inside TLS (no data connection).
#   Each client writes its TLS secrets (ssl's keylog_filename) to the key log, and names the
#   lab's server, login.plainsight.test, in its ClientHello.
#
# Needs these Debian packages: tcpdump, tshark, openssl, python3, python3-aiosmtpd,
# python3-pyftpdlib (captures/apt-packages.txt lists them, `make test` installs them), and, for
# this script only, dovecot-imapd, dovecot-pop3d and python3-openssl (pyftpdlib's TLS), which it
# installs itself.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"
PY=/usr/bin/python3

die() { echo "make-starttls-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark openssl "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (see captures/apt-packages.txt)"
done
"$PY" -c 'import aiosmtpd' 2>/dev/null || die "python3-aiosmtpd is missing"
# The servers only this script needs (Debian's packaging starts no daemon in a container
# without an init system; the script runs its own instance with its own configuration).
bash "$SCRIPT_DIR/../scripts/deps.sh" dovecot-imapd dovecot-pop3d python3-openssl python3-pyftpdlib
for p in 2526 1143 1110 2121; do
    if [[ -n $(ss -Htln "sport = :$p") ]]; then die "tcp port $p already in use"; fi
done

make_workdir starttls-captures
make_lab_ca
make_cert smtp 2001 -newkey ec -pkeyopt ec_paramgen_curve:P-256

cat >"$WORK/smtp_server.py" <<'EOF'
import ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print("mail from", envelope.mail_from, file=sys.stderr, flush=True)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"ursula" \
        and auth_data.password == b"Starttls-Pass-7"
    return AuthResult(success=ok)


controller = Controller(Handler(), hostname=host, port=port, server_hostname="mail.lab.test",
                        authenticator=authenticator, tls_context=context,
                        require_starttls=True, auth_require_tls=True)
controller.start()
print("listening", file=sys.stderr, flush=True)
threading.Event().wait()
EOF

cat >"$WORK/smtp_client.py" <<'EOF'
import smtplib, ssl, sys
host, port, ca, keylog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=ca)
context.keylog_filename = keylog
s = smtplib.SMTP(host, port, local_hostname="client.lab.test")
s.ehlo()
# smtplib names the server it connected to (here an address) in TLS: name the lab's instead,
# so the ClientHello carries a server name and the certificate is checked against it.
s._host = "login.plainsight.test"
s.starttls(context=context)
s.ehlo()
s.login("ursula", "Starttls-Pass-7")
s.sendmail("ursula@lab.test", ["victor@lab.test"],
           "From: ursula@lab.test\r\nTo: victor@lab.test\r\nSubject: plainsight lab\r\n"
           "\r\nThis mail travelled inside TLS.\r\n")
s.quit()
EOF

F=$WORK/smtp-starttls.pcap
KEYS=$WORK/smtp-starttls.keys
log "smtp-starttls.pcap (aiosmtpd with STARTTLS, smtplib, 127.0.0.1:2526)"
"$PY" "$WORK/smtp_server.py" 127.0.0.1 2526 "$PKI/smtp.pem" "$PKI/smtp.key" 2>"$WORK/server.log" &
PIDS+=($!)
wait_grep "$WORK/server.log" listening
start_tcpdump "$F" 'tcp port 2526'
"$PY" "$WORK/smtp_client.py" 127.0.0.1 2526 "$PKI/ca.pem" "$KEYS"
stop_capture "$F"
[[ -s $KEYS ]] || die "smtplib wrote no key log"
# tshark reads SMTP on 2526 only when told.
SMTP=(-d tcp.port==2526,smtp)
expect_count 1 "$F" 'smtp.req and frame contains "STARTTLS"' "${SMTP[@]}"
expect_count 1 "$F" 'tls.handshake.type == 1 and tls.handshake.extensions_server_name == "login.plainsight.test"' "${SMTP[@]}"
expect_count 0 "$F" 'smtp.req.command == "AUTH"' "${SMTP[@]}"
expect_count 1 "$F" 'smtp.req.command == "AUTH"' "${SMTP[@]}" -o "tls.keylog_file:$KEYS"
install -m 0644 "$F" "$OUT/smtp-starttls.pcap"
install -m 0644 "$KEYS" "$OUT/smtp-starttls.keys"
log "wrote $OUT/smtp-starttls.pcap and smtp-starttls.keys"

# ---------------------------------------------------------------- IMAP and POP3: Dovecot
mkdir -p "$WORK/dovecot/run" "$WORK/dovecot/state" "$WORK/dovecot/home"
chown nobody:nogroup "$WORK/dovecot/home"
echo 'ursula:{PLAIN}Starttls-Pass-7' >"$WORK/dovecot/users"
chmod 644 "$WORK/dovecot/users"
cat >"$WORK/dovecot/dovecot.conf" <<CONF
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/state
log_path = $WORK/dovecot/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <$PKI/smtp.pem
ssl_key = <$PKI/smtp.key
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $WORK/dovecot/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/dovecot/home/%u
}
mail_location = maildir:$WORK/dovecot/home/%u/Maildir
service imap-login {
  inet_listener imap {
    port = 1143
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 1110
  }
  inet_listener pop3s {
    port = 0
  }
}
CONF
dovecot -c "$WORK/dovecot/dovecot.conf" -F 2>"$WORK/dovecot/stderr" &
PIDS+=($!)
wait_listen 1143
wait_listen 1110

cat >"$WORK/mail_clients.py" <<'PY'
import ftplib, imaplib, poplib, ssl, sys
kind, port, ca, keylog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=ca)
context.keylog_filename = keylog
# Each library names the server it connected to (an address) in TLS: name the lab's instead, so
# the ClientHello carries a server name and the certificate is checked against it.
name = "login.plainsight.test"
if kind == "imap":
    m = imaplib.IMAP4("127.0.0.1", port)
    m.host = name
    m.starttls(ssl_context=context)
    m.login("ursula", "Starttls-Pass-7")
    m.select("INBOX")
    m.logout()
elif kind == "pop":
    p = poplib.POP3("127.0.0.1", port)
    p.host = name
    p.stls(context)
    p.user("ursula")
    p.pass_("Starttls-Pass-7")
    p.stat()
    p.quit()
else:
    f = ftplib.FTP_TLS(context=context)
    f.connect("127.0.0.1", port)
    f.host = name
    f.auth()
    f.login("ursula", "Starttls-Pass-7")
    f.pwd()
    f.quit()
PY

capture_mail() {  # kind(imap|pop|ftp, tshark's names) port file: one client session, captured
    local kind=$1 port=$2 f=$WORK/$3
    rm -f "${f%.pcap}.keys"
    start_tcpdump "$f" "tcp port $port"
    "$PY" "$WORK/mail_clients.py" "$kind" "$port" "$PKI/ca.pem" "${f%.pcap}.keys"
    stop_capture "$f"
    [[ -s ${f%.pcap}.keys ]] || die "$kind: the client wrote no key log"
    expect_count 1 "$f" 'tls.handshake.type == 1 and tls.handshake.extensions_server_name == "login.plainsight.test"' -d "tcp.port==$port,$kind"
    [[ $(tshark -r "$f" -Y tcp.analysis.flags | wc -l) -eq 0 ]] || die "$f: tshark flags packets"
}
publish_mail() {  # file
    install -m 0644 "$WORK/$1" "$OUT/$1"
    install -m 0644 "$WORK/${1%.pcap}.keys" "$OUT/${1%.pcap}.keys"
    log "wrote $OUT/$1 and ${1%.pcap}.keys"
}

log "imap-starttls.pcap (Dovecot, imaplib, 127.0.0.1:1143)"
capture_mail imap 1143 imap-starttls.pcap
F=$WORK/imap-starttls.pcap
expect_count 1 "$F" 'imap.request.command == "STARTTLS"' -d tcp.port==1143,imap
expect_count 0 "$F" 'imap.request.command == "LOGIN"' -d tcp.port==1143,imap
expect_count 1 "$F" 'imap.request.command == "LOGIN"' -d tcp.port==1143,imap -o "tls.keylog_file:${F%.pcap}.keys"
publish_mail imap-starttls.pcap

log "pop3-starttls.pcap (Dovecot, poplib, 127.0.0.1:1110)"
capture_mail pop 1110 pop3-starttls.pcap
F=$WORK/pop3-starttls.pcap
expect_count 1 "$F" 'pop.request.command == "STLS"' -d tcp.port==1110,pop
expect_count 0 "$F" 'pop.request.command == "PASS"' -d tcp.port==1110,pop
expect_count 1 "$F" 'pop.request.command == "PASS"' -d tcp.port==1110,pop -o "tls.keylog_file:${F%.pcap}.keys"
publish_mail pop3-starttls.pcap

# ---------------------------------------------------------------- FTP: pyftpdlib, AUTH TLS
cat >"$WORK/ftps_server.py" <<'PY'
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer
host, port, home, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
authorizer = DummyAuthorizer()
authorizer.add_user("ursula", "Starttls-Pass-7", home, perm="elr")
TLS_FTPHandler.certfile, TLS_FTPHandler.keyfile = cert, key
TLS_FTPHandler.authorizer = authorizer
TLS_FTPHandler.tls_control_required = True
print("listening", file=sys.stderr, flush=True)
FTPServer((host, port), TLS_FTPHandler).serve_forever()
PY
mkdir -p "$WORK/ftp-home"
"$PY" "$WORK/ftps_server.py" 127.0.0.1 2121 "$WORK/ftp-home" "$PKI/smtp.pem" "$PKI/smtp.key" 2>"$WORK/ftps.log" &
PIDS+=($!)
wait_listen 2121
log "ftp-auth-tls.pcap (pyftpdlib TLS_FTPHandler, ftplib, 127.0.0.1:2121)"
capture_mail ftp 2121 ftp-auth-tls.pcap
F=$WORK/ftp-auth-tls.pcap
expect_count 1 "$F" 'ftp.request.command == "AUTH"' -d tcp.port==2121,ftp
expect_count 0 "$F" 'ftp.request.command == "PASS"' -d tcp.port==2121,ftp
expect_count 1 "$F" 'ftp.request.command == "PASS"' -d tcp.port==2121,ftp -o "tls.keylog_file:${F%.pcap}.keys"
publish_mail ftp-auth-tls.pcap
