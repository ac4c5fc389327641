#!/usr/bin/env bash
# Regenerate the QUIC / HTTP/3 sample captures in this directory. Run as root (packet capture
# needs it):
#
#     sudo captures/make-quic-captures.sh
#
# Only 127.0.0.1 is used; nothing leaves the machine. The pcap files are made with
# "tcpdump -i lo" (Ethernet link type, pcap, µs timestamps). Client and server are aioquic (PyPI,
# pinned below, installed into a venv under target/), driven by captures/quic.py; the client
# writes its TLS secrets (NSS key log) next to each capture. Server 127.0.0.1:4433 (UDP), a
# self-signed EC P-256 certificate for quic.plainsight.test.
#
#   quic-h3-login.pcap + .keys     QUIC v1, TLS_AES_256_GCM_SHA384 (aioquic's choice), one
#       connection: stream 0 POST /login (username=quinn&password=H3-Form-Secret),
#       stream 4 GET /account with Authorization: Basic (quinn:H3-Basic-Secret). aioquic's
#       QPACK encoder puts :authority and other fields into the dynamic table.
#   quic-v2-keyupdate.pcap + .keys QUIC v2 (RFC 9369), TLS_CHACHA20_POLY1305_SHA256, the same
#       two requests with a key update (key phase 1) between them.
#   quic-draft29.pcap + .keys      IETF draft-29 (0xff00001d, its own Initial salt), ALPN h3-29,
#       aioquic 0.9.25 on both sides: the login scenario's two requests.
#   quic-hq-interop.pcap + .keys   ALPN hq-interop (HTTP/0.9 over QUIC, the interop runner's):
#       stream 0 GET /login?user=quinn&password=Hq-Query-Secret, stream 4 GET /hello.
#   quic-bighello.pcap + .keys      The ClientHello offers 61 ALPN values, so its CRYPTO data
#       spans two Initial packets. GET /hello.
#   quic-retry.pcap + .keys         The server answers the first Initial with a Retry (aioquic's
#       server retries every Initial without a token, so the rest of the first ClientHello draws
#       a second Retry, which the client ignores); the client starts again with a new ClientHello
#       (a new random) to the Retry's connection ID, whose Initial keys differ. Then the login
#       scenario's two requests.
#   quic-chromium.pcap + .keys     Headless Chromium (Debian's) opens https://quic.plainsight.test/
#       over QUIC: the server's login page posts itself (username=chris,
#       password=Chromium-H3-Secret) and the browser asks for /favicon.ico with the session
#       cookie. Chromium's ClientHello carries an X25519MLKEM768 key share (about 1.9 KB), its
#       CRYPTO frames shuffled over two Initial packets between PING and PADDING frames.
#
# tshark decrypts these with -o tls.keylog_file:FILE (it does not decode QPACK headers).
#
# Needs: tcpdump, tshark, openssl, chromium, python3 with venv (python3-venv), network access to
# PyPI.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"
VENV="$SCRIPT_DIR/../target/quic-venv"
AIOQUIC=aioquic==1.7.2
PORT=4433

