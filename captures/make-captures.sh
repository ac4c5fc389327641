#!/usr/bin/env bash
# Regenerate the sample captures in this directory from real clients and
# servers talking over loopback.  Run as root (packet capture needs it):
#
#     sudo captures/make-captures.sh
#
# Only loopback (127.0.0.1 / ::1) is used.  Needs: tcpdump, dumpcap (tshark
# package), capinfos, curl, openssl, python3, ss (iproute2).
# At the end it runs captures/make-test-data.sh to rebuild tests/data/.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# PLAINSIGHT_CAPTURES_OUT: write the captures elsewhere (to check this script without
# replacing the bundled ones).
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"

die() { echo "make-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump/dumpcap need CAP_NET_RAW)"
for t in tcpdump dumpcap capinfos curl openssl python3 ss; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

PORTS=(8081 8082 8083 8084 8443)
for p in "${PORTS[@]}"; do
    if [[ -n $(ss -Htln "sport = :$p") ]]; then die "port $p already in use"; fi
done

make_workdir captures

# ---------------------------------------------------------------- content
# Fixed, deterministic files served by the HTTP servers.
WEBROOT=$WORK/www
mkdir -p "$WEBROOT"
cat >"$WEBROOT/index.html" <<'EOF'
<!DOCTYPE html>
<html>
<head><title>plainsight lab</title></head>
<body>
<h1>Hello from the plainsight lab</h1>
<p>This page travels in plain text. Everything you see here can be read
by anyone who can see the packets.</p>
</body>
</html>
EOF
printf 'hello, keep-alive\n' >"$WEBROOT/hello.txt"
# 20480 bytes of readable numbered lines (64 bytes each, 320 lines).
python3 - "$WEBROOT/big.txt" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1, 321):
        line = f"line {i:04d}: the quick brown fox jumps over the lazy dog"
        f.write(line.ljust(63, ".") + "\n")
EOF
[[ $(stat -c %s "$WEBROOT/big.txt") -eq 20480 ]] || die "big.txt is not 20480 bytes"

# HTTP/1.1 (keep-alive) file server.  The body is written in 1400-byte
# chunks with TCP_NODELAY: loopback has a 64 KiB MTU and does GSO, so a
# plain server would put the whole 20 KB file in one huge "packet".
cat >"$WORK/server.py" <<'EOF'
import functools, http.server, socket, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def copyfile(self, source, outputfile):
        while True:
            chunk = source.read(1400)
            if not chunk:
                break
            outputfile.write(chunk)

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

host, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if ":" in host:
    Server.address_family = socket.AF_INET6
httpd = Server((host, port), functools.partial(Handler, directory=root))
print(f"serving {root} on {host} port {port}", flush=True)
httpd.serve_forever()
EOF

# ---------------------------------------------------------------- helpers


start_http() {    # host port
    python3 "$WORK/server.py" "$1" "$2" "$WEBROOT" >>"$WORK/http-$2.log" 2>&1 &
    PIDS+=($!)
    wait_listen "$2"
}

CAP_PID=
start_tcpdump() { # outfile filter tcpdump-args...
    local out=$1 filter=$2; shift 2
    rm -f "$out" "$out.err"
    # --immediate-mode: without it libpcap's TPACKET_V3 ring hands packets
    # over only when a block fills or times out, and the last packets can be
    # lost when tcpdump is stopped right after the traffic.  Immediate mode
    # makes libpcap use a TPACKET_V2 ring of snaplen-sized frames, only ~8 of
    # them for "-i any" with the default 2 MiB buffer, which drops packets in
    # bursts; hence -B (KiB).
    tcpdump "$@" -U --immediate-mode -B 32768 -s 0 -w "$out" "$filter" 2>"$out.err" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    wait_grep "$out.err" "listening on"
}

start_dumpcap() { # outfile filter iface
    rm -f "$1" "$1.err"
    dumpcap -i "$3" -B 32 -f "$2" -w "$1" 2>"$1.err" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    wait_grep "$1.err" "Capturing on"
}


publish() {       # workfile name
    install -m 0644 "$1" "$OUT/$2"
    log "wrote $OUT/$2"
}

CURL=(curl -sS --fail -o /dev/null)

