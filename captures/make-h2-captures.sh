#!/usr/bin/env bash
# Regenerate the HTTP/2 sample captures in this directory.  Run as root
# (packet capture needs it):
#
#     sudo captures/make-h2-captures.sh
#
# Only 127.0.0.1 is used; nothing leaves the machine.  The pcap files are
# made with "tcpdump -i lo" (Ethernet link type, pcap, µs timestamps).  The
# server is always nghttpd (nghttp2's HTTP/2 test server), which serves the
# files of a directory.  It answers a POST to a file's path the same way as
# a GET: 200 and the file.
#
#   h2-tls.pcap + h2-tls.keys   127.0.0.1:9460, TLS 1.3, ALPN h2.  ONE curl
#       run (two transfers joined by --next), so ONE connection:
#       stream 1  POST /login    username=uma&password=H2-Form-Secret
#       stream 3  GET  /private  Authorization: Basic (victor:H2-Basic-Secret)
#   h2c.pcap                    127.0.0.1:9461, cleartext, prior knowledge.
#       TWO curl runs, so TWO connections, stream 1 in each:
#       POST /login    username=wendy&password=H2c-Secret
#       GET  /account  Cookie: sessionid=h2c-session-42
#       (curl 7.88.1 cannot reuse a prior-knowledge connection: the second
#       transfer of a run finds the connection, sends nothing and fails with
#       code 000.  curl bug #10634, fixed in curl 8.0.0.)
#   h2-multiplex.pcap           127.0.0.1:9462, cleartext, prior knowledge.
#       ONE nghttp run with two URIs: POST /a and POST /b on ONE connection,
#       both with the body username=xena&password=H2-Mux-Secret (nghttp's -d
#       applies to every URI).  Both answers are 64 KiB, so the server's
#       DATA frames of the two streams interleave.  nghttp first sends
#       PRIORITY frames for idle streams 3, 5, 7, 9, 11 (its priority tree),
#       so the requests are streams 13 and 15.
#
# tshark shows HTTP/2 on 9461 and 9462 only when told: -d tcp.port==9461,http2.
#
# Needs these Debian packages (captures/apt-packages.txt lists them):
#   tcpdump          capture
#   tshark           tshark, to check the captures
#   wireshark-common capinfos
#   curl             the client for h2-tls and h2c (OpenSSL + nghttp2)
#   nghttp2-server   nghttpd, the server
#   nghttp2-client   nghttp, the client for h2-multiplex
#   openssl          the certificates
#   iproute2         ss
#   python3          /usr/bin/python3, for the checks
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# PLAINSIGHT_CAPTURES_OUT: write the captures elsewhere (to check this script without
# replacing the bundled ones).
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"
PY=/usr/bin/python3        # Debian's; only the standard library is used

