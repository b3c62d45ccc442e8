#!/usr/bin/env bash
# Records real Linux-kernel IPv6 traffic as golden captures for the wire-format tests
# (IPv6, extension headers, ICMPv6, NDP, MLDv2). Run as root: make-ipv6-captures.sh OUTDIR
# Topology, all inside namespaces made here and removed on exit (even on failure):
#   ns6a A 2001:db8:1::1 (02:00:00:00:6a:01)
#     --veth-- ns6r R 2001:db8:1::fe (02:00:00:00:6a:fe) | 2001:db8:2::fe (02:00:00:00:6b:fe), forwarding,
#              MTU 1280 toward B, radvd advertising 2001:db8:1::/64, MTU 1500, RDNSS 2001:db8:1::53
#     --veth-- ns6b B (MTU 1280) 2001:db8:2::1 (02:00:00:00:6b:01)
# Offloads are off so every checksum is computed by the kernel in software. Needs tcpdump,
# tshark, radvd, dnsmasq, python3 and iputils ping.
set -u
OUT=${1:?usage: make-ipv6-captures.sh OUTDIR}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
NS=(ns6a ns6r ns6b)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
A=2001:db8:1::1; RA=2001:db8:1::fe; RB=2001:db8:2::fe; B=2001:db8:2::1
for n in "${NS[@]}"; do ip netns add $n; ip -n $n link set lo up; done
ip link add a0 netns ns6a type veth peer name r0 netns ns6r
ip link add b0 netns ns6b type veth peer name r1 netns ns6r
ip -n ns6a link set a0 address 02:00:00:00:6a:01; ip -n ns6r link set r0 address 02:00:00:00:6a:fe
ip -n ns6r link set r1 address 02:00:00:00:6b:fe; ip -n ns6b link set b0 address 02:00:00:00:6b:01
ip netns exec ns6r sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n ns6r link set r1 mtu 1280; ip -n ns6b link set b0 mtu 1280
for x in "ns6a a0" "ns6r r0" "ns6r r1" "ns6b b0"; do set -- $x
  ip netns exec $1 ethtool -K $2 tx off rx off tso off gso off gro off >/dev/null 2>&1; done