die() { echo "make-quic-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark openssl python3 chromium; do
    command -v "$t" >/dev/null || die "missing tool: $t (see captures/apt-packages.txt)"
done
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import aioquic' 2>/dev/null; then
    log "installing $AIOQUIC into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "$AIOQUIC"
fi
PY="$VENV/bin/python"
# aioquic 0.9, the last release that speaks the IETF drafts, for the draft-29 capture.
VENV_DRAFTS="$SCRIPT_DIR/../target/quic-venv-drafts"
if [[ ! -x $VENV_DRAFTS/bin/python ]]; then
    log "installing aioquic==0.9.25 into $VENV_DRAFTS"
    python3 -m venv "$VENV_DRAFTS"
    "$VENV_DRAFTS/bin/pip" install -q aioquic==0.9.25
fi

make_workdir quic
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=quic.plainsight.test \
    -addext subjectAltName=DNS:quic.plainsight.test 2>/dev/null

wait_udp() {      # port
    local i
    for i in $(seq 100); do
        [[ -n $(ss -Huln "sport = :$1") ]] && return 0
        sleep 0.1
    done
    die "nothing listening on UDP port $1"
}

capture() {       # name scenario server-flags client-flags [tshark-cannot-decrypt]
    local name=$1 scenario=$2 server_flags=$3 client_flags=$4 oracle=${5:-}
    local pcap="$WORK/$name.pcap" keys="$WORK/$name.keys"
    # shellcheck disable=SC2086
    "$PY" "$SCRIPT_DIR/quic.py" serve "$PORT" "$WORK/cert.pem" "$WORK/key.pem" $server_flags \
        >"$WORK/server.log" 2>&1 &
    local server=$!
    PIDS+=("$server")
    wait_udp "$PORT"
    start_tcpdump "$pcap" "udp port $PORT"
    # shellcheck disable=SC2086
    timeout 30 "$PY" "$SCRIPT_DIR/quic.py" client "$PORT" "$keys" "$scenario" $client_flags \
        || die "$name: the client failed"
    stop_capture "$pcap"
    kill "$server"
    wait "$server" 2>/dev/null || true
    # tshark must open what plainsight is tested on: the SNI, and decrypted STREAM data.
    [[ $(tshark -r "$pcap" -Y 'tls.handshake.type == 1' -T fields \
        -e tls.handshake.extensions_server_name | head -1) == quic.plainsight.test ]] \
        || keep_failed "$pcap" "tshark sees no ClientHello with the server name"
    [[ -n $oracle || -n $(tshark -r "$pcap" -o "tls.keylog_file:$keys" -Y quic.stream_data \
        -T fields -e frame.number) ]] || keep_failed "$pcap" "tshark decrypts no STREAM data"
    cp "$pcap" "$keys" "$OUT/"
    log "$name: $(tshark -r "$pcap" -T fields -e frame.number | wc -l) packets"
}

# Headless Chromium, QUIC forced on for the lab name (mapped to 127.0.0.1:4433) and the
# self-signed certificate trusted by its key's hash; SSLKEYLOGFILE for the secrets.
capture_chromium() {  # name
    local name=$1 pcap="$WORK/$1.pcap" keys="$WORK/$1.keys" spki
    spki=$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der \
        | openssl dgst -sha256 -binary | base64)
    "$PY" "$SCRIPT_DIR/quic.py" serve "$PORT" "$WORK/cert.pem" "$WORK/key.pem" \
        >"$WORK/server.log" 2>&1 &
    local server=$!
    PIDS+=("$server")
    wait_udp "$PORT"
    start_tcpdump "$pcap" "udp port $PORT"
    SSLKEYLOGFILE="$keys" timeout 60 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$WORK/chromium" --origin-to-force-quic-on=quic.plainsight.test:443 \
        --host-resolver-rules="MAP quic.plainsight.test:443 127.0.0.1:$PORT" \
        --ignore-certificate-errors-spki-list="$spki" --virtual-time-budget=3000 \
        --dump-dom https://quic.plainsight.test/ >"$WORK/dom.html" 2>"$WORK/chromium.log" \
        || die "$name: chromium failed (see its log above)"
    grep -q "welcome back" "$WORK/dom.html" || die "$name: the login form was not posted"
    stop_capture "$pcap"
    kill "$server"
    wait "$server" 2>/dev/null || true
    [[ -n $(tshark -r "$pcap" -o "tls.keylog_file:$keys" -Y quic.stream_data -T fields \
        -e frame.number) ]] || keep_failed "$pcap" "tshark decrypts no STREAM data"
    cp "$pcap" "$keys" "$OUT/"
    log "$name: $(tshark -r "$pcap" -T fields -e frame.number | wc -l) packets"
}

capture quic-h3-login login "" ""
capture quic-v2-keyupdate keyupdate "--chacha" "--v2 --chacha"
capture quic-bighello bighello "" ""
PY="$VENV_DRAFTS/bin/python" capture quic-draft29 login "--draft29" "--draft29"
capture quic-hq-interop hq "" "--hq"
# tshark 4.0 does not follow the client's new ClientHello after a Retry: no decryption check.
capture quic-retry login "--retry" "" tshark-cannot-decrypt
capture_chromium quic-chromium