die() { echo "make-h2-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark capinfos curl nghttpd nghttp openssl "$PY" ss cmp; do
    command -v "$t" >/dev/null || die "missing tool: $t (see captures/apt-packages.txt)"
done
curl --version | grep -q '^curl .* OpenSSL/.* nghttp2/' || die "this curl has no OpenSSL or no nghttp2"

# Proxy settings in the environment would send curl elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset SSLKEYLOGFILE

for p in 9460 9461 9462; do
    if [[ -n $(ss -Htln "sport = :$p") ]]; then die "tcp port $p already in use"; fi
done

make_workdir h2-captures

# ---------------------------------------------------------------- certificate
# As in make-tls-captures.sh: a CA "plainsight lab CA" (ECDSA P-256, serial
# 1) signs the server certificate, CN login.plainsight.test, SANs login. and
# www.plainsight.test, ECDSA P-256 key, serial 0x2001.  Valid 3650 days from
# the day the script runs.
make_lab_ca
make_cert server 0x2001 -newkey ec -pkeyopt ec_paramgen_curve:P-256

# ---------------------------------------------------------------- served files
# Fixed contents, so the responses are the same on every machine (only the
# date and last-modified headers change).  No file has an extension, so
# nghttpd sends no content-type.
DOCS=$WORK/htdocs
mkdir -p "$DOCS"
printf 'login accepted\n' >"$DOCS/login"
printf 'private page\n' >"$DOCS/private"
printf 'account page\n' >"$DOCS/account"
# /a and /b: 64 KiB each, 2048 lines of 32 bytes ("response a line 00001 ........\n").
for x in a b; do
    "$PY" -c 'import sys; sys.stdout.write("".join("response %s line %05d .........\n" % (sys.argv[1], i) for i in range(1, 2049)))' \
        "$x" >"$DOCS/$x"
    [[ $(stat -c %s "$DOCS/$x") -eq 65536 ]] || die "$DOCS/$x is not 64 KiB"
done
chmod -R a+rX "$DOCS"

# ---------------------------------------------------------------- helpers



SRV_PID= SRV_LOG=
start_nghttpd() { # port nghttpd-options-and-arguments...
    local port=$1; shift
    SRV_LOG=$WORK/nghttpd-$port.log
    nghttpd -v --address=127.0.0.1 --htdocs="$DOCS" "$@" >"$SRV_LOG" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_listen "$port"
    # It must listen on 127.0.0.1 only (nghttpd binds every address by default).
    [[ $(ss -Htln "sport = :$port" | awk '{print $4}') == "127.0.0.1:$port" ]] \
        || die "nghttpd listens on $(ss -Htln "sport = :$port" | awk '{print $4}' | tr '\n' ' ')"
}

stop_nghttpd() {
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}

CAP_PID=



# Every TCP connection must have one SYN and one SYN/ACK and end the way
# the caller says: client/server FIN/RST counts, e.g. "cfin=1 crst=1 sfin=0
# srst=0".  tshark must flag nothing (retransmissions, lost segments...).
check_tcp() {     # file expected-connection-count ending
    tshark -r "$1" -Y tcp -T fields -E separator=' ' \
        -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset \
        | "$PY" -c '
import collections, sys
want, ending = int(sys.argv[1]), dict(kv.split("=") for kv in sys.argv[3].split())
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
       if c["syn"] != 1 or c["synack"] != 1 or any(c[k] != int(v) for k, v in ending.items())]
if bad or len(st) != want:
    sys.exit(f"{sys.argv[2]}: {len(st)} TCP connections (want {want}), unexpected: {bad} {dict(st)}")
for s, c in sorted(st.items()):
    end = ", ".join(f"{c[k]} {x}" for x, k in (("client FIN", "cfin"), ("client RST", "crst"), ("server FIN", "sfin"), ("server RST", "srst")) if c[k])
    print(f"    tcp.stream {s}: {end}", file=sys.stderr)
' "$2" "$1" "$3" || keep_failed "$1" "unexpected TCP connections"
    local flagged
    flagged=$(tshark -r "$1" -Y tcp.analysis.flags | wc -l)
    [[ $flagged -eq 0 ]] || keep_failed "$1" "tshark flags $flagged packets (tcp.analysis.flags)"
}



# The HTTP/2 frames of a capture, read from tshark's JSON, in capture order.
# It prints every frame (HEADERS with each field's HPACK representation,
# which it reads from the raw header block itself: indexed / literal with
# incremental indexing / without indexing / never indexed, the index, and
# whether name and value are Huffman-coded), then one line per stream.  It
# fails unless the streams are exactly the expected ones, if there is a
# CONTINUATION frame or a HEADERS without END_HEADERS, and, with
# --interleave, unless the server's DATA frames switch between streams at
# least twice on one connection.
h2_frames() {     # file server-port "tshark-options" expected-streams [--interleave]
    local f=$1 port=$2 topts=$3 want=$4 inter=${5:-}
    # shellcheck disable=SC2086  # the options are split on purpose
    tshark -r "$f" $topts -Y http2 -T json --no-duplicate-keys -J 'frame tcp http2' >"$f.json"
    "$PY" - "$f.json" "$port" "$want" "$inter" <<'EOF' || keep_failed "$f" "HTTP/2 frames are not as expected"
import json, sys

path, port, want, inter = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "--interleave"
TYPES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
         6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}