ip -n ns6r addr add $RA/64 dev r0 nodad; ip -n ns6r addr add $RB/64 dev r1 nodad
ip -n ns6b addr add $B/64 dev b0 nodad
ip -n ns6a addr add $A/64 dev a0   # with DAD: its NS is in ipv6-link-up
ip -n ns6r link set r0 up; ip -n ns6r link set r1 up; ip -n ns6b link set b0 up
# R routes 2001:db8:9::/64 back out of r0 as on-link: a datagram from A to it earns A a redirect.
ip -n ns6r route add 2001:db8:9::/64 dev r0
ip -n ns6b route add default via $RB
cat > "$WORK/radvd.conf" <<CONF
interface r0 {
  AdvSendAdvert on; MinRtrAdvInterval 200; MaxRtrAdvInterval 600; AdvLinkMTU 1500;
  prefix 2001:db8:1::/64 { AdvOnLink on; AdvAutonomous on; };
  RDNSS 2001:db8:1::53 { };
};
CONF
chmod 600 "$WORK/radvd.conf"
ip netns exec ns6r radvd -n -m stderr -C "$WORK/radvd.conf" -p "$WORK/radvd.pid" 2>"$WORK/radvd.log" & RADVD=$!; PIDS+=($RADVD)
sleep 3
cap() { # name ns dev seconds -- command...
  local name=$1 ns=$2 dev=$3 after=$4; shift 5
  ip netns exec $ns tcpdump -U -q -i $dev -w "$OUT/$name.pcap" >/dev/null 2>&1 & local tp=$!
  sleep 1; "$@" >/dev/null 2>&1; sleep "$after"; kill -INT $tp; wait $tp 2>/dev/null
  echo "$name: $(tshark -r "$OUT/$name.pcap" 2>/dev/null | wc -l) frames"
}
# A's link comes up: MLDv2 reports (hop-by-hop router alert), DAD neighbour solicitations from ::,
# a router solicitation and radvd's router advertisement. Recorded on R's side of the link.
cap ipv6-link-up ns6r r0 8 -- ip -n ns6a link set a0 up
kill $RADVD; wait $RADVD 2>/dev/null; sleep 1
ip -n ns6a route add 2001:db8:2::/64 via $RA; ip -n ns6a route add 2001:db8:9::/64 via $RA
sleep 2
ip -n ns6a neigh flush dev a0; ip -n ns6r neigh flush dev r0
cap ipv6-ndp-echo ns6a a0 1 -- ip netns exec ns6a ping -6 -c 2 -W 1 $RA
cap icmpv6-time-exceeded ns6a a0 1 -- ip netns exec ns6a ping -6 -c 1 -W 1 -t 1 $B
cap icmpv6-port-unreachable ns6a a0 1 -- ip netns exec ns6a python3 -c '
import socket
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.sendto(b"hello, udp6",("2001:db8:2::1",9999))'
cap icmpv6-packet-too-big ns6a a0 1 -- ip netns exec ns6a ping -6 -c 1 -W 1 -M do -s 1400 $B
cap ipv6-fragments ns6a a0 1 -- ip netns exec ns6a ping -6 -c 1 -W 1 -s 2000 $B
cap icmpv6-redirect ns6a a0 2 -- ip netns exec ns6a ping -6 -c 1 -W 1 2001:db8:9::1
# A UDP datagram with hop-by-hop and destination options headers (PadN; Linux drops pads over 7 bytes), answered by port unreachable.
cap ipv6-extension-headers ns6a a0 1 -- ip netns exec ns6a python3 -c '
import socket
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0,0,1,4,0,0,0,0]))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, bytes([0,0,1,4,0,0,0,0]))
s.sendto(b"options",("2001:db8:2::1",9999))'
# Parameter problems: a routing header of type 0 with segments left (RFC 5095) to R, and an
# unknown next header (253) to B. Both written whole by a raw IPv6 socket.
cap icmpv6-parameter-problem ns6a a0 1 -- ip netns exec ns6a python3 -c '
import socket,struct
A=socket.inet_pton(socket.AF_INET6,"2001:db8:1::1")
def send(dst,nh,payload):
    s=socket.socket(socket.AF_INET6,socket.SOCK_RAW,socket.IPPROTO_RAW)
    d=socket.inet_pton(socket.AF_INET6,dst)
    s.sendto(struct.pack("!IHBB",6<<28,len(payload),nh,64)+A+d+payload,(dst,0))
rh0=bytes([59,2,0,1,0,0,0,0])+socket.inet_pton(socket.AF_INET6,"2001:db8:2::1")
send("2001:db8:1::fe",43,rh0)
import time; time.sleep(0.3)
send("2001:db8:2::1",253,b"unknown next header!")'
# DNS over IPv6: dnsmasq on B answers A's AAAA queries — a direct answer, and one through a
# CNAME (with name compression) — and an A query for the same dual-stack name. IDs 0x6001-0x6003.
ip netns exec ns6b dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=$B --bind-interfaces \
  --pid-file="$WORK/dnsmasq.pid" --host-record=www.example.test,198.51.100.80,2001:db8:2::80 \
  --cname=alias.example.test,www.example.test >/dev/null 2>&1 & PIDS+=($!)
sleep 1
cap dns-aaaa ns6a a0 1 -- ip netns exec ns6a python3 -c '
import socket,struct
def ask(ident,name,qtype):
    q=struct.pack("!HHHHHH",ident,0x0100,1,0,0,0)
    q+=b"".join(bytes([len(l)])+l.encode() for l in name.split("."))+b"\0"+struct.pack("!HH",qtype,1)
    s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.settimeout(2); s.sendto(q,("2001:db8:2::1",53)); s.recv(512)
ask(0x6001,"www.example.test",28); ask(0x6002,"alias.example.test",28); ask(0x6003,"www.example.test",1)'
cat "$WORK/radvd.log" >&2
ls -la "$OUT"
