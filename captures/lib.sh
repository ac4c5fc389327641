# Shared by the capture scripts in this directory (sourced, not run): the work directory and its
# cleanup, waiting for servers and log lines, starting and stopping tcpdump on lo, and counting
# packets with tshark. Each script defines die() (its messages carry its name) before using these.

log() { echo "==> $*" >&2; }

# Commands run through "${NS[@]}": empty, or nsenter into a private network namespace
# (make-tls-captures.sh uses one for tls13-bigclienthello.pcap).
NS=()

make_workdir() {  # name: WORK=/tmp/plainsight-NAME.XXXXXX, removed with every started process on exit
    WORK=$(mktemp -d "/tmp/plainsight-$1.XXXXXX")
    chmod 755 "$WORK"          # tcpdump drops privileges to user 'tcpdump'
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}

tshark() {        # without the "Running as user root" warning on stderr
    command tshark "$@" 2> >(grep -v '^Running as user' >&2)
}

wait_listen() {   # port
    local i
    for i in $(seq 100); do
        [[ -n $("${NS[@]}" ss -Htln "sport = :$1") ]] && return 0
        sleep 0.1
    done
    die "nothing listening on port $1"
}

wait_grep() {     # file pattern
    local i
    for i in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$1" >&2 || true
    die "timed out waiting for '$2' in $1"
}

start_tcpdump() { # outfile filter
    rm -f "$1" "$1.err"
    # See make-captures.sh for why --immediate-mode, -U and -B.
    "${NS[@]}" tcpdump -i lo -U --immediate-mode -B 32768 -s 0 -w "$1" "$2" 2>"$1.err" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    wait_grep "$1.err" "listening on"
}

stop_capture() {  # outfile
    sleep 1.5                       # let the last ACKs / FINs arrive
    kill -INT "$CAP_PID"
    local rc=0
    wait "$CAP_PID" || rc=$?
    [[ $rc -eq 0 || $rc -eq 130 ]] || { cat "$1.err" >&2; die "capture exited with $rc"; }
    sed 's/^/    /' "$1.err" >&2
    # tcpdump's drop count, or dumpcap's (make-captures.sh captures pcapng with dumpcap).
    if grep -Eq '^[1-9][0-9]* packets dropped by kernel|dropped on interface.*: [0-9]+/[1-9]' "$1.err"; then
        die "packets were dropped while capturing $1; run the script again"
    fi
}

keep_failed() {   # file message
    cp "$1" "/tmp/failed-$(basename "$1")"
    die "$(basename "$1"): $2 (capture kept in /tmp/failed-$(basename "$1"))"
}

count() {         # file display-filter [tshark-options...]
    local f=$1 y=$2; shift 2
    tshark -r "$f" "$@" -Y "$y" | wc -l
}

expect_count() { # want file display-filter [tshark-options...]
    local want=$1 got; shift
    got=$(count "$@")
    [[ $got -eq $want ]] || keep_failed "$1" "$got packets match '$2' (${*:3}), want $want"
}

# The lab's certificates: a CA "plainsight lab CA" (ECDSA P-256, serial 1) in $WORK/pki, then
# make_cert for each server certificate (CN login.plainsight.test, SANs login. and
# www.plainsight.test), all valid 3650 days from the day the script runs.
make_lab_ca() {
    PKI=$WORK/pki
    mkdir -p "$PKI"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
        -set_serial 1 -subj '/CN=plainsight lab CA' \
        -keyout "$PKI/ca.key" -out "$PKI/ca.pem" 2>>"$WORK/pki.log"
    cat >"$PKI/server.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:login.plainsight.test, DNS:www.plainsight.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
}

# CERT_EXT names another extensions file (say, one whose key usage allows RSA key exchange).
make_cert() {     # name serial key-options...: $PKI/NAME.key and NAME.pem, signed by the lab CA
    local name=$1 serial=$2; shift 2
    openssl req -new -nodes "$@" -subj /CN=login.plainsight.test \
        -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>>"$WORK/pki.log"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
        -set_serial "$serial" -days 3650 -sha256 -extfile "${CERT_EXT:-$PKI/server.ext}" \
        -out "$PKI/$name.pem" 2>>"$WORK/pki.log"
    openssl verify -CAfile "$PKI/ca.pem" "$PKI/$name.pem" >/dev/null || die "$name.pem does not verify"
}
