#!/usr/bin/env bash
# Captures curl logging in to plainsight's own lab (rustls server, certificate made by rcgen) over
# HTTP and HTTPS, with the lab's key log. Run as root from anywhere: builds plainsight first.
#   lab-login.pcap  — HTTP login (alice / Lab-Pass-1) then HTTPS login (bob / Lab-Pass-2), TLS 1.3
#   lab-login.keys  — the key log the lab wrote
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
cargo build --release --quiet
bin="$PWD/target/release/plainsight"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
rm -f "$here/lab-login.keys"
"$bin" lab --http-port 18080 --https-port 18443 --keylog "$here/lab-login.keys" > "$tmp/lab.log" 2>&1 &
pids+=($!)
tcpdump -i lo --immediate-mode -U -B 32768 -s 0 -w "$here/lab-login.pcap" 'tcp port 18080 or tcp port 18443' 2> "$tmp/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" 2>/dev/null && grep -q "Ctrl-C" "$tmp/lab.log" && break; sleep 0.1; done
curl -s -o /dev/null -d 'username=alice&password=Lab-Pass-1' http://127.0.0.1:18080/login
curl -s -o /dev/null -k --http1.1 --resolve lab.plainsight.test:18443:127.0.0.1 \
  -d 'username=bob&password=Lab-Pass-2' https://lab.plainsight.test:18443/login
sleep 1.5
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true
echo "wrote $here/lab-login.pcap and $here/lab-login.keys"
