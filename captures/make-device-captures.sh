#!/usr/bin/env bash
# HTTP as devices send it, protocols that only look like HTTP, and a broken capture clock.
# Run as root (tcpdump needs it); only 127.0.0.1 is used:
#
#     sudo captures/make-device-captures.sh
#
#   http-devices.pcap  devices.py's clients (odd version tokens, HTTP/0.9, bare LF, a POST body
#                      without Content-Length, a folded header, a NUL in the target, session and
#                      flag cookies) against devices.py's server, port 8095
#   sip-rtsp.pcap      a SIP REGISTER over TCP (port 5099) and RTSP OPTIONS/DESCRIBE (port 8554)
#   clock-jump.pcap    http-ipv4.pcap with frame 20 stamped 60 years ahead and frame 50 stamped
#                      at the epoch (restamp.py), as a capture with a broken clock
#   clock-gap.pcap     http-ipv4.pcap with its second and third connections three days later
#                      (editcap, mergecap -a): a real gap, not a broken clock
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"

die() { echo "make-device-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark editcap mergecap ss /usr/bin/python3; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
PY=/usr/bin/python3
for p in 8095 5099 8554; do
    [[ -z $(ss -Htln "sport = :$p") ]] || die "port $p already in use"
done

make_workdir devices
for p in 8095 5099 8554; do
    "$PY" "$SCRIPT_DIR/devices.py" server "$p" >"$WORK/server-$p.log" 2>&1 &
    PIDS+=($!)
    wait_listen "$p"
done

log "http-devices.pcap (127.0.0.1:8095)"
F=$WORK/http-devices.pcap
start_tcpdump "$F" 'tcp port 8095'
"$PY" "$SCRIPT_DIR/devices.py" http 8095
stop_capture "$F"
expect_count 7 "$F" 'tcp.flags.syn == 1 and tcp.flags.ack == 0'
cp "$F" "$OUT/"

log "sip-rtsp.pcap (127.0.0.1:5099 SIP, 127.0.0.1:8554 RTSP)"
F=$WORK/sip-rtsp.pcap
start_tcpdump "$F" 'tcp port 5099 or tcp port 8554'
"$PY" "$SCRIPT_DIR/devices.py" sip 5099
"$PY" "$SCRIPT_DIR/devices.py" rtsp 8554
stop_capture "$F"
expect_count 1 "$F" 'sip.Method == "REGISTER"' -d tcp.port==5099,sip
expect_count 2 "$F" 'rtsp.request'
cp "$F" "$OUT/"

log "clock-jump.pcap (from http-ipv4.pcap)"
first=$(tshark -r "$SCRIPT_DIR/http-ipv4.pcap" -c 1 -T fields -e frame.time_epoch | cut -d. -f1)
"$PY" "$SCRIPT_DIR/restamp.py" "$SCRIPT_DIR/http-ipv4.pcap" "$OUT/clock-jump.pcap" \
    "20=$((first + 60 * 365 * 86400))" "50=0"
log "clock-gap.pcap (from http-ipv4.pcap)"
# A real gap, as mergecap -a makes of two captures taken days apart: connection 2 onwards
# (frame 13, its SYN) three days later.
editcap -r "$SCRIPT_DIR/http-ipv4.pcap" "$WORK/day1.pcap" 1-12 2>/dev/null
editcap -r "$SCRIPT_DIR/http-ipv4.pcap" "$WORK/day4-early.pcap" 13-68 2>/dev/null
editcap -t $((3 * 86400)) "$WORK/day4-early.pcap" "$WORK/day4.pcap"
mergecap -a -F pcap -w "$OUT/clock-gap.pcap" "$WORK/day1.pcap" "$WORK/day4.pcap"
log "done"
