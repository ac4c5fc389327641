#!/usr/bin/env bash
# Regenerate the TLS sample captures in this directory: curl logs in with a
# form POST over HTTPS to "openssl s_server" on loopback, and writes its TLS
# secrets to an NSS key log (SSLKEYLOGFILE) next to each capture.  Run as
# root (packet capture needs it):
#
#     sudo captures/make-tls-captures.sh
#
# Only 127.0.0.1 is used; nothing leaves the machine.  The pcap files are
# made with "tcpdump -i lo" (Ethernet link type, pcap, µs timestamps).
# tls13-dsb.pcapng is tls13-aes128.pcap with its key log injected by editcap.
# tls13-bigclienthello.pcap is captured on the loopback interface of a
# private network namespace (unshare --net) whose lo has MTU 1500 and
# gso_max_size 1500; the machine's own lo is never changed.
#
# Every login is the same fixed, made-up one:
#     POST /login   username=tess&password=Tls-Secret-9
#
# The servers.  "openssl s_server -www" answers only a GET: it skips every
# line that does not start with "GET " and keeps reading, so a POST never
# gets an answer and curl waits until it times out.  So the servers run in
# s_server's default mode instead: it prints what the client sends to its
# stdout and sends the client whatever arrives on its stdin.  The script
# waits until the form shows up in the server's log and then writes a fixed
# "HTTP/1.1 200 OK ... Content-Length ... Connection: close" response into
# the server's stdin (a FIFO).
#
# How the connections end.  curl reads the response, sends a close_notify
# alert and closes its socket (FIN).  s_server answers with its own
# close_notify, which reaches a closed socket, so the client's kernel sends
# an RST.  If s_server is fast enough to answer before curl's close(), the
# client sends an RST instead of its FIN, and the packets differ from run to
# run.  So curl runs as a real-time (SCHED_FIFO) process on the same CPU as
# s_server (taskset -c 0): s_server cannot run between curl's close_notify
# and its close(), and every connection ends the same way:
#     client close_notify, client FIN, server close_notify, client RST
# (Responses without Content-Length, ended by the server closing, would
# avoid that, but Wireshark 4.0 does not show such a response over TLS as
# HTTP: it waits for more data forever.)
#
# Needs these Debian packages (captures/apt-packages.txt lists them):
#   tcpdump          capture
#   tshark           tshark, to check the captures
#   wireshark-common editcap (with --inject-secrets) and capinfos
#   curl             the client (OpenSSL backend; honours SSLKEYLOGFILE)
#   openssl          s_server and the certificates
#   gnutls-bin       gnutls-serv and gnutls-cli, for the suites OpenSSL lacks (3DES, RC4, Camellia-GCM)
#   iproute2         ss, ip
#   util-linux       unshare, nsenter, taskset, chrt
#   python3          /usr/bin/python3, for one check
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# PLAINSIGHT_CAPTURES_OUT: write the captures elsewhere (to check this script without
# replacing the bundled ones).
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"
PY=/usr/bin/python3        # Debian's; only the standard library is used

