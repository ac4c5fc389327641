#!/usr/bin/env bash
# Regenerate the STARTTLS sample capture in this directory.  Run as root (packet capture needs
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
# Needs these Debian packages (captures/apt-packages.txt lists them):
#   tcpdump, tshark, openssl, python3, python3-aiosmtpd
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