def aslist(x):
    return x if isinstance(x, list) else [x]

def hpack_walk(b):
    """The representations in a header block: (kind, index, name Huffman?, value Huffman?)."""
    i, out = 0, []
    def integer(prefix):
        nonlocal i
        mask = (1 << prefix) - 1
        v = b[i] & mask
        i += 1
        if v == mask:
            m = 0
            while True:
                c = b[i]
                i += 1
                v += (c & 0x7F) << m
                m += 7
                if not c & 0x80:
                    break
        return v
    def string():
        nonlocal i
        h = bool(b[i] & 0x80)
        n = integer(7)
        i += n
        return h
    while i < len(b):
        c = b[i]
        if c & 0x80:
            out.append(("indexed", integer(7), None, None))
        elif c & 0x40:
            idx = integer(6)
            nh = string() if idx == 0 else None
            out.append(("incremental", idx, nh, string()))
        elif c & 0x20:
            out.append(("size-update", integer(5), None, None))
        else:
            kind = "never-indexed" if c & 0x10 else "without-indexing"
            idx = integer(4)
            nh = string() if idx == 0 else None
            out.append((kind, idx, nh, string()))
    return out

def describe(rep):
    kind, idx, nh, vh = rep
    where = "dynamic" if idx >= 62 else "static"
    if kind == "indexed":
        return f"indexed {idx} ({where})"
    name = "literal name" + (" (Huffman)" if nh else "") if idx == 0 else f"name {where} {idx}"
    return f"{kind}, {name}, value {'Huffman' if vh else 'raw'}"

frames = []          # (frame number, tcp stream, direction, http2.stream dict)
for pkt in json.load(open(path)):
    L = pkt["_source"]["layers"]
    fno = int(L["frame"]["frame.number"])
    tcp = aslist(L["tcp"])[0]
    d = "s>c" if tcp["tcp.srcport"] == port else "c>s"
    for layer in aslist(L.get("http2", [])):
        for s in aslist(layer.get("http2.stream", [])):
            if "http2.type" in s:
                frames.append((fno, tcp["tcp.stream"], d, s))

errors, streams, order, data_seq = [], {}, [], {}
for fno, conn, d, s in frames:
    t, sid, flags = int(s["http2.type"]), s["http2.streamid"], int(s["http2.flags"], 16)
    name = TYPES.get(t, f"type {t}")
    line = f"frame {fno:3} conn {conn} {d} stream {sid:>2} {name} len {s['http2.length']} flags {flags:#04x}"
    key = (conn, sid)
    if t == 1:
        if not flags & 0x04:
            errors.append(f"frame {fno}: HEADERS without END_HEADERS")
        hdrs = aslist(s.get("http2.header", []))
        reps = [r for r in hpack_walk(bytes.fromhex(s["http2.headers"].replace(":", "")))
                if r[0] != "size-update"]
        if len(reps) != len(hdrs):
            errors.append(f"frame {fno}: {len(reps)} representations, tshark shows {len(hdrs)} fields")
            reps = [None] * len(hdrs)
        dyn = sum(1 for r in reps if r and r[1] >= 62)
        print(f"{line} ({len(hdrs)} fields, {dyn} from the dynamic table)")
        st = streams.setdefault(key, {})
        if key not in order:
            order.append(key)
        for h, r in zip(hdrs, reps):
            print(f"      {h['http2.header.name']}: {h.get('http2.header.value', '')}    [{describe(r) if r else '?'}]")
            n = h["http2.header.name"]
            if n in (":method", ":path", ":authority", ":scheme", ":status"):
                st.setdefault(n, h.get("http2.header.value", ""))
    elif t == 0:
        print(f"{line}{' END_STREAM' if flags & 1 else ''}")
        streams.setdefault(key, {}).setdefault(d, 0)
        streams[key][d] += int(s["http2.length"])
        if d == "s>c":
            data_seq.setdefault(conn, []).append(sid)
    else:
        if t == 9:
            errors.append(f"frame {fno}: CONTINUATION")
        print(line)