die() { echo "make-tls-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark editcap capinfos curl openssl gnutls-serv gnutls-cli "$PY" ss ip unshare nsenter taskset chrt mkfifo cmp; do
    command -v "$t" >/dev/null || die "missing tool: $t (see captures/apt-packages.txt)"
done
editcap --help 2>&1 | grep -q -- '--inject-secrets' || die "this editcap has no --inject-secrets"
curl --version | grep -q '^curl .* OpenSSL/' || die "this curl is not built with OpenSSL"

# Proxy settings in the environment would send curl elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset SSLKEYLOGFILE

TCP_PORTS=(9443 9444 9445 9446 9447 9448 9449 9450 9452 9453 9454 9455 9456 9457 9458 9459 9460 9461 9462 9463 9464 9465 9466 9467 9468 9469 9470 9471 9472)   # 9451 is in its own namespace
for p in "${TCP_PORTS[@]}"; do
    if [[ -n $(ss -Htln "sport = :$p") ]]; then die "tcp port $p already in use"; fi
done

make_workdir tls-captures

# ---------------------------------------------------------------- certificates
# A small CA ("plainsight lab CA", ECDSA P-256) signs two server certificates
# for CN login.plainsight.test with SANs login. and www.plainsight.test: one
# with an RSA 2048 key, one with an ECDSA P-256 key.  Fixed serial numbers;
# valid for 3650 days from the day the script runs.
make_lab_ca
make_cert rsa 0x1001 -newkey rsa:2048
make_cert ecdsa 0x1002 -newkey ec -pkeyopt ec_paramgen_curve:P-256

# ---------------------------------------------------------------- helpers



SRV_PID= SRV_FD= SRV_LOG=
start_server() {  # port rsa|ecdsa s_server-options...
    local port=$1 cert=$2; shift 2
    local fifo=$WORK/s_server-$port.in
    SRV_LOG=$WORK/s_server-$port.log
    rm -f "$fifo"
    mkfifo "$fifo"
    "${NS[@]}" taskset -c 0 openssl s_server -accept "127.0.0.1:$port" \
        -cert "$PKI/$cert.pem" -key "$PKI/$cert.key" "$@" <"$fifo" >"$SRV_LOG" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    exec {SRV_FD}>"$fifo"           # keep the server's stdin open
    wait_listen "$port"
}

stop_server() {
    exec {SRV_FD}>&-
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}

FORM='username=tess&password=Tls-Secret-9'
BODY=$'login accepted, welcome tess\n'
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#BODY}" "$BODY" >"$WORK/response.http"
respond() {       # n: answer the n-th login the server has received
    local i
    for i in $(seq 100); do
        [[ $(grep -o 'password=Tls-Secret-9' "$SRV_LOG" | wc -l) -ge $1 ]] && break
        sleep 0.1
    done
    [[ $i -lt 100 ]] || { cat "$SRV_LOG" >&2; die "the server did not receive login #$1"; }
    # cat writes it with one write(), so s_server reads it at once and sends
    # it in one TLS record (bash's printf would write it line by line, and
    # each line would become a record of its own).  s_server takes some
    # first bytes of what it reads as commands; "H" is not one of them.
    # With KEY_UPDATE=1 it first reads "K" alone on a line: a TLS 1.3 KeyUpdate, asking the
    # client to update too, so the response and the rest go under the next keys both ways.
    if [[ ${KEY_UPDATE:-0} == 1 ]]; then
        printf 'K\n' >&"$SRV_FD"
        sleep 0.5
    fi
    cat "$WORK/response.http" >&"$SRV_FD"
}

# curl POSTs the form n times to https://login.plainsight.test:PORT/login
# (one invocation; with n = 2 the same URL twice, and -d applies to both).
# The server's "Connection: close" makes curl open a new connection for the
# second URL.
login() {         # port keylog n curl-options...
    local port=$1 keys=$2 n=$3 i url=()
    shift 3
    for i in $(seq "$n"); do
        rm -f "$WORK/body-$port-$i"
        url+=(-o "$WORK/body-$port-$i" "https://login.plainsight.test:$port/login")
    done
    rm -f "$keys"                   # curl appends; keep only this run's sessions
    SSLKEYLOGFILE=$keys "${NS[@]}" taskset -c 0 chrt -f 10 curl -q --http1.1 -sS -k --max-time 20 \
        --resolve "login.plainsight.test:$port:127.0.0.1" "$@" -d "$FORM" \
        -w '%{http_code} %{num_connects}\n' "${url[@]}" >"$WORK/curl-$port.out" 2>>"$WORK/curl-$port.err" &
    local cpid=$!
    PIDS+=("$cpid")
    for i in $(seq "$n"); do
        respond "$i"
    done
    local rc=0
    wait "$cpid" || rc=$?
    [[ $rc -eq 0 ]] || { cat "$WORK/curl-$port.err" >&2; die "curl exited with $rc"; }
    [[ $(grep -c '^200 1$' "$WORK/curl-$port.out") -eq $n ]] \
        || { cat "$WORK/curl-$port.out" "$WORK/curl-$port.err" >&2; die "curl did not get $n × 200 on $n connections"; }
    for i in $(seq "$n"); do
        printf '%s' "$BODY" | cmp -s - "$WORK/body-$port-$i" || die "curl got another body on connection $i"
    done
    [[ -s $keys ]] || die "curl wrote no key log to $keys"
}

CAP_PID=


# Every TCP connection must have one SYN and one SYN/ACK and end with the
# client's FIN and then the client's RST (see the top of the script).
# tshark must flag nothing (retransmissions, lost segments...).
check_tcp() {     # file expected-connection-count
    tshark -r "$1" -Y tcp -T fields -E separator=' ' \
        -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset \
        | "$PY" -c '
import collections, sys
want = int(sys.argv[1])
st = collections.defaultdict(lambda: {"syn": 0, "synack": 0, "cfin": 0, "sfin": 0, "crst": 0, "srst": 0})
client = {}
for line in sys.stdin:
    s, sport, dport, syn, ack, fin, rst = line.split()
    c = st[s]
    if syn == "1" and ack == "0":
        c["syn"] += 1
        client[s] = sport
    c["synack"] += syn == "1" and ack == "1"
    side = "c" if client.get(s) == sport else "s"
    c[side + "fin"] += fin == "1"
    c[side + "rst"] += rst == "1"
bad = [s for s, c in st.items()
       if c["syn"] != 1 or c["synack"] != 1 or c["cfin"] != 1 or c["crst"] != 1 or c["sfin"] or c["srst"]]
if bad or len(st) != want:
    sys.exit(f"{sys.argv[2]}: {len(st)} TCP connections (want {want}), incomplete: {bad} {dict(st)}")
for s, c in sorted(st.items()):
    end = ", ".join(f"{c[k]} {x}" for x, k in (("client FIN", "cfin"), ("client RST", "crst"), ("server FIN", "sfin"), ("server RST", "srst")) if c[k])
    print(f"    tcp.stream {s}: {end}", file=sys.stderr)
' "$2" "$1" || keep_failed "$1" "unexpected TCP connections"
    local flagged
    flagged=$(tshark -r "$1" -Y tcp.analysis.flags | wc -l)
    [[ $flagged -eq 0 ]] || die "$1: tshark flags $flagged packets (tcp.analysis.flags)"
}




# The TLS checks for one capture and its key log: every ServerHello has the
# expected version and cipher suite, nothing decrypts without the key log,
# and with it each connection shows the POST with the form and a 200.
check_tls() {     # file keylog version(1.0|1.1|1.2|1.3) cipher-suite-value n
    local f=$1 keys=$2 version=$3 suite=$4 n=$5
    if [[ $version == 1.3 ]]; then
        expect_count "$n" "$f" "tls.handshake.type == 2 and tls.handshake.ciphersuite == $suite and tls.handshake.extensions.supported_version == 0x0304"
    else
        local wire=0x0303
        [[ $version == 1.1 ]] && wire=0x0302
        [[ $version == 1.0 ]] && wire=0x0301
        expect_count "$n" "$f" "tls.handshake.type == 2 and tls.handshake.ciphersuite == $suite and tls.handshake.version == $wire and not tls.handshake.extensions.supported_version"
    fi
    expect_count "$n" "$f" 'tls.handshake.type == 1 and tls.handshake.extensions_server_name == "login.plainsight.test"'
    expect_count 0 "$f" http
    if [[ ${TSHARK_CANNOT_DECRYPT:-0} == 1 ]]; then
        # curl got its 200 and the server logged the form (login), which must do.
        log "$f: tshark cannot decrypt suite $suite; the client and server logs vouch for it"
        return
    fi
    expect_count "$n" "$f" 'http.request.method == "POST" and http.request.uri == "/login" and urlencoded-form.value == "Tls-Secret-9"' \
        -o "tls.keylog_file:$keys"
    expect_count "$n" "$f" 'http.response.code == 200' -o "tls.keylog_file:$keys"
}

keys_of() {       # capture file -> its key log: a.pcap -> a.keys
    echo "${1%.*}.keys"
}

publish() {       # workfile expected-tcp-connections: the capture and its key log
    local keys
    keys=$(keys_of "$1")
    check_tcp "$1" "$2"
    install -m 0644 "$1" "$OUT/$(basename "$1")"
    install -m 0644 "$keys" "$OUT/$(basename "$keys")"
    log "wrote $OUT/$(basename "$1") and $(basename "$keys")"
}

# One TLS capture: start the server, capture n logins, check, publish.
capture_login() { # name port n version suite cert "s_server-options" curl-options...
    local name=$1 port=$2 n=$3 version=$4 suite=$5 cert=$6 sopts=$7
    shift 7
    local f=$WORK/$name keys
    keys=$(keys_of "$f")
    log "$name (openssl s_server, $cert key, 127.0.0.1:$port)"
    # shellcheck disable=SC2086  # the server options are split on purpose
    start_server "$port" "$cert" $sopts
    start_tcpdump "$f" "tcp port $port"
    login "$port" "$keys" "$n" "$@"
    stop_capture "$f"
    stop_server
    check_tls "$f" "$keys" "$version" "$suite" "$n"
}

# ---------------------------------------------------------------- 1-6: one login each
# TLS 1.3: both sides allow only the one suite.
capture_login tls13-aes128.pcap 9443 1 1.3 0x1301 ecdsa \
    "-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256" \
    --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
publish "$WORK/tls13-aes128.pcap" 1

capture_login tls13-aes256.pcap 9444 1 1.3 0x1302 rsa \
    "-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384" \
    --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384
publish "$WORK/tls13-aes256.pcap" 1

capture_login tls13-chacha.pcap 9445 1 1.3 0x1303 ecdsa \
    "-tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256" \
    --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
publish "$WORK/tls13-chacha.pcap" 1

# TLS 1.2: the client offers only the one suite.
capture_login tls12-aes128.pcap 9446 1 1.2 0xc02f rsa \
    "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
publish "$WORK/tls12-aes128.pcap" 1

capture_login tls12-aes256.pcap 9447 1 1.2 0xc02c ecdsa \
    "-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES256-GCM-SHA384
publish "$WORK/tls12-aes256.pcap" 1

capture_login tls12-chacha.pcap 9448 1 1.2 0xcca8 rsa \
    "-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305
publish "$WORK/tls12-chacha.pcap" 1

# ---------------------------------------------------------------- 7. TLS 1.2 resumption
# One curl run, two URLs, both POST the login.  The server's "Connection:
# close" forces a second connection, which resumes the first session from
# curl's session cache: curl offers no session tickets, so it is a session
# ID resumption (the second ClientHello carries the session ID the first
# ServerHello gave, the second ServerHello echoes it, and there is no
# Certificate).  The client offers its default TLS 1.2 suites; the server
# allows only one.
capture_login tls12-resumed.pcap 9449 2 1.2 0xc030 rsa \
    "-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384" \
    --tlsv1.2 --tls-max 1.2
F=$WORK/tls12-resumed.pcap
expect_count 1 "$F" 'tls.handshake.type == 11'
mapfile -t SH < <(tshark -r "$F" -Y 'tls.handshake.type == 2' -T fields -e tls.handshake.session_id)
mapfile -t CH < <(tshark -r "$F" -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.session_id)
[[ ${#SH[@]} -eq 2 && ${#CH[@]} -eq 2 && -n ${SH[0]} && ${SH[1]} == "${SH[0]}" && ${CH[1]} == "${SH[0]}" ]] \
    || keep_failed "$F" "session ids: ClientHellos '${CH[*]}', ServerHellos '${SH[*]}'"
publish "$F" 2

# ---------------------------------------------------------------- 8. TLS 1.3, wrong key log
# Connection A is captured; its key log is kept only to check the result.
# Connection B, to a fresh server after the capture has stopped, writes the
# key log that is shipped: a valid key log with no line for the captured
# session.
log "tls13-nokey.pcap (openssl s_server, ecdsa key, 127.0.0.1:9450)"
F=$WORK/tls13-nokey.pcap
start_server 9450 ecdsa -tls1_3
start_tcpdump "$F" 'tcp port 9450'
login 9450 "$WORK/nokey-captured.keys" 1 --tlsv1.3
stop_capture "$F"
stop_server
start_server 9450 ecdsa -tls1_3
login 9450 "$WORK/tls13-nokey.keys" 1 --tlsv1.3       # not captured
stop_server
CR=$(tshark -r "$F" -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.random)
[[ $CR =~ ^[0-9a-f]{64}$ ]] || die "tls13-nokey.pcap: no client random ($CR)"
grep -q "^CLIENT_TRAFFIC_SECRET_0 $CR " "$WORK/nokey-captured.keys" || die "connection A's key log lacks its own client random"
grep -qi "$CR" "$WORK/tls13-nokey.keys" && die "tls13-nokey.keys has the captured client random"
[[ $(grep -c '^[A-Z_0-9]* [0-9a-f]\{64\} [0-9a-f]\{64,96\}$' "$WORK/tls13-nokey.keys") -eq 5 ]] \
    || die "tls13-nokey.keys is not 5 TLS 1.3 secrets"
expect_count 1 "$F" 'tls.handshake.type == 2 and tls.handshake.extensions.supported_version == 0x0304'
expect_count 0 "$F" http -o "tls.keylog_file:$WORK/tls13-nokey.keys"
expect_count 1 "$F" 'http.request.method == "POST" and urlencoded-form.value == "Tls-Secret-9"' \
    -o "tls.keylog_file:$WORK/nokey-captured.keys"
publish "$F" 1

# ---------------------------------------------------------------- 8b. HelloRetryRequest
# curl's first ClientHello carries a key share for X25519 only (the first of its groups); the
# server accepts only P-256, so it answers with a HelloRetryRequest and curl says hello again with
# a P-256 share.  Two ClientHellos, two ServerHellos (the retry request and the real one).
log "tls13-hrr.pcap (openssl s_server, ecdsa key, P-256 only, 127.0.0.1:9452)"
F=$WORK/tls13-hrr.pcap
start_server 9452 ecdsa -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -groups P-256
start_tcpdump "$F" 'tcp port 9452'
login 9452 "$(keys_of "$F")" 1 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 --curves X25519:P-256
stop_capture "$F"
stop_server
expect_count 2 "$F" 'tls.handshake.type == 1 and tls.handshake.extensions_server_name == "login.plainsight.test"'
expect_count 2 "$F" 'tls.handshake.type == 2'
expect_count 1 "$F" 'http.request.method == "POST" and urlencoded-form.value == "Tls-Secret-9"' \
    -o "tls.keylog_file:$(keys_of "$F")"
publish "$F" 1

# ---------------------------------------------------------------- 8c. RSA key exchange
# TLS_RSA_WITH_AES_128_GCM_SHA256: no forward secrecy, the client encrypts the pre-master secret
# to the server's RSA key.  Two key logs: curl's (CLIENT_RANDOM), and tls12-rsa.rsa.keys with
# the one line NSS writes for such a session, "RSA <first 8 bytes of the encrypted pre-master>
# <pre-master>", made here by decrypting the ClientKeyExchange with the server's key, which is
# shipped too (tls12-rsa.server-key.pem).
capture_login tls12-rsa.pcap 9453 1 1.2 0x009c rsa \
    "-tls1_2 -cipher AES128-GCM-SHA256" \
    --tlsv1.2 --tls-max 1.2 --ciphers AES128-GCM-SHA256
F=$WORK/tls12-rsa.pcap
EPMS=$(tshark -r "$F" -d tcp.port==9453,tls -Y 'tls.handshake.type == 16' -T fields -e tls.handshake.epms | tr -d ':')
[[ $EPMS =~ ^[0-9a-f]{512}$ ]] || die "tls12-rsa.pcap: no 2048-bit encrypted pre-master ($EPMS)"
printf '%s' "$EPMS" | xxd -r -p >"$WORK/epms.bin"
openssl pkeyutl -decrypt -inkey "$PKI/rsa.key" -pkeyopt rsa_padding_mode:pkcs1 \
    -in "$WORK/epms.bin" -out "$WORK/pms.bin"
PMS=$(xxd -p -c 256 "$WORK/pms.bin")
[[ $PMS =~ ^0303[0-9a-f]{92}$ ]] || die "tls12-rsa.pcap: the pre-master is not 48 bytes of TLS 1.2 ($PMS)"
printf 'RSA %s %s\n' "${EPMS:0:16}" "$PMS" >"$WORK/tls12-rsa.rsa.keys"
expect_count 1 "$F" 'http.request.method == "POST" and urlencoded-form.value == "Tls-Secret-9"' \
    -o "tls.keylog_file:$WORK/tls12-rsa.rsa.keys"
publish "$F" 1
install -m 0644 "$WORK/tls12-rsa.rsa.keys" "$OUT/tls12-rsa.rsa.keys"
# The server's private key, made up for this capture: with it (--server-key), the session opens
# without any key log, as it would for whoever stole or was given the key later.
install -m 0644 "$PKI/rsa.key" "$OUT/tls12-rsa.server-key.pem"

# ---------------------------------------------------------------- 8d. TLS 1.3 KeyUpdate
# After the login arrives the server sends a KeyUpdate, then the response: the server's
# direction changes keys mid-connection (curl closes before it would answer with its own).
# check_tls has tshark read the response: it follows the update too.
KEY_UPDATE=1 capture_login tls13-keyupdate.pcap 9454 1 1.3 0x1301 ecdsa \
    "-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256" \
    --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
F=$WORK/tls13-keyupdate.pcap
expect_count 1 "$F" 'tls.handshake.type == 24' -o "tls.keylog_file:$(keys_of "$F")"
publish "$F" 1

# ---------------------------------------------------------------- 8e. TLS 1.2 CBC suites
# Legacy suites real servers still agree to: AES-CBC with an HMAC. curl (OpenSSL) offers
# encrypt-then-MAC (RFC 7366); the first server accepts it, so each record's HMAC follows the
# ciphertext. The other two refuse it (-no_etm), the layout browsers use: the HMAC and padding
# are encrypted with the content. One suite per MAC: SHA-256, SHA-1, SHA-384 (whose PRF is
# SHA-384 too).
capture_login tls12-cbc-etm.pcap 9455 1 1.2 0xc027 rsa \
    "-tls1_2 -cipher ECDHE-RSA-AES128-SHA256" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256
expect_count 1 "$WORK/tls12-cbc-etm.pcap" 'tls.handshake.type == 2 and tls.handshake.extension.type == 22'
publish "$WORK/tls12-cbc-etm.pcap" 1

capture_login tls12-cbc-sha1.pcap 9456 1 1.2 0xc00a ecdsa \
    "-tls1_2 -no_etm -cipher ECDHE-ECDSA-AES256-SHA" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES256-SHA
expect_count 0 "$WORK/tls12-cbc-sha1.pcap" 'tls.handshake.type == 2 and tls.handshake.extension.type == 22'
publish "$WORK/tls12-cbc-sha1.pcap" 1

capture_login tls12-cbc-sha384.pcap 9457 1 1.2 0xc028 rsa \
    "-tls1_2 -no_etm -cipher ECDHE-RSA-AES256-SHA384" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-SHA384
expect_count 0 "$WORK/tls12-cbc-sha384.pcap" 'tls.handshake.type == 2 and tls.handshake.extension.type == 22'
publish "$WORK/tls12-cbc-sha384.pcap" 1

# ---------------------------------------------------------------- 8f. TLS 1.0 and 1.1
# Older versions Debian's OpenSSL still speaks at @SECLEVEL=0: their PRF is MD5 and SHA-1
# together. TLS 1.1 sends an IV with each record, as 1.2 does; TLS 1.0 chains its IV from the
# key block through the last ciphertext block of each record. Both refuse encrypt-then-MAC here,
# the layout old servers use.
capture_login tls11-cbc.pcap 9458 1 1.1 0xc013 rsa \
    "-tls1_1 -no_etm -cipher ECDHE-RSA-AES128-SHA:@SECLEVEL=0" \
    --tlsv1.1 --tls-max 1.1 --ciphers ECDHE-RSA-AES128-SHA:@SECLEVEL=0
publish "$WORK/tls11-cbc.pcap" 1

capture_login tls10-cbc.pcap 9459 1 1.0 0xc014 rsa \
    "-tls1 -no_etm -cipher ECDHE-RSA-AES256-SHA:@SECLEVEL=0" \
    --tlsv1.0 --tls-max 1.0 --ciphers ECDHE-RSA-AES256-SHA:@SECLEVEL=0
publish "$WORK/tls10-cbc.pcap" 1

# ---------------------------------------------------------------- 8g. AES-CCM
# The AEAD of constrained devices: TLS 1.3's TLS_AES_128_CCM_SHA256 (16-byte tag), and TLS 1.2's
# ECDHE-ECDSA AES-128-CCM_8 (8-byte tag, RFC 7251). Neither is in OpenSSL's defaults.
capture_login tls13-ccm.pcap 9460 1 1.3 0x1304 ecdsa \
    "-tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256" \
    --tlsv1.3 --tls13-ciphers TLS_AES_128_CCM_SHA256
publish "$WORK/tls13-ccm.pcap" 1

capture_login tls12-ccm8.pcap 9461 1 1.2 0xc0ae ecdsa \
    "-tls1_2 -cipher ECDHE-ECDSA-AES128-CCM8" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-CCM8
publish "$WORK/tls12-ccm8.pcap" 1

# ---------------------------------------------------------------- 8h. NULL suite
# TLS that encrypts nothing: each record is the plaintext and its HMAC. tcpdump alone shows the
# password; the key log is only needed to check the MACs.
F=$WORK/tls12-null.pcap
log "tls12-null.pcap (openssl s_server, rsa key, 127.0.0.1:9462)"
start_server 9462 rsa -tls1_2 -cipher ECDHE-RSA-NULL-SHA:@SECLEVEL=0
start_tcpdump "$F" "tcp port 9462"
login 9462 "$(keys_of "$F")" 1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-NULL-SHA:@SECLEVEL=0
stop_capture "$F"
stop_server
expect_count 1 "$F" 'tls.handshake.type == 2 and tls.handshake.ciphersuite == 0xc010'
# check_tls's "nothing without the key log" is the opposite here: the login is in the clear.
expect_count 1 "$F" 'http.request.method == "POST" and urlencoded-form.value == "Tls-Secret-9"' \
    -d tcp.port==9462,tls -d tls.port==9462,http
publish "$F" 1

# ---------------------------------------------------------------- 8i. Camellia, ARIA
# Suites of national standards (Japan's Camellia, Korea's ARIA), in OpenSSL at @SECLEVEL=0:
# Camellia-256-CBC with HMAC-SHA384 (RFC 6367) and ARIA-128-GCM (RFC 6209). Debian 12's tshark
# (libgcrypt 1.10) has no ARIA, so for that one the server's log and curl's answer are the check.
capture_login tls12-camellia.pcap 9463 1 1.2 0xc077 rsa \
    "-tls1_2 -cipher ECDHE-RSA-CAMELLIA256-SHA384:@SECLEVEL=0" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CAMELLIA256-SHA384:@SECLEVEL=0
publish "$WORK/tls12-camellia.pcap" 1

TSHARK_CANNOT_DECRYPT=1 capture_login tls12-aria-gcm.pcap 9464 1 1.2 0xc060 rsa \
    "-tls1_2 -cipher ECDHE-ARIA128-GCM-SHA256:@SECLEVEL=0" \
    --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ARIA128-GCM-SHA256:@SECLEVEL=0
publish "$WORK/tls12-aria-gcm.pcap" 1

# ---------------------------------------------------------------- 8j. a suite plainsight cannot open
# SEED-CBC (RFC 4162), in OpenSSL's legacy provider only (loaded for this one login through an
# OpenSSL configuration file): tshark decrypts it and plainsight does not, so the test checks
# the session is `unsupported` and the detail names the suite.
cat >"$WORK/openssl-legacy.cnf" <<'CNF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
CNF
OPENSSL_CONF=$WORK/openssl-legacy.cnf capture_login tls12-seed.pcap 9465 1 1.2 0x0096 rsa \
    "-tls1_2 -cipher SEED-SHA:@SECLEVEL=0" \
    --tlsv1.2 --tls-max 1.2 --ciphers SEED-SHA:@SECLEVEL=0
publish "$WORK/tls12-seed.pcap" 1

# ---------------------------------------------------------------- 8k. GnuTLS: 3DES, RC4, Camellia-GCM
# Debian's OpenSSL has no 3DES or RC4 suites at all, and no Camellia-GCM; GnuTLS still has them
# behind its priority strings. gnutls-cli sends a GET with Basic credentials (its stdin) to
# gnutls-serv's HTTP mode, which answers with a page describing the session, and writes the key
# log (SSLKEYLOGFILE). The connection ends as GnuTLS ends it (not the FIN/RST pattern of the
# curl captures), so only tshark's TCP analysis checks it.
BASIC_REQUEST=$'GET /account HTTP/1.1\r\nHost: login.plainsight.test\r\nAuthorization: Basic dGVzczpUbHMtU2VjcmV0LTk=\r\nConnection: close\r\n\r\n'
capture_gnutls() { # name port version suite priority
    local name=$1 port=$2 version=$3 suite=$4 priority=$5
    local f=$WORK/$name keys
    keys=$(keys_of "$f")
    log "$name (gnutls-serv, rsa-kx key, 127.0.0.1:$port, $priority)"
    gnutls-serv --http --port "$port" --x509certfile "$PKI/rsa-kx.pem" --x509keyfile "$PKI/rsa-kx.key" \
        --priority "$priority" >"$WORK/gnutls-serv-$port.log" 2>&1 &
    local spid=$!
    PIDS+=("$spid")
    wait_listen "$port"
    start_tcpdump "$f" "tcp port $port"
    rm -f "$keys"
    printf '%s' "$BASIC_REQUEST" | SSLKEYLOGFILE=$keys timeout 20 gnutls-cli --insecure \
        --priority "$priority" --sni-hostname login.plainsight.test --port "$port" 127.0.0.1 >"$WORK/gnutls-cli-$port.out" 2>&1 \
        || { cat "$WORK/gnutls-cli-$port.out" >&2; die "gnutls-cli failed on port $port"; }
    stop_capture "$f"
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    [[ -s $keys ]] || die "gnutls-cli wrote no key log to $keys"
    local wire=0x0303
    [[ $version == 1.1 ]] && wire=0x0302
    [[ $version == 1.0 ]] && wire=0x0301
    expect_count 1 "$f" "tls.handshake.type == 2 and tls.handshake.ciphersuite == $suite and tls.handshake.version == $wire"
    expect_count 1 "$f" 'tls.handshake.type == 1 and tls.handshake.extensions_server_name == "login.plainsight.test"'
    expect_count 0 "$f" http -d "tcp.port==$port,tls"
    expect_count 1 "$f" 'http.authorization == "Basic dGVzczpUbHMtU2VjcmV0LTk="' \
        -d "tcp.port==$port,tls" -o "tls.keylog_file:$keys"
    # gnutls-serv answers HTTP/1.0 without a Content-Length, ended by its close, which tshark
    # shows only when it does not wait for the body.
    expect_count 1 "$f" 'http.response.code == 200' -d "tcp.port==$port,tls" -o "tls.keylog_file:$keys" \
        -o http.desegment_body:FALSE
    [[ $(tshark -r "$f" -Y tcp.analysis.flags | wc -l) -eq 0 ]] || die "$f: tshark flags packets"
    install -m 0644 "$f" "$OUT/$name"
    install -m 0644 "$keys" "$OUT/$(basename "$keys")"
    log "wrote $OUT/$name and $(basename "$keys")"
}
GNUTLS_BASE='NONE:+COMP-NULL:+SIGN-ALL:+GROUP-ALL:+CTYPE-X509'
# GnuTLS, unlike OpenSSL, holds the server to its certificate's key usage: RSA key exchange needs
# keyEncipherment, so these servers get a certificate of their own (same key type and names).
sed 's/^keyUsage = .*/keyUsage = critical, digitalSignature, keyEncipherment/' \
    "$PKI/server.ext" >"$PKI/server-rsa-kx.ext"
CERT_EXT=$PKI/server-rsa-kx.ext make_cert rsa-kx 0x1003 -newkey rsa:2048
# TLS 1.0, RSA key exchange, 3DES-EDE-CBC with HMAC-SHA1 and GnuTLS's default encrypt-then-MAC:
# 8-byte blocks, IVs chained from record to record.
capture_gnutls tls10-3des.pcap 9466 1.0 0x000a "$GNUTLS_BASE:+VERS-TLS1.0:+RSA:+3DES-CBC:+SHA1"
# TLS 1.2, ECDHE, 3DES with MAC-then-encrypt (%NO_ETM): an explicit 8-byte IV per record.
capture_gnutls tls12-3des.pcap 9467 1.2 0xc012 "$GNUTLS_BASE:+VERS-TLS1.2:+ECDHE-RSA:+3DES-CBC:+SHA1:%NO_ETM"
# RC4-128: a stream cipher, no IV, no padding; with HMAC-MD5 (the suite of the 1990s web) in
# TLS 1.2 and with HMAC-SHA1 and ECDHE in TLS 1.1.
capture_gnutls tls12-rc4-md5.pcap 9468 1.2 0x0004 "$GNUTLS_BASE:+VERS-TLS1.2:+RSA:+ARCFOUR-128:+MD5"
capture_gnutls tls11-rc4-sha.pcap 9469 1.1 0xc011 "$GNUTLS_BASE:+VERS-TLS1.1:+ECDHE-RSA:+ARCFOUR-128:+SHA1"
# Camellia-256-GCM with the SHA-384 PRF (RFC 6367).
capture_gnutls tls12-camellia-gcm.pcap 9470 1.2 0xc08b "$GNUTLS_BASE:+VERS-TLS1.2:+ECDHE-RSA:+CAMELLIA-256-GCM:+AEAD"

# ---------------------------------------------------------------- 8l. TLS 1.3 resumption and 0-RTT
# Two connections from openssl s_client to one s_server that accepts early data. The first is a
# full handshake: the login (a GET with Basic credentials) goes as ordinary application data and
# the server gives one session ticket, which s_client saves (-sess_out). The second resumes with
# that ticket (a PSK: no Certificate) and sends the same login as 0-RTT early data (-early_data),
# before the server has answered: readable with CLIENT_EARLY_TRAFFIC_SECRET, and, as the lesson
# goes, replayable. s_client stays connected while its stdin is open (a sleep), then closes.
F=$WORK/tls13-0rtt.pcap
KEYS=$(keys_of "$F")
log "tls13-0rtt.pcap (openssl s_server -early_data, rsa key, 127.0.0.1:9471)"
printf '%s' "$BASIC_REQUEST" >"$WORK/early.http"
start_server 9471 rsa -tls1_3 -early_data -num_tickets 1
start_tcpdump "$F" "tcp port 9471"
rm -f "$KEYS" "$WORK/session.pem"
for i in 1 2; do
    if [[ $i == 1 ]]; then
        session=(-sess_out "$WORK/session.pem")
        stdin_cmd=(bash -c 'cat "$1"; sleep 2' _ "$WORK/early.http")
    else
        session=(-sess_in "$WORK/session.pem" -early_data "$WORK/early.http")
        stdin_cmd=(sleep 2)
    fi
    "${stdin_cmd[@]}" | openssl s_client -connect 127.0.0.1:9471 -servername login.plainsight.test \
        -tls1_3 "${session[@]}" -keylogfile "$KEYS" >"$WORK/s_client-0rtt-$i.out" 2>&1 &
    cpid=$!
    PIDS+=("$cpid")
    for t in $(seq 100); do
        [[ $(grep -c '^Authorization: Basic' "$SRV_LOG") -ge $i ]] && break
        sleep 0.1
    done
    [[ $t -lt 100 ]] || { cat "$SRV_LOG" >&2; die "the server did not receive login #$i"; }
    cat "$WORK/response.http" >&"$SRV_FD"
    wait "$cpid" || { cat "$WORK/s_client-0rtt-$i.out" >&2; die "s_client #$i failed"; }
done
stop_capture "$F"
stop_server
grep -q '^Early data was accepted' "$WORK/s_client-0rtt-2.out" || die "the server refused the early data"
grep -q '^Reused, TLSv1.3' "$WORK/s_client-0rtt-2.out" || die "the second connection did not resume"
expect_count 2 "$F" 'tls.handshake.type == 2 and tls.handshake.extensions.supported_version == 0x0304'
expect_count 1 "$F" 'tls.handshake.type == 1 and tls.handshake.extension.type == 42'
expect_count 1 "$F" 'tls.handshake.type == 11' -o "tls.keylog_file:$KEYS"
expect_count 0 "$F" http
expect_count 2 "$F" 'http.authorization == "Basic dGVzczpUbHMtU2VjcmV0LTk="' -o "tls.keylog_file:$KEYS"
expect_count 1 "$F" 'tls.handshake.type == 5' -o "tls.keylog_file:$KEYS"
expect_count 2 "$F" 'http.response.code == 200' -o "tls.keylog_file:$KEYS"
[[ $(tshark -r "$F" -Y tcp.analysis.flags | wc -l) -eq 0 ]] || die "$F: tshark flags packets"
install -m 0644 "$F" "$OUT/tls13-0rtt.pcap"
install -m 0644 "$KEYS" "$OUT/tls13-0rtt.keys"
log "wrote $OUT/tls13-0rtt.pcap and tls13-0rtt.keys"

# ---------------------------------------------------------------- 8m. TLS 1.2 renegotiation
# One connection, two handshakes: openssl s_client sends the login (a GET with Basic
# credentials), then "R" on its stdin renegotiates (a second ClientHello, inside the first
# session's records; s_server allows it with -client_renegotiation), then sends the login again
# under the new keys. The server answers each login. Two CLIENT_RANDOM lines.
F=$WORK/tls12-renegotiation.pcap
KEYS=$(keys_of "$F")
log "tls12-renegotiation.pcap (openssl s_server -client_renegotiation, rsa key, 127.0.0.1:9472)"
start_server 9472 rsa -tls1_2 -client_renegotiation
start_tcpdump "$F" "tcp port 9472"
rm -f "$KEYS"
wait_logins() {   # n: until the server has logged n logins
    local t
    for t in $(seq 100); do
        [[ $(grep -c '^Authorization: Basic' "$SRV_LOG") -ge $1 ]] && return 0
        sleep 0.1
    done
    cat "$SRV_LOG" >&2
    die "the server did not receive login #$1"
}
{
    printf '%s' "$BASIC_REQUEST"
    sleep 1
    printf 'R\n'
    sleep 1
    printf '%s' "$BASIC_REQUEST"
    sleep 2
} | openssl s_client -connect 127.0.0.1:9472 -servername login.plainsight.test -tls1_2 \
    -keylogfile "$KEYS" >"$WORK/s_client-reneg.out" 2>&1 &
cpid=$!
PIDS+=("$cpid")
wait_logins 1
cat "$WORK/response.http" >&"$SRV_FD"
wait_logins 2
cat "$WORK/response.http" >&"$SRV_FD"
wait "$cpid" || { cat "$WORK/s_client-reneg.out" >&2; die "s_client failed"; }
stop_capture "$F"
stop_server
grep -q '^RENEGOTIATING' "$WORK/s_client-reneg.out" || die "s_client did not renegotiate"
[[ $(grep -c '^CLIENT_RANDOM' "$KEYS") -eq 2 ]] || die "$KEYS: want 2 CLIENT_RANDOM lines"
expect_count 1 "$F" 'tls.handshake.type == 1'
expect_count 2 "$F" 'tls.handshake.type == 1' -o "tls.keylog_file:$KEYS"
expect_count 2 "$F" 'tls.handshake.type == 2' -o "tls.keylog_file:$KEYS"
expect_count 0 "$F" http
expect_count 2 "$F" 'http.authorization == "Basic dGVzczpUbHMtU2VjcmV0LTk="' -o "tls.keylog_file:$KEYS"
expect_count 2 "$F" 'http.response.code == 200' -o "tls.keylog_file:$KEYS"
[[ $(tshark -r "$F" -Y tcp.analysis.flags | wc -l) -eq 0 ]] || die "$F: tshark flags packets"
install -m 0644 "$F" "$OUT/tls12-renegotiation.pcap"
install -m 0644 "$KEYS" "$OUT/tls12-renegotiation.keys"
log "wrote $OUT/tls12-renegotiation.pcap and tls12-renegotiation.keys"

# ---------------------------------------------------------------- 9. Decryption Secrets Block
log "tls13-dsb.pcapng (editcap --inject-secrets)"
F=$WORK/tls13-dsb.pcapng
editcap --inject-secrets "tls,$OUT/tls13-aes128.keys" "$OUT/tls13-aes128.pcap" "$F"
expect_count 1 "$F" 'http.request.method == "POST" and urlencoded-form.value == "Tls-Secret-9"'
expect_count 1 "$F" 'http.response.code == 200'
check_tcp "$F" 1
install -m 0644 "$F" "$OUT/tls13-dsb.pcapng"
log "wrote $OUT/tls13-dsb.pcapng"

# ---------------------------------------------------------------- 10. big ClientHello
# On the real lo (MTU 65536) a ClientHello always fits in one segment.  So
# this one is captured in a private network namespace whose lo has an
# Ethernet-sized MTU (1500) and gso_max_size 1500 (otherwise TCP hands lo
# 64 KB GSO super-packets, and tcpdump sees those).  The client makes its
# ClientHello big the way post-quantum key shares do: the first group is
# ffdhe8192, so the key share is 1024 bytes, and it offers every cipher suite
# (ALL:@SECLEVEL=0) and group OpenSSL 3.0 knows.  That is ~1.5 KB, more than
# one 1448-byte segment.
log "tls13-bigclienthello.pcap (own network namespace: lo MTU 1500, 127.0.0.1:9451)"
unshare --net sleep infinity &
NS_PID=$!
PIDS+=("$NS_PID")
for i in $(seq 50); do
    [[ $(readlink "/proc/$NS_PID/ns/net") != "$(readlink /proc/$$/ns/net)" ]] && break
    sleep 0.1
done
[[ $i -lt 50 ]] || die "unshare --net did not make a network namespace"
NS=(nsenter "--net=/proc/$NS_PID/ns/net")
"${NS[@]}" ip link set lo up mtu 1500
"${NS[@]}" ip link set lo gso_max_size 1500
echo "    namespace lo: $("${NS[@]}" ip -d link show lo | grep -o '\<mtu [0-9]*\|gso_max_size [0-9]*' | tr '\n' ' ')" >&2
GROUPS_ALL=ffdhe8192:x25519:secp256r1:x448:secp521r1:secp384r1:ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144
GROUPS_ALL+=:brainpoolP256r1:brainpoolP384r1:brainpoolP512r1:secp256k1:secp224r1:secp224k1:secp192r1:secp192k1
GROUPS_ALL+=:secp160r2:secp160r1:secp160k1:sect571r1:sect571k1:sect409r1:sect409k1:sect283r1:sect283k1
GROUPS_ALL+=:sect239k1:sect233r1:sect233k1:sect193r2:sect193r1:sect163r2:sect163r1:sect163k1
capture_login tls13-bigclienthello.pcap 9451 1 1.3 0x1302 rsa "-tls1_3" \
    --ciphers 'ALL:@SECLEVEL=0' --curves "$GROUPS_ALL"
NS=()
kill "$NS_PID"
F=$WORK/tls13-bigclienthello.pcap
read -r CH_FRAME CH_SEGS CH_LEN < <(tshark -r "$F" -Y 'tls.handshake.type == 1' -T fields \
    -e frame.number -e tcp.segment.count -e tls.handshake.length)
[[ ${CH_SEGS:-1} -ge 2 ]] || die "tls13-bigclienthello.pcap: the ClientHello is in ${CH_SEGS:-1} segment(s)"
expect_count "$((CH_SEGS - 1))" "$F" "tcp.reassembled_in == $CH_FRAME" -2
expect_count 0 "$F" 'frame.len > 1514'
expect_count 1 "$F" 'tls.handshake.type == 2 and tls.handshake.extensions_key_share_group == 0x0104'
log "ClientHello: handshake length $CH_LEN, in $CH_SEGS TCP segments, reassembled in frame $CH_FRAME"
publish "$F" 1

# ---------------------------------------------------------------- summary
FILES=(tls13-aes128.pcap tls13-aes256.pcap tls13-chacha.pcap tls12-aes128.pcap tls12-aes256.pcap
       tls12-chacha.pcap tls12-resumed.pcap tls13-nokey.pcap tls13-dsb.pcapng tls13-bigclienthello.pcap)

log "tool versions"
{
    curl --version | head -1
    openssl version
    tcpdump --version 2>&1 | head -2
    editcap --version 2>&1 | head -1
    tshark --version 2>&1 | head -1
    dpkg-query -W -f='${Package} ${Version}\n' curl openssl tcpdump tshark wireshark-common
} | sed 's/^/    /' >&2

log "summary (decrypted with each file's own key log; tls13-dsb.pcapng with none)"
for f in "${FILES[@]}"; do
    k=$OUT/$(keys_of "$f")
    KOPT=()
    [[ -f $k ]] && KOPT=(-o "tls.keylog_file:$k")
    {
        echo "$f: $(capinfos -c -M "$OUT/$f" | sed -n 's/^Number of packets: *//p') packets"
        tshark -r "$OUT/$f" -q -z conv,tcp | grep '<->' | awk '{print "  conn", $1, $2, $3}'
        tshark -r "$OUT/$f" -Y 'tls.handshake.type == 1' -T fields -E separator=' ' \
            -e tcp.stream -e tls.handshake.extensions_server_name -e tls.handshake.length -e tcp.segment.count \
            | sed 's/^/  ClientHello stream, SNI, length, TCP segments if > 1: /'
        tshark -r "$OUT/$f" -Y 'tls.handshake.type == 2' -T fields -E separator=' ' \
            -e tcp.stream -e tls.handshake.version -e tls.handshake.extensions.supported_version \
            -e tls.handshake.ciphersuite -e tls.handshake.extensions_key_share_group -e tls.handshake.session_id \
            | sed 's/^/  ServerHello stream, version, supported_version, suite, key share group, session id: /'
        tshark -r "$OUT/$f" "${KOPT[@]}" -Y 'tls.handshake.type == 11' -T fields -E separator=' | ' \
            -e x509sat.uTF8String -e x509ce.dNSName -e x509af.utcTime -e x509af.serialNumber \
            | sed 's/^/  Certificate CNs | SANs | validity | serial: /'
        tshark -r "$OUT/$f" "${KOPT[@]}" -Y http -T fields -E separator=' ' \
            -e tcp.stream -e http.request.method -e http.request.uri -e http.request.version \
            -e urlencoded-form.key -e urlencoded-form.value -e http.response.code \
            | sed 's/^/  HTTP: /'
        if [[ -f $k ]]; then
            echo "  key log $(basename "$k"):$(cut -d' ' -f1 "$k" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
        fi
    } | sed 's/^/    /' >&2
done
