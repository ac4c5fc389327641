#!/usr/bin/env bash
# Regenerate certificates.pcap and certificates-ca.pem, the certificate-trust lesson's capture.
# Run as root (packet capture needs it):
#
#     sudo captures/make-cert-captures.sh
#
# Only 127.0.0.1 is used; nothing leaves the machine. The pcap is made with "tcpdump -i lo".
# OpenSSL's s_server (-www) serves each chain below in turn, TLS 1.2 (so the certificates cross
# the wire readable, as they do in every TLS 1.2 handshake); curl (-k, so that the handshake
# completes and a page is fetched) connects by name with --resolve, so the ClientHello carries
# the name. Before the capture, the script checks each chain with curl without -k (trusting
# Debian's CA bundle and the private root): exit 0 for the first, 60 for every other.
#
#   port 4461  intranet.corp.test     a private CA: leaf (EC P-256) + "Corp Issuing CA", both
#              signed under "Corp Root CA" (certificates-ca.pem). Trusted only with --ca.
#   port 4462  expired.corp.test      the same CA, valid 2024-01-01 .. 2024-04-01.
#   port 4463  future.corp.test       the same CA, valid from 2036-01-01.
#   port 4464  shop.corp.test         the same CA, but the certificate is for www.corp.test.
#   port 4465  self-signed.corp.test  a self-signed RSA 2048 certificate.
#   port 4466  www.example.com        public-looking: a leaf under "R11" of "Let's Encrypt",
#              itself under a home-made "ISRG Root X1" with the real root's exact name. Names
#              are not trust: the signature does not come from the real root's key.
#
# Needs these Debian packages: tcpdump, tshark, openssl, curl, ca-certificates.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"
BUNDLE=/etc/ssl/certs/ca-certificates.crt