got = []
for conn, sid in order:
    st = streams[(conn, sid)]
    got.append(f"{conn} {sid} {st.get(':method')} {st.get(':path')} {st.get(':authority')} {st.get(':status')}")
    print(f"stream: conn {conn} stream {sid}: {st.get(':method')} {st.get(':scheme')}://{st.get(':authority')}{st.get(':path')}"
          f" -> {st.get(':status')}, request body {st.get('c>s', 0)} B, response body {st.get('s>c', 0)} B")
for conn, seq in data_seq.items():
    runs = [seq[0]] + [b for a, b in zip(seq, seq[1:]) if a != b]
    print(f"server DATA frames, conn {conn}, by stream: {' '.join(seq)} ({len(runs) - 1} switches)")
    if inter and len(runs) - 1 < 2:
        errors.append(f"conn {conn}: the server's DATA frames do not interleave: {seq}")
if got != want.split(";"):
    errors.append(f"streams (conn id method path authority status): {got}, want {want.split(';')}")
if not frames:
    errors.append("no HTTP/2 frames")
for e in errors:
    print("ERROR:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
}

# ---------------------------------------------------------------- 1. h2 over TLS
# One curl run, two transfers (--next resets the options), on one
# connection: the second transfer reuses it and gets stream 3.  curl offers
# only P-256 for the key share: nghttpd 1.52 accepts only P-256, and with
# curl's default key share (x25519) the server would answer with a
# HelloRetryRequest first.
log "h2-tls.pcap (nghttpd over TLS 1.3, 127.0.0.1:9460; one curl run, two transfers)"
F=$WORK/h2-tls.pcap
K=$WORK/h2-tls.keys
H=login.plainsight.test
COMMON=(-q --http2 --tlsv1.3 --curves P-256 -sS -k --max-time 20 --resolve "$H:9460:127.0.0.1"
        -w '%{http_code} %{http_version} %{num_connects}\n')
start_nghttpd 9460 9460 "$PKI/server.key" "$PKI/server.pem"
start_tcpdump "$F" 'tcp port 9460'
rm -f "$K"                          # curl appends
rc=0
SSLKEYLOGFILE=$K curl "${COMMON[@]}" -d 'username=uma&password=H2-Form-Secret' \
        -o "$WORK/h2-tls-1.body" "https://$H:9460/login" \
    --next "${COMMON[@]}" -u 'victor:H2-Basic-Secret' \
        -o "$WORK/h2-tls-2.body" "https://$H:9460/private" \
    >"$WORK/curl-9460.out" 2>"$WORK/curl-9460.err" || rc=$?
stop_capture "$F"
stop_nghttpd
[[ $rc -eq 0 ]] || { cat "$WORK/curl-9460.err" >&2; die "curl exited with $rc"; }
[[ $(cat "$WORK/curl-9460.out") == $'200 2 1\n200 2 0' ]] \
    || { cat "$WORK/curl-9460.out" "$WORK/curl-9460.err" >&2; die "curl: not two HTTP/2 200s on one connection"; }
cmp -s "$DOCS/login" "$WORK/h2-tls-1.body" && cmp -s "$DOCS/private" "$WORK/h2-tls-2.body" \
    || die "curl got other bodies"