# ---------------------------------------------------------------- 1. HTTP over IPv4
log "http-ipv4.pcap (127.0.0.1:8081)"
start_http 127.0.0.1 8081
start_tcpdump "$WORK/http-ipv4.pcap" 'tcp port 8081' -i lo
"${CURL[@]}" http://127.0.0.1:8081/index.html
# one invocation, two URLs: curl reuses the keep-alive connection
"${CURL[@]}" -o /dev/null http://127.0.0.1:8081/index.html http://127.0.0.1:8081/hello.txt
"${CURL[@]}" http://127.0.0.1:8081/big.txt
stop_capture "$WORK/http-ipv4.pcap"
publish "$WORK/http-ipv4.pcap" http-ipv4.pcap

# ---------------------------------------------------------------- 2. HTTP over IPv6
log "http-ipv6.pcap ([::1]:8082)"
start_http ::1 8082
start_tcpdump "$WORK/http-ipv6.pcap" 'tcp port 8082' -i lo
"${CURL[@]}" -g 'http://[::1]:8082/index.html'
"${CURL[@]}" -g 'http://[::1]:8082/index.html'
stop_capture "$WORK/http-ipv6.pcap"
publish "$WORK/http-ipv6.pcap" http-ipv6.pcap

# ---------------------------------------------------------------- 3. TLS, pcapng
log "tls-openssl.pcapng (openssl s_server 127.0.0.1:8443)"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
    -subj /CN=lab.plainsight.test -addext subjectAltName=DNS:lab.plainsight.test \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/req.log"
openssl s_server -accept 127.0.0.1:8443 -cert "$WORK/cert.pem" -key "$WORK/key.pem" -www \
    </dev/null >"$WORK/s_server.log" 2>&1 &
PIDS+=($!)
wait_listen 8443
start_dumpcap "$WORK/tls-openssl.pcapng" 'tcp port 8443' lo
KEYS=$WORK/tls-openssl.keys
rm -f "$KEYS"
SSLKEYLOGFILE=$KEYS "${CURL[@]}" -k --tlsv1.3 \
    --resolve lab.plainsight.test:8443:127.0.0.1 https://lab.plainsight.test:8443/
SSLKEYLOGFILE=$KEYS "${CURL[@]}" -k --tls-max 1.2 \
    --resolve lab.plainsight.test:8443:127.0.0.1 https://lab.plainsight.test:8443/
stop_capture "$WORK/tls-openssl.pcapng"
publish "$WORK/tls-openssl.pcapng" tls-openssl.pcapng
publish "$KEYS" tls-openssl.keys

# ---------------------------------------------------------------- 4. Linux cooked v1
# tcpdump >= 4.99 picks LINUX_SLL2 for "-i any" by default, so ask for v1.
log "cooked-sll.pcap (-i any, LINUX_SLL, 127.0.0.1:8083)"
start_http 127.0.0.1 8083
start_tcpdump "$WORK/cooked-sll.pcap" 'tcp port 8083' -i any -y LINUX_SLL
"${CURL[@]}" http://127.0.0.1:8083/index.html
stop_capture "$WORK/cooked-sll.pcap"
publish "$WORK/cooked-sll.pcap" cooked-sll.pcap

# ---------------------------------------------------------------- 5. Linux cooked v2
log "cooked-sll2.pcap (-i any, LINUX_SLL2, 127.0.0.1:8084)"
start_http 127.0.0.1 8084
start_tcpdump "$WORK/cooked-sll2.pcap" 'tcp port 8084' -i any -y LINUX_SLL2
"${CURL[@]}" http://127.0.0.1:8084/index.html
stop_capture "$WORK/cooked-sll2.pcap"
publish "$WORK/cooked-sll2.pcap" cooked-sll2.pcap

# ---------------------------------------------------------------- summary
log "tool versions"
{
    curl --version | head -1
    openssl version
    tcpdump --version 2>&1 | head -2
    dumpcap --version 2>&1 | head -1
    python3 --version
} | sed 's/^/    /' >&2

log "summary"
for f in http-ipv4.pcap http-ipv6.pcap tls-openssl.pcapng cooked-sll.pcap cooked-sll2.pcap; do
    capinfos -t -E -c -s "$OUT/$f" | sed 's/^/    /' >&2
done

log "tests/data"
bash "$SCRIPT_DIR/make-test-data.sh"