die() { echo "make-cert-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark openssl curl; do
    command -v "$t" >/dev/null || die "missing tool: $t (see captures/apt-packages.txt)"
done
[[ -r $BUNDLE ]] || die "$BUNDLE is missing (Debian's ca-certificates)"
for p in 4461 4462 4463 4464 4465 4466; do
    if [[ -n $(ss -Htln "sport = :$p") ]]; then die "tcp port $p already in use"; fi
done

make_workdir cert-captures
P=$WORK/pki
mkdir -p "$P"

# A CA in the layout "openssl ca" wants, so certificates can get any start and end date.
ca_dir() {        # name
    mkdir -p "$P/$1/new"
    : >"$P/$1/index.txt"
    cat >"$P/$1/ca.cnf" <<CNF
[ca]
default_ca = this
[this]
dir = $P/$1
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
countryName = optional
organizationName = optional
commonName = supplied
[issuing]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \$ENV::SAN
CNF
}

root_ca() {       # name subject key-options...
    local name=$1 subj=$2; shift 2
    ca_dir "$name"
    openssl req -x509 -new -nodes "$@" -sha256 -days 7300 -subj "$subj" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$P/$name/ca.key" -out "$P/$name/ca.pem" 2>>"$WORK/pki.log"
}

sign() {          # ca csr out extensions start end [SAN]
    SAN=${7:-DNS:none} openssl ca -batch -config "$P/$1/ca.cnf" -notext -in "$2" -out "$3" \
        -extensions "$4" -startdate "$5" -enddate "$6" 2>>"$WORK/pki.log" \
        || { cat "$WORK/pki.log" >&2; die "cannot sign $3"; }
}

csr() {           # name subject key-options...
    local name=$1 subj=$2; shift 2
    openssl req -new -nodes "$@" -subj "$subj" -keyout "$P/$name.key" \
        -out "$P/$name.csr" 2>>"$WORK/pki.log"
}

NOW=$(date -u +%Y%m%d000000Z)
LATER=$(date -u -d '+5 years' +%Y%m%d000000Z)
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
RSA=(-newkey rsa:2048)

log "making the certificates"
# The private CA: a root, an issuing CA under it (as Vault's PKI engine or cert-manager set up).
root_ca corp '/O=Corp/CN=Corp Root CA' "${EC[@]}"
csr corp-issuing '/O=Corp/CN=Corp Issuing CA' "${EC[@]}"
ca_dir corp-issuing
sign corp "$P/corp-issuing.csr" "$P/corp-issuing/ca.pem" issuing "$NOW" "$LATER"
cp "$P/corp-issuing.key" "$P/corp-issuing/ca.key"
leaf() {          # name cn san start end
    csr "$1" "/O=Corp/CN=$2" "${EC[@]}"
    sign corp-issuing "$P/$1.csr" "$P/$1.pem" leaf "$4" "$5" "$3"
    cp "$P/corp-issuing/ca.pem" "$P/$1.chain.pem"
}
leaf intranet intranet.corp.test DNS:intranet.corp.test "$NOW" "$LATER"
leaf expired expired.corp.test DNS:expired.corp.test 20240101000000Z 20240401000000Z
leaf future future.corp.test DNS:future.corp.test 20360101000000Z 20370101000000Z
leaf wrongname www.corp.test DNS:www.corp.test "$NOW" "$LATER"
openssl req -x509 -new -nodes "${RSA[@]}" -sha256 -days 3650 -subj /CN=self-signed.corp.test \
    -addext "subjectAltName=DNS:self-signed.corp.test" \
    -keyout "$P/selfsigned.key" -out "$P/selfsigned.pem" 2>>"$WORK/pki.log"
# Public-looking: the real Let's Encrypt names, home-made keys.
root_ca isrg '/C=US/O=Internet Security Research Group/CN=ISRG Root X1' "${RSA[@]}"
csr r11 "/C=US/O=Let's Encrypt/CN=R11" "${RSA[@]}"
ca_dir r11
sign isrg "$P/r11.csr" "$P/r11/ca.pem" issuing "$NOW" "$LATER"
cp "$P/r11.key" "$P/r11/ca.key"
csr public /CN=www.example.com "${RSA[@]}"
sign r11 "$P/public.csr" "$P/public.pem" leaf "$NOW" "$(date -u -d '+90 days' +%Y%m%d000000Z)" \
    DNS:www.example.com,DNS:example.com
cp "$P/r11/ca.pem" "$P/public.chain.pem"
cat "$BUNDLE" "$P/corp/ca.pem" >"$P/trusted.pem"

CASES=(
    "4461 intranet.corp.test intranet 0"
    "4462 expired.corp.test expired 60"
    "4463 future.corp.test future 60"
    "4464 shop.corp.test wrongname 60"
    "4465 self-signed.corp.test selfsigned 60"
    "4466 www.example.com public 60"
)

serve() {         # port name: the certificate and, after it, the intermediates (if any)
    local CHAIN=
    [[ -e $P/$2.chain.pem ]] && CHAIN=1
    openssl s_server -accept "$1" -www -tls1_2 -key "$P/$2.key" -cert "$P/$2.pem" \
        ${CHAIN:+-cert_chain "$P/$2.chain.pem"} >"$WORK/$2.server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_listen "$1"
}

log "checking each chain with curl (Debian's CA bundle and Corp Root CA trusted)"
for c in "${CASES[@]}"; do
    read -r port host name want <<<"$c"
    serve "$port" "$name"
    rc=0
    curl -s -o /dev/null --cacert "$P/trusted.pem" --resolve "$host:$port:127.0.0.1" \
        "https://$host:$port/" || rc=$?
    [[ $rc -eq $want ]] || die "$host: curl exit $rc, want $want"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
done

log "capturing"
start_tcpdump "$WORK/certificates.pcap" "tcp portrange 4461-4466"
for c in "${CASES[@]}"; do
    read -r port host name _ <<<"$c"
    serve "$port" "$name"
    curl -sk -o /dev/null --tlsv1.2 --tls-max 1.2 --resolve "$host:$port:127.0.0.1" \
        "https://$host:$port/" || die "$host: curl -k failed"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
done
stop_capture "$WORK/certificates.pcap"
expect_count 6 "$WORK/certificates.pcap" "tls.handshake.type == 11"
cp "$WORK/certificates.pcap" "$OUT/certificates.pcap"
cp "$P/corp/ca.pem" "$OUT/certificates-ca.pem"
log "wrote $OUT/certificates.pcap and $OUT/certificates-ca.pem"