[[ -s $K ]] || die "curl wrote no key log"
KO=(-o "tls.keylog_file:$K")
# One ClientHello and one ServerHello: no HelloRetryRequest.
expect_count 1 "$F" 'tls.handshake.type == 1'
expect_count 1 "$F" 'tls.handshake.type == 1 and tls.handshake.extensions_server_name == "login.plainsight.test" and tls.handshake.extensions_alpn_str == "h2"'
expect_count 1 "$F" 'tls.handshake.type == 2 and tls.handshake.extensions.supported_version == 0x0304 and tls.handshake.ciphersuite == 0x1302 and tls.handshake.extensions_key_share_group == 23'
expect_count 0 "$F" http2
# ALPN h2 is in EncryptedExtensions, which only the key log shows.
expect_count 1 "$F" 'tls.handshake.type == 8 and tls.handshake.extensions_alpn_str == "h2"' "${KO[@]}"
expect_count 1 "$F" 'http2.headers.method == "POST" and http2.headers.path == "/login" and http2.headers.authority == "login.plainsight.test:9460"' "${KO[@]}"
expect_count 1 "$F" 'urlencoded-form.key == "password" and urlencoded-form.value == "H2-Form-Secret"' "${KO[@]}"
expect_count 1 "$F" 'http2.header.name == "authorization" and http2.header.value == "Basic dmljdG9yOkgyLUJhc2ljLVNlY3JldA=="' "${KO[@]}"
expect_count 0 "$F" 'http2.type == 9' "${KO[@]}"
h2_frames "$F" 9460 "-o tls.keylog_file:$K" \
    "0 1 POST /login login.plainsight.test:9460 200;0 3 GET /private login.plainsight.test:9460 200" \
    >"$WORK/h2-tls.frames"
sed 's/^/    /' "$WORK/h2-tls.frames" >&2
# curl closes without close_notify or GOAWAY (FIN); nghttpd answers with a
# TLS alert, which the closed client socket answers with an RST.
check_tcp "$F" 1 "cfin=1 crst=1 sfin=0 srst=0"
install -m 0644 "$F" "$OUT/h2-tls.pcap"
install -m 0644 "$K" "$OUT/h2-tls.keys"
log "wrote $OUT/h2-tls.pcap and h2-tls.keys"

# ---------------------------------------------------------------- 2. h2c, prior knowledge
# Two curl runs, so two connections (curl 7.88.1 cannot reuse a
# prior-knowledge connection; see the top).
log "h2c.pcap (nghttpd --no-tls, 127.0.0.1:9461; two curl runs)"
F=$WORK/h2c.pcap
COMMON=(-q --http2-prior-knowledge -sS --max-time 20 -w '%{http_code} %{http_version} %{num_connects}\n')
start_nghttpd 9461 --no-tls 9461
start_tcpdump "$F" 'tcp port 9461'
rc=0
curl "${COMMON[@]}" -d 'username=wendy&password=H2c-Secret' -o "$WORK/h2c-1.body" \
    http://127.0.0.1:9461/login >"$WORK/curl-9461.out" 2>"$WORK/curl-9461.err" || rc=$?
