#!/usr/bin/env bash
# The link-layer and tunnel captures. Run as root:
#
#     sudo captures/make-encap-captures.sh
#
# vxlan.pcap is live: two network namespaces made here, joined by a veth pair,
# with a Linux VXLAN device (VNI 42, UDP 4789) in each; curl in one logs in to a
# Python http.server in the other, over IPv4 and IPv6 inside the tunnel, and
# tcpdump records the outer veth. Nothing leaves the namespaces.
#
# nflog-live.pcap is live too: the kernel's NFLOG (an nftables `log group` rule in one of those
# namespaces) hands tcpdump a curl login on that namespace's loopback.
#
# The kernels this was made on have no GRE, IPIP, SIT, GENEVE, VLAN, PPP or
# mac80211_hwsim support, so the other files are made by encap.py from the
# real http-basic.pcap (see that script). tshark must read each file to the
# same three logins as http-basic.pcap, at the same frames.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"

die() { echo "make-encap-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (namespaces and tcpdump need it)"
for t in ip nft tcpdump tshark curl /usr/bin/python3; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

make_workdir encap
NS_A=plainsight-vx-a-$$
NS_B=plainsight-vx-b-$$
remove_namespaces() {
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
}
trap 'cleanup; remove_namespaces' EXIT

log "vxlan.pcap (namespaces $NS_A, $NS_B)"
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add vx-out-a type veth peer name vx-out-b
ip link set vx-out-a netns "$NS_A"
ip link set vx-out-b netns "$NS_B"
setup_side() { # namespace veth outer-address peer-address inner4 inner6
    local ns=$1
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$3/24" dev "$2"
    ip -n "$ns" link set "$2" up
    ip -n "$ns" link add vx0 type vxlan id 42 local "$3" remote "$4" dstport 4789 dev "$2"
    ip -n "$ns" addr add "$5/24" dev vx0
    ip -n "$ns" addr add "$6/64" dev vx0 nodad
    ip -n "$ns" link set vx0 up
}
setup_side "$NS_A" vx-out-a 10.9.0.1 10.9.0.2 192.168.42.1 fd42::1
setup_side "$NS_B" vx-out-b 10.9.0.2 10.9.0.1 192.168.42.2 fd42::2

mkdir -p "$WORK/www"
echo "welcome, tunnelled visitor" >"$WORK/www/index.html"
for bind in 192.168.42.2:8080 fd42::2:8081; do
    ip netns exec "$NS_B" /usr/bin/python3 -m http.server --directory "$WORK/www" \
        --bind "${bind%:*}" "${bind##*:}" >"$WORK/http-${bind##*:}.log" 2>&1 &
    PIDS+=($!)
done
for port in 8080 8081; do
    for _ in $(seq 100); do
        [[ -n $(ip netns exec "$NS_B" ss -Htln "sport = :$port") ]] && break
        sleep 0.1
    done
done

F=$WORK/vxlan.pcap
ip netns exec "$NS_B" tcpdump -i vx-out-b -U --immediate-mode -s 0 -w "$F" 'udp port 4789' 2>"$F.err" &
CAP_PID=$!
PIDS+=("$CAP_PID")
wait_grep "$F.err" "listening on"
ip netns exec "$NS_A" curl -sS --fail -o /dev/null -u carol:Vx1an-Secret http://192.168.42.2:8080/
ip netns exec "$NS_A" curl -sS --fail -o /dev/null -g -u dave:six-in-vxlan 'http://[fd42::2]:8081/'
stop_capture "$F"
expect_count 2 "$F" 'vxlan.vni == 42 and http.authorization'
expect_count 1 "$F" 'vxlan and ipv6 and http.authorization'
cp "$F" "$OUT/vxlan.pcap"

log "nflog-live.pcap (namespace $NS_A, nftables 'log group 5')"
# The kernel's NFLOG: an nftables rule in a namespace of our own copies each packet of the login
# to netlink group 5, and tcpdump reads that group (link type 239).
ip -n "$NS_A" link set lo up
ip netns exec "$NS_A" nft -f - <<'NFT'
table inet plainsight {
    chain out {
        type filter hook output priority 0;
        tcp dport 8096 log group 5
        tcp sport 8096 log group 5
    }
}
NFT
ip netns exec "$NS_A" /usr/bin/python3 -m http.server --directory "$WORK/www" --bind 127.0.0.1 8096 \
    >"$WORK/http-8096.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    [[ -n $(ip netns exec "$NS_A" ss -Htln "sport = :8096") ]] && break
    sleep 0.1
done
F=$WORK/nflog-live.pcap
ip netns exec "$NS_A" tcpdump -i nflog:5 -U -s 0 -w "$F" 2>"$F.err" &
CAP_PID=$!
PIDS+=("$CAP_PID")
wait_grep "$F.err" "listening on"
ip netns exec "$NS_A" curl -sS --fail -o /dev/null -u erin:nflog-Pass http://127.0.0.1:8096/
stop_capture "$F"
expect_count 1 "$F" 'http.authorization' -d tcp.port==8096,http
cp "$F" "$OUT/nflog-live.pcap"

log "encap.py: the other link layers and tunnels from http-basic.pcap"
/usr/bin/python3 "$SCRIPT_DIR/encap.py" "$SCRIPT_DIR/http-basic.pcap" "$WORK" >"$WORK/encap.list"
while read -r name; do
    frames=$(tshark -r "$WORK/$name" -d tcp.port==8090,http \
        -Y 'http.authorization or http.proxy_authorization' -T fields -e frame.number | tr '\n' ' ')
    case $name in
        wifi-radiotap.pcap) want="10 22 34 " ;;
        *) want="4 16 28 " ;;
    esac
    [[ $frames == "$want" ]] || keep_failed "$WORK/$name" "tshark finds the logins at frames '$frames', want '$want'"
    [[ $(count "$WORK/$name" _ws.malformed) -eq 0 ]] || keep_failed "$WORK/$name" "tshark finds it malformed"
    cp "$WORK/$name" "$OUT/$name"
done <"$WORK/encap.list"
log "done"
