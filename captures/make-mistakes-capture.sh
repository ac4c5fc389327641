#!/usr/bin/env bash
# Captures the lab's mistakes mode (`plainsight lab --mistakes`) visited as a class would: headless
# Chromium opens each mistake's page once, each in a fresh profile (a first visit: no HSTS
# remembered), curl posts a password to the port that redirects to HTTPS too late and fetches the
# clean HTTPS site trusting the lab CA. Run as root from anywhere: builds plainsight first.
#   mistakes.pcap    — every planted mistake once (plainsight gives each its one finding)
#   mistakes.keys    — the key log the lab wrote (the HTTPS mistakes are only seen decrypted)
#   mistakes-ca.pem  — the lab's root CA of that run (give it to --ca: the clean site is trusted)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
die() { echo "make-mistakes-capture.sh: $*" >&2; exit 1; }
cargo build --release --quiet
bin="$PWD/target/release/plainsight"
tmp="$(mktemp -d)"
chmod 755 "$tmp"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
http=18080 https=18443
rm -f "$here/mistakes.keys"
"$bin" lab --http-port $http --https-port $https --mistakes --keylog "$here/mistakes.keys" \
  --ca-out "$here/mistakes-ca.pem" > "$tmp/lab.log" 2>&1 &
pids+=($!)
tcpdump -i lo --immediate-mode -U -B 32768 -s 0 -w "$here/mistakes.pcap" \
  "tcp port $http or tcp portrange $https-$((https + 12))" 2> "$tmp/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" 2>/dev/null && grep -q "Ctrl-C" "$tmp/lab.log" && break; sleep 0.1; done
grep -q "Ctrl-C" "$tmp/lab.log" || die "the lab did not start: $(cat "$tmp/lab.log")"
chromium_visit() {  # url
  local profile
  profile=$(mktemp -d "$tmp/profile.XXXXXX")
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-quic \
    --disable-background-networking --disable-component-update --disable-sync \
    --ignore-certificate-errors --virtual-time-budget=3000 \
    --host-resolver-rules="MAP lab.plainsight.test 127.0.0.1" \
    --user-data-dir="$profile" --dump-dom "$1" > /dev/null 2>&1 || die "chromium failed on $1"
}
# The banner lists each mistake's port, finding and URL (see `plainsight lab --mistakes`).
grep -E '^  [0-9]+ +[a-z_]+ +(http|https)://' "$tmp/lab.log" | while read -r port kind url; do
  case "$kind" in
    credentials_before_redirect)
      code=$(curl -s -o /dev/null -w '%{http_code}' -d 'username=mallory&password=Too-Late-1' "$url")
      [ "$code" = 301 ] || die "$url answered $code, not 301" ;;
    *) chromium_visit "$url" ;;
  esac
done
curl -sf -o /dev/null --cacert "$here/mistakes-ca.pem" --resolve "lab.plainsight.test:$https:127.0.0.1" \
  "https://lab.plainsight.test:$https/" || die "curl does not trust the clean lab site"
sleep 1
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true
echo "wrote $here/mistakes.pcap, mistakes.keys and mistakes-ca.pem"