[[ $rc -eq 0 ]] && { curl "${COMMON[@]}" -b 'sessionid=h2c-session-42' -o "$WORK/h2c-2.body" \
    http://127.0.0.1:9461/account >>"$WORK/curl-9461.out" 2>>"$WORK/curl-9461.err" || rc=$?; }
stop_capture "$F"
stop_nghttpd
[[ $rc -eq 0 ]] || { cat "$WORK/curl-9461.err" >&2; die "curl exited with $rc"; }
[[ $(cat "$WORK/curl-9461.out") == $'200 2 1\n200 2 1' ]] \
    || { cat "$WORK/curl-9461.out" "$WORK/curl-9461.err" >&2; die "curl: not two HTTP/2 200s"; }
cmp -s "$DOCS/login" "$WORK/h2c-1.body" && cmp -s "$DOCS/account" "$WORK/h2c-2.body" \
    || die "curl got other bodies"
D=(-d tcp.port==9461,http2)
expect_count 0 "$F" http2
expect_count 2 "$F" 'http2.magic' "${D[@]}"
expect_count 1 "$F" 'urlencoded-form.key == "password" and urlencoded-form.value == "H2c-Secret"' "${D[@]}"
expect_count 1 "$F" 'http2.headers.method == "GET" and http2.headers.path == "/account" and http2.header.name == "cookie" and http2.header.value == "sessionid=h2c-session-42"' "${D[@]}"
expect_count 0 "$F" 'http2.type == 9' "${D[@]}"
h2_frames "$F" 9461 "-d tcp.port==9461,http2" \
    "0 1 POST /login 127.0.0.1:9461 200;1 1 GET /account 127.0.0.1:9461 200" \
    >"$WORK/h2c.frames"
sed 's/^/    /' "$WORK/h2c.frames" >&2
check_tcp "$F" 2 "cfin=1 crst=0 sfin=1 srst=0"
install -m 0644 "$F" "$OUT/h2c.pcap"
log "wrote $OUT/h2c.pcap"

# ---------------------------------------------------------------- 3. multiplexing
# One nghttp run, two URIs, one connection.  The client's stream and
# connection windows are 65535 bytes and the answers 64 KiB each, so the
# server sends DATA for both streams in turn and waits for WINDOW_UPDATEs.
log "h2-multiplex.pcap (nghttpd --no-tls, 127.0.0.1:9462; one nghttp run, two URIs)"
F=$WORK/h2-multiplex.pcap
printf 'username=xena&password=H2-Mux-Secret' >"$WORK/mux-form"
start_nghttpd 9462 --no-tls 9462
start_tcpdump "$F" 'tcp port 9462'
rc=0
nghttp -v -n -t 20 -d "$WORK/mux-form" -H 'content-type: application/x-www-form-urlencoded' \
    http://127.0.0.1:9462/a http://127.0.0.1:9462/b >"$WORK/nghttp.log" 2>&1 || rc=$?
stop_capture "$F"
stop_nghttpd
[[ $rc -eq 0 ]] || { cat "$WORK/nghttp.log" >&2; die "nghttp exited with $rc"; }
D=(-d tcp.port==9462,http2)
expect_count 1 "$F" 'http2.magic' "${D[@]}"
# Both DATA frames with the form are in one packet: count the forms, not the packets.
N=$(tshark -r "$F" "${D[@]}" -Y urlencoded-form -T fields -e urlencoded-form.value | grep -o 'xena,H2-Mux-Secret' | wc -l)
[[ $N -eq 2 ]] || keep_failed "$F" "$N forms with xena's login, want 2"
expect_count 0 "$F" 'http2.type == 9' "${D[@]}"
h2_frames "$F" 9462 "-d tcp.port==9462,http2" \
    "0 13 POST /a 127.0.0.1:9462 200;0 15 POST /b 127.0.0.1:9462 200" --interleave \
    >"$WORK/h2-multiplex.frames"
grep -q '^stream: conn 0 stream 13: .* response body 65536 B$' "$WORK/h2-multiplex.frames" \
    && grep -q '^stream: conn 0 stream 15: .* response body 65536 B$' "$WORK/h2-multiplex.frames" \
    || keep_failed "$F" "the two answers are not 64 KiB each"
sed 's/^/    /' "$WORK/h2-multiplex.frames" >&2
check_tcp "$F" 1 "cfin=1 crst=0 sfin=1 srst=0"
install -m 0644 "$F" "$OUT/h2-multiplex.pcap"
log "wrote $OUT/h2-multiplex.pcap"

# ---------------------------------------------------------------- summary
log "tool versions"
{
    curl --version | head -1
    nghttpd --version
    nghttp --version
    openssl version
    tcpdump --version 2>&1 | head -2
    tshark --version 2>&1 | head -1
    dpkg-query -W -f='${Package} ${Version}\n' curl nghttp2-server nghttp2-client libnghttp2-14 openssl tcpdump tshark
} | sed 's/^/    /' >&2

log "summary"
for f in h2-tls.pcap h2c.pcap h2-multiplex.pcap; do
    {
        echo "$f: $(capinfos -c -M "$OUT/$f" | sed -n 's/^Number of packets: *//p') packets"
        tshark -r "$OUT/$f" -q -z conv,tcp | grep '<->' | awk '{print "  conn", $1, $2, $3}'
    } | sed 's/^/    /' >&2
done
