#!/usr/bin/env bash
# Records a real DHCPv4 exchange (RFC 2131) between BusyBox's udhcpc and dnsmasq
# as golden bytes for NetStack's DHCP wire-format tests: DISCOVER, OFFER,
# REQUEST, ACK, and the RELEASE udhcpc sends on exit (-R).
# Needs root, dnsmasq, busybox, tcpdump. Usage: record.sh [OUTFILE]
# (default: dhcp-exchange.pcap beside this script). The xid, the leased address and
# the frame count differ from one recording to the next: after re-recording, update
# what Tests/NetStackWireTests/DHCPTests.swift expects (from tshark -V of the new file).
# The committed file: recorded 2026-12-06, Linux 6.18, dnsmasq 2.90, BusyBox 1.35.0.
# Topology, in namespaces made here and removed on exit, even on failure:
#   dhcpS 192.0.2.1/24 (s0, 02:00:00:00:0d:fe, dnsmasq) --veth-- dhcpC (c0, 02:00:00:00:0d:01, udhcpc)
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$here/dhcp-exchange.pcap}
work=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for n in dhcpS dhcpC; do ip netns del $n 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
for n in dhcpS dhcpC; do
  ip netns add $n; ip -n $n link set lo up
  ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add s0 netns dhcpS type veth peer name c0 netns dhcpC
ip -n dhcpS link set s0 address 02:00:00:00:0d:fe; ip -n dhcpC link set c0 address 02:00:00:00:0d:01
ip -n dhcpS addr add 192.0.2.1/24 dev s0
for x in "dhcpS s0" "dhcpC c0"; do set -- $x; ip -n $1 link set $2 up
  ip netns exec $1 ethtool -K $2 tx off rx off >/dev/null 2>&1; done
ip netns exec dhcpS dnsmasq --no-daemon --user=root --port=0 --no-resolv --no-hosts --interface=s0 --bind-interfaces \
  --dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m --dhcp-option=option:router,192.0.2.1 \
  --dhcp-option=option:dns-server,192.0.2.53 --dhcp-leasefile="$work/leases" --dhcp-authoritative \
  >"$work/dnsmasq.log" 2>&1 & PIDS+=($!)
# udhcpc configures the leased address so that its RELEASE can leave from it.
cat > "$work/script" <<'SH'
#!/bin/sh
case "$1" in bound|renew) ip addr add "$ip/${mask:-24}" dev "$interface" ;; esac
SH
chmod +x "$work/script"
sleep 1
ip netns exec dhcpS tcpdump -U -q -i s0 -w "$OUT" udp port 67 or udp port 68 >/dev/null 2>&1 & tp=$!
sleep 1
ip netns exec dhcpC busybox udhcpc -f -R -B -t 3 -T 2 -i c0 -s "$work/script" -x hostname:netstack-test >"$work/udhcpc.log" 2>&1 & up=$!
# Bounded wait for the lease, then SIGTERM: udhcpc sends its RELEASE (-R) and exits.
for _ in $(seq 1 100); do ip -n dhcpC -4 addr show dev c0 | grep -q 'inet ' && break; sleep 0.1; done
sleep 0.5; kill -TERM $up; wait $up 2>/dev/null
sleep 1; kill -INT $tp; wait $tp 2>/dev/null
echo "$(basename "$OUT"): $(tshark -r "$OUT" 2>/dev/null | wc -l) frames"
tshark -r "$OUT" 2>/dev/null
