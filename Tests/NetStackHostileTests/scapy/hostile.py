#!/usr/bin/python3
"""Attacks on NetStack for the hostile-network suite (Tests/NetStackHostileTests).

Run inside the test's network namespace only, from the kernel's side of the TAP
device (`ip netns exec NS /usr/bin/python3 hostile.py CLASS ...`). Frames are
built with scapy (Debian's python3-scapy) and written to the TAP's kernel end
with an AF_PACKET socket; sockets attacks use the kernel's own TCP.

Every attack is bounded twice: by a packet/connection count and by time
(--count, --seconds; hard caps below), and it stops early when NetStack's
resident set passes --rss-cap MiB (a safety valve for a shared machine: the
suite's RSS assertion then fails, which is the finding). Addresses come from
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32, plus the martian
literals of the land/martian class and IPv6 link-local and multicast addresses on
the TAP, which never leave the namespace.

Each class prints `key value` lines the Swift test reads (e.g. `sent 20000`).
"""

import argparse
import os
import random
import resource
import select
import socket
import struct
import sys
import time

from scapy.all import (ARP, ICMP, IP, TCP, UDP, AsyncSniffer, Ether, HBHOptUnknown, ICMPv6EchoRequest,  # noqa: F401
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, conf, fragment)

conf.verb = 0

MAX_PACKETS = 20_000
MAX_SECONDS = 15.0
NETSTACK = "192.0.2.2"
KERNEL = "192.0.2.1"


class Budget:
    """A bound in count, time and NetStack's RSS for one attack."""

    def __init__(self, args, count=None, seconds=None):
        self.count = min(count or args.count, args.count_cap)
        self.deadline = time.monotonic() + min(seconds or args.seconds, MAX_SECONDS)
        self.pid = args.pid
        self.rss_cap = args.rss_cap
        self.used = 0
        self.stopped = ""
        self.started = time.monotonic()
        self.rate = args.rate

    def rss_mib(self):
        if not self.pid:
            return 0
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            return 0
        return 0

    def more(self):
        if self.used >= self.count:
            self.stopped = self.stopped or "count"
            return False
        if time.monotonic() >= self.deadline:
            self.stopped = "time"
            return False
        if self.used % 256 == 0:
            if self.rss_cap and self.rss_mib() > self.rss_cap:
                self.stopped = "rss-cap"
                return False
            if self.rate:
                # Paced: no faster than --rate packets a second.
                ahead = self.started + self.used / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        self.used += 1
        return True

    def expired(self):
        return time.monotonic() >= self.deadline

    def report(self, what="sent"):
        print(f"{what} {self.used}")
        print(f"stopped {self.stopped or 'done'}")
        print(f"seconds {time.monotonic() - self.started:.1f}")


class Wire:
    """Raw frames out of the TAP's kernel end."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((iface, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)

    def send(self, frame):
        data = bytes(frame)
        for _ in range(200):
            try:
                self.sock.send(data)
                return
            except (BlockingIOError, OSError):
                # The TAP queue is full (NetStack reads slower than we write): wait a little.
                time.sleep(0.001)


def rand_mac():
    return "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(5))


def ether(args, src=None):
    return Ether(dst=args.mac, src=src or args.kernel_mac)


# --- classes -----------------------------------------------------------------

def malformed(args):
    """Malformed and truncated headers at every layer."""
    e = ether(args)
    good_ip = bytes(IP(src=KERNEL, dst=NETSTACK) / ICMP() / Raw(b"x" * 16))

    def variants():
        sport = random.randrange(1024, 65536)
        yield e / Raw(good_ip[:10])                                        # truncated IP header
        yield e / IP(src=KERNEL, dst=NETSTACK, ihl=4) / ICMP()             # IHL below 5
        yield e / Raw(bytes(IP(src=KERNEL, dst=NETSTACK, ihl=15))[:24])     # IHL past the frame
        yield e / IP(src=KERNEL, dst=NETSTACK, len=10) / ICMP()            # total length < header
        yield e / IP(src=KERNEL, dst=NETSTACK, len=4000) / ICMP()          # total length > frame
        yield e / IP(src=KERNEL, dst=NETSTACK, version=6) / ICMP()         # wrong version
        yield e / IP(src=KERNEL, dst=NETSTACK, chksum=0x1234) / ICMP()     # bad header checksum
        yield e / IP(src=KERNEL, dst=NETSTACK, options=b"\x83\x00\x00\x00") / ICMP()  # option length 0
        yield e / IP(src=KERNEL, dst=NETSTACK, options=b"\x44\x30\x05\x00") / ICMP()  # option past header
        yield e / IP(src=KERNEL, dst=NETSTACK, proto=6) / Raw(b"\x00" * 8)  # TCP header truncated
        yield e / IP(src=KERNEL, dst=NETSTACK) / TCP(sport=sport, dport=8080, dataofs=2, flags="S")
        yield e / IP(src=KERNEL, dst=NETSTACK) / TCP(sport=sport, dport=8080, dataofs=15, flags="S")
        yield e / IP(src=KERNEL, dst=NETSTACK) / TCP(sport=sport, dport=8080, flags="S", chksum=0xdead)
        yield e / IP(src=KERNEL, dst=NETSTACK) / TCP(sport=sport, dport=8080, flags="FSRPAU")
        yield e / IP(src=KERNEL, dst=NETSTACK, proto=17) / Raw(b"\x00\x07\x00")  # UDP header truncated
        yield e / IP(src=KERNEL, dst=NETSTACK) / UDP(sport=sport, dport=7, len=4) / Raw(b"abcd")
        yield e / IP(src=KERNEL, dst=NETSTACK) / UDP(sport=sport, dport=7, len=900) / Raw(b"abcd")
        yield e / IP(src=KERNEL, dst=NETSTACK) / UDP(sport=sport, dport=7, chksum=0xbeef) / Raw(b"abcd")
        yield e / IP(src=KERNEL, dst=NETSTACK, proto=1) / Raw(b"\x08")     # ICMP truncated
        yield e / IP(src=KERNEL, dst=NETSTACK) / ICMP(chksum=0x1111) / Raw(b"x" * 8)
        yield e / IP(src=KERNEL, dst=NETSTACK) / ICMP(type=3, code=3) / Raw(b"\x45\x00")  # error quoting 2 bytes
        yield e / IP(src=KERNEL, dst=NETSTACK) / ICMP(type=3, code=4) / Raw(bytes(IP(ihl=15))[:20])
        yield Ether(dst=args.mac, src=args.kernel_mac, type=0x0806) / Raw(b"\x00\x01\x08\x00")  # ARP truncated
        yield Ether(dst=args.mac, src=args.kernel_mac) / ARP(hwlen=7, plen=9, op=1)
        yield Ether(dst=args.mac, src=args.kernel_mac) / ARP(op=9, psrc=KERNEL, pdst=NETSTACK)
        yield Ether(dst=args.mac, src=args.kernel_mac, type=0x0800)        # empty IP payload

    frames = [bytes(f) for _ in range(8) for f in variants()]
    wire = Wire(args.iface)
    budget = Budget(args)
    while budget.more():
        wire.send(frames[budget.used % len(frames)])
    budget.report()


def garbage(args):
    """Random bytes: whole random frames, and random bytes after real headers."""
    wire = Wire(args.iface)
    budget = Budget(args)
    dst = bytes.fromhex(args.mac.replace(":", ""))
    src = bytes.fromhex(args.kernel_mac.replace(":", ""))
    ip_header = bytes(IP(src=KERNEL, dst=NETSTACK))[:20]
    while budget.more():
        kind = budget.used % 4
        body = os.urandom(random.randrange(0, 1500))
        if kind == 0:
            frame = dst + src + os.urandom(2) + body
        elif kind == 1:
            frame = dst + src + b"\x08\x00" + body
        elif kind == 2:
            frame = dst + src + b"\x08\x06" + body[:random.randrange(0, 64)]
        else:
            # A valid IP header for a random protocol, then random bytes.
            header = bytearray(ip_header)
            header[9] = random.choice((1, 6, 17, random.randrange(256)))
            struct.pack_into("!H", header, 2, 20 + len(body))
            struct.pack_into("!H", header, 10, 0)
            struct.pack_into("!H", header, 10, checksum(bytes(header)))
            frame = dst + src + b"\x08\x00" + bytes(header) + body
        wire.send(frame)
    budget.report()


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcpopts(args):
    """SYNs and ACKs whose TCP options are malformed or absurd."""
    abuse = [
        b"\x02\x00\x00\x00",                    # MSS with length 0
        b"\x02\x01\x00\x00",                    # MSS with length 1
        b"\x02\x04\x00\x00",                    # MSS 0
        b"\x02\x04\x00\x01",                    # MSS 1
        b"\x02\x04\xff\xff",                    # MSS 65535
        b"\x03\x03\xff\x00",                    # window scale 255
        b"\x03\x00\x00\x00",                    # window scale, length 0
        b"\x04\x02" * 18 + b"\x00\x00\x00\x00",  # SACK permitted 18 times
        b"\x08\x0a" + b"\xff" * 8 + b"\x00\x00",  # timestamps at the top
        b"\x08\x03\x00\x00",                    # timestamps of length 3
        b"\x05\x02\x00\x00",                    # empty SACK in a SYN
        b"\x05\x22" + os.urandom(32) + b"\x00\x00",  # 4 SACK blocks in a SYN
        b"\xfe\x28" + b"\x00" * 2,              # unknown option longer than the header
        b"\x01" * 40,                           # 40 NOPs
        b"\x00" + os.urandom(39),               # end of list, then junk
        b"\x02\xff\x05\xb4",                    # MSS with length 255
        os.urandom(40),
    ]
    wire = Wire(args.iface)
    budget = Budget(args)
    e = ether(args)
    frames = []
    for options in abuse:
        options = options + b"\x00" * (-len(options) % 4)
        options = options[:40]
        for flags in ("S", "A", "PA", "SA"):
            tcp = TCP(sport=random.randrange(1024, 65536), dport=8080, flags=flags,
                      seq=random.randrange(1 << 32), ack=random.randrange(1 << 32),
                      dataofs=5 + len(options) // 4) / Raw(options + (b"GET /" if "P" in flags else b""))
            frames.append(bytes(e / IP(src=KERNEL, dst=NETSTACK) / tcp))
    while budget.more():
        wire.send(frames[budget.used % len(frames)])
    budget.report()


def synflood(args):
    """SYNs from spoofed on-link sources nobody answers for, random ports."""
    wire = Wire(args.iface)
    budget = Budget(args)
    templates = []
    for host in range(100, 250):
        for port in (8080, 7, 9):
            templates.append((host, port))
    while budget.more():
        host, port = templates[budget.used % len(templates)]
        frame = ether(args, rand_mac()) / IP(src=f"192.0.2.{host}", dst=NETSTACK) / TCP(
            sport=random.randrange(1024, 65536), dport=port, flags="S", seq=random.randrange(1 << 32),
            options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])
        wire.send(frame)
    budget.report()


def inject(args):
    """Blind RST/SYN/data/ACK into a connection whose ports are known but whose sequence numbers are not."""
    wire = Wire(args.iface)
    budget = Budget(args)
    e = ether(args)
    templates = []
    for flags in ["R", "RA", "S", "PA", "A"]:
        payload = b"INJECTED" * 8 if flags == "PA" else b""
        frame = e / IP(src=KERNEL, dst=NETSTACK) / TCP(sport=args.sport, dport=args.dport, flags=flags,
                                                       window=65535) / Raw(payload)
        templates.append(bytearray(bytes(frame)))
    tcp_at = 14 + 20
    src = socket.inet_aton(KERNEL)
    dst = socket.inet_aton(NETSTACK)
    while budget.more():
        frame = templates[budget.used % len(templates)]
        # Random sequence and acknowledgment numbers, the TCP checksum recomputed (fast: no scapy per frame).
        struct.pack_into("!II", frame, tcp_at + 4, random.getrandbits(32), random.getrandbits(32))
        struct.pack_into("!H", frame, tcp_at + 16, 0)
        segment = bytes(frame[tcp_at:])
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(segment))
        struct.pack_into("!H", frame, tcp_at + 16, checksum(pseudo + segment))
        wire.send(bytes(frame))
    budget.report()


def fragments(args):
    """Overlapping, teardrop, oversized and never-completed fragments, and tiny ones far out."""
    wire = Wire(args.iface)
    budget = Budget(args)
    sources = [f"192.0.2.{h}" for h in range(100, 250)] + [KERNEL]

    def attack(ident, src):
        kind = ident % 5
        ip = lambda **kw: IP(src=src, dst=NETSTACK, id=ident, proto=1, **kw)  # noqa: E731
        if kind == 0:   # never completed: a first fragment only
            return [ip(flags="MF", frag=0) / Raw(b"A" * 1480)]
        if kind == 1:   # one tiny fragment at the very end of the datagram space
            return [ip(flags="MF", frag=8191) / Raw(b"B")]
        if kind == 2:   # teardrop: the second fragment ends inside the first
            return [ip(flags="MF", frag=0) / Raw(b"C" * 36), ip(frag=3) / Raw(b"D" * 4)]
        if kind == 3:   # overlapping fragments that never complete
            return [ip(flags="MF", frag=10) / Raw(b"E" * 800), ip(flags="MF", frag=20) / Raw(b"F" * 800)]
        # oversized: reassembled it would pass 65,535 bytes (ping of death)
        return [ip(flags="MF", frag=0) / Raw(b"G" * 1480), ip(frag=8189) / Raw(b"H" * 1000)]

    ident = 0
    frames = []
    for ident in range(2000):
        src = sources[ident % len(sources)]
        for packet in attack(ident, src):
            frames.append(bytes(ether(args) / packet))
    sent = 0
    ident = 0
    while not budget.expired() and sent < budget.count:
        frame = bytearray(frames[sent % len(frames)])
        # A fresh IP ID each round so that every datagram is new.
        round_id = (sent // len(frames)) * 2000
        (old,) = struct.unpack_from("!H", frame, 18)
        struct.pack_into("!H", frame, 18, (old + round_id) & 0xFFFF)
        struct.pack_into("!H", frame, 24, 0)
        struct.pack_into("!H", frame, 24, checksum(bytes(frame[14:34])))
        if not budget.more():
            break
        wire.send(bytes(frame))
        sent += 1
    budget.report()


MARTIANS = ["127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "240.0.0.1", "192.0.2.255", NETSTACK]


def martian(args):
    """Land (SYN and UDP from NetStack's own address and port to itself) and martian sources.

    Sniffs the TAP meanwhile: NetStack must never answer any of these sources.
    """
    wire = Wire(args.iface)
    budget = Budget(args)
    e = ether(args)
    land = [bytes(f) for f in (
        e / IP(src=NETSTACK, dst=NETSTACK) / TCP(sport=8080, dport=8080, flags="S", seq=1000),
        e / IP(src=NETSTACK, dst=NETSTACK) / UDP(sport=7, dport=7) / Raw(b"land"),
        e / IP(src=NETSTACK, dst=NETSTACK) / ICMP() / Raw(b"land"),
    )]
    frames = []
    for src in MARTIANS:
        frames += [
            e / IP(src=src, dst=NETSTACK) / ICMP() / Raw(b"martian"),
            e / IP(src=src, dst=NETSTACK) / TCP(sport=4000, dport=8080, flags="S"),
            e / IP(src=src, dst=NETSTACK) / TCP(sport=4000, dport=8081, flags="S"),  # closed port: no RST either
            e / IP(src=src, dst=NETSTACK) / UDP(sport=4000, dport=7) / Raw(b"martian"),
            e / IP(src=src, dst=NETSTACK) / UDP(sport=4000, dport=9999) / Raw(b"martian"),  # no port unreachable
        ]
    frames = [bytes(f) for f in frames]
    replies = []

    def answered(packet):
        if IP in packet and packet[IP].src == NETSTACK and packet[IP].dst in MARTIANS:
            replies.append(packet.summary())

    # Only frames NetStack sent (its MAC): the sniffer also sees the forged ones going out.
    sniffer = AsyncSniffer(iface=args.iface, prn=answered, store=False,
                           filter=f"ether src {args.mac} and ip src {NETSTACK}")
    sniffer.start()
    time.sleep(0.5)
    # Martian sources first, land last: a stack that land wedges must still be seen to answer martians.
    while budget.more():
        wire.send(frames[budget.used % len(frames)])
    time.sleep(0.5)
    for _ in range(3):
        for frame in land:
            wire.send(frame)
            time.sleep(0.01)
    time.sleep(1.0)
    sniffer.stop()
    budget.report()
    print(f"replies-to-martians {len(replies)}")
    for line in replies[:5]:
        print(f"reply {line}")


def arpflood(args):
    """ARP requests and unsolicited replies from many senders, on-link and off-link, with changing MACs."""
    wire = Wire(args.iface)
    budget = Budget(args)
    while budget.more():
        n = budget.used
        if n % 3 == 2:
            sender = random.choice(("198.51.100.", "203.0.113.")) + str(random.randrange(1, 255))
        else:
            sender = f"192.0.2.{random.randrange(3, 255)}"
        mac = rand_mac()
        op = 1 if n % 2 == 0 else 2
        target = NETSTACK if op == 1 or n % 4 == 1 else sender
        frame = Ether(dst=args.mac if n % 5 else "ff:ff:ff:ff:ff:ff", src=mac) / ARP(
            op=op, hwsrc=mac, psrc=sender, hwdst="00:00:00:00:00:00" if op == 1 else args.mac, pdst=target)
        wire.send(frame)
    budget.report()


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


def open_many(args, targets, budget, request=None, rcvbuf=None):
    """Non-blocking connects to (source, port) targets; returns the connected sockets."""
    pending = {}
    connected = []
    failed = 0
    for source, port in targets:
        if not budget.more():
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex((NETSTACK, port))
        pending[s.fileno()] = s
        # Keep a bounded number of handshakes in flight.
        while len(pending) >= 64:
            failed += settle(pending, connected, 3.0, request)
    while pending:
        failed += settle(pending, connected, 3.0, request)
    return connected, failed


def settle(pending, connected, timeout, request):
    """Waits (poll, not select: there are more than 1024 descriptors) for pending connects."""
    failed = 0
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    events = poller.poll(timeout * 1000)
    if not events:
        for s in pending.values():
            s.close()
        failed = len(pending)
        pending.clear()
        return failed
    for fd, _ in events:
        s = pending.pop(fd)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            if request:
                try:
                    s.send(request)
                except OSError:
                    s.close()
                    failed += 1
                    continue
            connected.append(s)
        else:
            s.close()
            failed += 1
    return failed


def handshakes(args):
    """Completed handshakes that never send: to HTTP, echo and discard, from many kernel addresses."""
    raise_fd_limit()
    budget = Budget(args, seconds=args.seconds)
    sources = args.sources.split(",")
    targets = [(sources[i % len(sources)], 8080) for i in range(args.http)]
    targets += [(sources[i % len(sources)], 7) for i in range(args.others)]
    targets += [(sources[i % len(sources)], 9) for i in range(args.others)]
    connected, failed = open_many(args, targets, budget)
    print(f"connected {len(connected)}")
    print(f"failed {failed}")
    print("holding", flush=True)
    end = time.monotonic() + args.hold
    while time.monotonic() < end:
        time.sleep(0.2)
    for s in connected:
        s.close()
    budget.report("attempted")


def timewait(args):
    """Short HTTP/1.0 requests: NetStack closes first, so each leaves a TIME_WAIT behind on its side."""
    budget = Budget(args)
    ok = 0
    request = b"GET /small.txt HTTP/1.0\r\n\r\n"
    while budget.more():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2.0)
        try:
            s.connect((NETSTACK, 8080))
            s.sendall(request)
            while s.recv(65536):
                pass
            ok += 1
        except OSError:
            pass
        finally:
            s.close()
    print(f"completed {ok}")
    budget.report("attempted")


def slowread(args):
    """Clients that ask for the big file and then read a byte a second."""
    raise_fd_limit()
    budget = Budget(args, seconds=args.seconds)
    sources = args.sources.split(",")
    targets = [(sources[i % len(sources)], 8080) for i in range(args.http)]
    request = b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
    connected, failed = open_many(args, targets, budget, request=request, rcvbuf=2048)
    print(f"connected {len(connected)}")
    print(f"failed {failed}")
    print("holding", flush=True)
    end = time.monotonic() + args.hold
    closed = 0
    while time.monotonic() < end and connected:
        for s in list(connected):
            try:
                s.setblocking(False)
                data = s.recv(1)
                if not data:
                    connected.remove(s)
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                connected.remove(s)
                closed += 1
        time.sleep(1.0)
    print(f"closed-by-server {closed}")
    for s in connected:
        s.close()
    budget.report("attempted")


def ooo(args):
    """A real connection to discard, then a flood of segments far ahead in its receive window."""
    sniffer = AsyncSniffer(iface=args.iface, filter="tcp and dst port 9 and src host %s" % KERNEL, store=True)
    sniffer.start()
    time.sleep(0.5)
    s = socket.create_connection((NETSTACK, 9), timeout=5)
    s.sendall(b"x")
    time.sleep(0.5)
    packets = sniffer.stop()
    data = [p for p in packets if TCP in p and len(p[TCP].payload) == 1]
    if not data:
        print("error no data segment seen")
        sys.exit(2)
    seg = data[-1][TCP]
    sport = seg.sport
    nxt = (seg.seq + 1) & 0xFFFFFFFF
    window = args.window
    wire = Wire(args.iface)
    budget = Budget(args)
    e = ether(args)
    frame = bytearray(bytes(e / IP(src=KERNEL, dst=NETSTACK) / TCP(sport=sport, dport=9, flags="PA", seq=0,
                                                                     ack=seg.ack, window=seg.window) / Raw(b"z")))
    tcp_at = 14 + 20
    pseudo = socket.inet_aton(KERNEL) + socket.inet_aton(NETSTACK) + struct.pack("!BBH", 0, 6, len(frame) - tcp_at)
    while budget.more():
        n = budget.used
        # One byte every 8 bytes from 2 KiB ahead of the next expected byte: thousands of holes.
        offset = 2048 + (n * 8) % (window - 4096)
        struct.pack_into("!I", frame, tcp_at + 4, (nxt + offset) & 0xFFFFFFFF)
        struct.pack_into("!H", frame, tcp_at + 16, 0)
        struct.pack_into("!H", frame, tcp_at + 16, checksum(pseudo + bytes(frame[tcp_at:])))
        wire.send(bytes(frame))
    # The connection still works: real data, then a clean close.
    try:
        s.sendall(b"y" * 65536)
        s.close()
        print("connection ok")
    except OSError as error:
        print(f"connection failed {error}")
    budget.report()


def icmpspray(args):
    """Forged ICMP port unreachable about NetStack's DNS queries, blind: every source port of the range.

    Two sprays interleaved (1 to 15), each sweeping the range in random order: errors
    quoting the real query (NetStack -> --server:53), which a resolver may
    only take as a reason to retry from a fresh port, and errors quoting a
    datagram to another server (203.0.113.53:53), which must not reach the
    resolver's socket at all (Linux matches the quoted destination of a
    connected socket). Frames are built before the clock starts.
    """
    wire = Wire(args.iface)
    lo, hi = (int(x) for x in args.ports.split("-"))

    def frames(quoted_server):
        template = bytearray(bytes(
            Ether(dst=args.mac, src=args.kernel_mac)
            / IP(src=args.server, dst=args.client)
            / ICMP(type=3, code=3)
            / IP(src=args.client, dst=quoted_server, id=1, ttl=64) / UDP(sport=lo, dport=53, len=40, chksum=0)))
        icmp_at = 14 + 20
        quoted_udp = icmp_at + 8 + 20
        ports = list(range(lo, hi + 1))
        random.shuffle(ports)
        built = []
        for port in ports:
            struct.pack_into("!H", template, quoted_udp, port)
            struct.pack_into("!H", template, icmp_at + 2, 0)
            struct.pack_into("!H", template, icmp_at + 2, checksum(bytes(template[icmp_at:])))
            built.append(bytes(template))
        return built

    matching = frames(args.server)
    other = frames("203.0.113.53")
    print("ready", flush=True)
    budget = Budget(args)
    # One error in sixteen quotes the real query: a sweep of those may make a resolver retry
    # from a fresh port, but seldom three times in a row; the others sweep the range fast.
    while budget.more():
        n = budget.used
        wire.send(matching[(n // 16) % len(matching)] if n % 16 == 0 else other[n % len(other)])
    budget.report()


def slowdns(args):
    """A DNS server on (--server, 53) that answers every A query with --answer after --delay seconds.

    The delay keeps each lookup outstanding long enough for a blind ICMP spray to meet it.
    """
    import threading
    from scapy.layers.dns import DNS, DNSRR
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.server, 53))
    sock.settimeout(0.5)
    print("listening", flush=True)
    end = time.monotonic() + 120
    answered = 0
    while time.monotonic() < end:
        try:
            data, peer = sock.recvfrom(2048)
        except socket.timeout:
            continue
        try:
            query = DNS(data)
            name = query.qd.qname
            qtype = query.qd.qtype
        except Exception:  # noqa: BLE001 - a malformed query is ignored
            continue
        answers = DNSRR(rrname=name, type="A", ttl=60, rdata=args.answer) if qtype == 1 else None
        reply = bytes(DNS(id=query.id, qr=1, aa=1, rd=query.rd, ra=1, qd=query.qd, an=answers))
        threading.Timer(args.delay, sock.sendto, (reply, peer)).start()
        answered += 1
        print(f"query {peer[1]}", flush=True)


# --- IPv6 classes (HostileIPv6Tests.swift) --------------------------------------
#
# NetStack is 2001:db8::2, the kernel 2001:db8::1 (tap0, a /64). Each class first sends a
# few probes, one at a time, and records what NetStack answers to each (its frames, by its
# MAC, are captured from a thread: a probe's answers are the captured frames that hold the
# probe's marker bytes, in a quote or in echoed data); then it floods, bounded in count and
# time. It prints `probe NAME frames F echo E na N fragments G problems CODE/POINTER,...`
# per probe and the Budget's lines; the Swift test holds what each probe should have earned.

NETSTACK6 = "2001:db8::2"
KERNEL6 = "2001:db8::1"
ALL_NODES = "ff02::1"
# The marker of a probe that expects no answer at all of its own.
NO_ANSWER = b"\x00no answer expected\x00"


def addr6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def multicast_mac(address):
    """The Ethernet group address of an IPv6 multicast address (RFC 2464 §7)."""
    return "33:33:" + ":".join("%02x" % b for b in addr6(address)[12:])


def solicited_node(address):
    return socket.inet_ntop(socket.AF_INET6, addr6("ff02::1:ff00:0")[:13] + addr6(address)[13:])


def ip6_frame(dst_mac, src_mac, src, dst, next_header, payload, hop_limit=64):
    """An Ethernet frame holding an IPv6 packet, built by hand (fast: no scapy per packet)."""
    header = struct.pack("!IHBB", 0x60000000, len(payload), next_header, hop_limit) + addr6(src) + addr6(dst)
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x86\xdd" + header + payload


def icmp6_message(src, dst, kind, code, body):
    """An ICMPv6 message with its checksum over the IPv6 pseudo-header (RFC 4443 §2.3)."""
    message = struct.pack("!BBH", kind, code, 0) + body
    pseudo = addr6(src) + addr6(dst) + struct.pack("!IxxxB", len(message), 58)
    return message[:2] + struct.pack("!H", checksum(pseudo + message)) + message[4:]


def in_fragments(frame, ident, cut=None):
    """The frames of `frame` (from ip6_frame, no extension header) sent with a fragment header:
    one atomic fragment when `cut` is None, else two fragments split `cut` bytes into the payload."""
    ether, header, payload = frame[:14], bytearray(frame[14:54]), frame[54:]
    next_header = header[6]
    header[6] = 44
    pieces = [(0, payload, False)] if cut is None else [(0, payload[:cut], True), (cut, payload[cut:], False)]
    frames = []
    for offset, data, more in pieces:
        struct.pack_into("!H", header, 4, 8 + len(data))
        fragment = struct.pack("!BxHI", next_header, offset | (1 if more else 0), ident)
        frames.append(ether + bytes(header) + fragment + data)
    return frames


def icmp6_at(frame):
    """(ICMPv6 offset, fragmented) of an IPv6 frame: the offset is None unless the frame holds
    the start of an ICMPv6 message right after the fixed header or a fragment header."""
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd":
        return None, False
    next_header = frame[20]
    if next_header == 44 and len(frame) >= 62:
        first = struct.unpack_from("!H", frame, 56)[0] >> 3 == 0
        return (62 if first and frame[54] == 58 else None), True
    return (54 if next_header == 58 else None), False


class Capture:
    """NetStack's IPv6 frames on the TAP (by its source MAC), read from a thread with an AF_PACKET socket."""

    def __init__(self, args, limit=400_000):
        import threading
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((args.iface, 0))
        self.sock.settimeout(0.05)
        self.mac = mac_bytes(args.mac)
        self.limit = limit
        self.frames = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                frame = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if frame[6:12] == self.mac and frame[12:14] == b"\x86\xdd" and len(self.frames) < self.limit:
                self.frames.append((time.monotonic(), frame))

    def stop(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class Probes:
    """Probes sent one at a time; each one's answers are NetStack's frames that hold its marker."""

    def __init__(self, args, wire):
        self.args = args
        self.wire = wire
        self.sent = []   # (name, marker)
        self.counter = 0

    def marker(self):
        self.counter += 1
        return b"PROBE6-%04d" % self.counter

    def send(self, name, marker, frames, gap=0.05):
        for frame in frames:
            self.wire.send(bytes(frame))
            time.sleep(0.01)
        self.sent.append((name, marker))
        # Apart: the ICMPv6 error limiter (a burst of 50, one more a millisecond) never stands in the way.
        time.sleep(gap)

    def report(self, capture):
        for name, marker in self.sent:
            frames = echo = na = fragments = 0
            problems = []
            for _, frame in capture.frames:
                if marker not in frame:
                    continue
                frames += 1
                at, fragmented = icmp6_at(frame)
                fragments += fragmented
                if at is None:
                    continue
                kind, code = frame[at], frame[at + 1]
                if kind == 129:
                    echo += 1
                elif kind == 136:
                    na += 1
                elif kind == 4:
                    problems.append("%d/%d" % (code, struct.unpack_from("!I", frame, at + 4)[0]))
            print(f"probe {name} frames {frames} echo {echo} na {na} fragments {fragments} "
                  f"problems {','.join(problems) or '-'}")


def echo6(marker, size=24, ident=0x6006, seq=1):
    """An echo request whose data starts with `marker` (so its reply, or an error quoting it, can be told)."""
    return ICMPv6EchoRequest(id=ident, seq=seq, data=marker + b"." * max(0, size - len(marker)))


def ext6(args):
    """Extension-header chains (RFC 8200 §4): unknown options with each action, type 0 routing headers
    with segments left (RFC 5095), hop-by-hop not first, chains past the walker's bound; then a flood of them."""
    wire = Wire(args.iface)
    capture = Capture(args)
    probes = Probes(args, wire)
    unicast = Ether(dst=args.mac, src=args.kernel_mac)
    multicast = Ether(dst=multicast_mac(ALL_NODES), src=args.kernel_mac)

    def option(kind):
        return IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=kind, optdata=b"\xab\xcd")])

    def chain(count):
        headers = IPv6ExtHdrDestOpt()
        for _ in range(count - 1):
            headers = headers / IPv6ExtHdrDestOpt()
        return headers

    def routing0(segments_left):
        return IPv6ExtHdrRouting(type=0, addresses=["2001:db8::99"], segleft=segments_left)

    m = probes.marker()
    probes.send("control", m, [unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / IPv6ExtHdrDestOpt() / echo6(m)])
    # The two high bits of an unknown option's type say what to do (RFC 8200 §4.2).
    for destination, ether_, where in ((NETSTACK6, unicast, "unicast"), (ALL_NODES, multicast, "multicast")):
        for bits, kind in (("00", 0x1E), ("01", 0x5E), ("10", 0x9E), ("11", 0xDE)):
            m = probes.marker()
            probes.send(f"option{bits}-{where}", m,
                        [ether_ / IPv6(src=KERNEL6, dst=destination) / option(kind) / echo6(m)])
    for left in (1, 0):
        m = probes.marker()
        probes.send(f"routing0-left{left}", m,
                    [unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / routing0(left) / echo6(m)])
    m = probes.marker()
    probes.send("hop-by-hop-second", m,
                [unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / echo6(m)])
    for count in (2, 9, 64):
        m = probes.marker()
        probes.send(f"chain-{count}", m, [unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / chain(count) / echo6(m)])
    m = probes.marker()
    probes.send("hop-by-hop-then-chain-30", m,
                [unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / IPv6ExtHdrHopByHop() / chain(30) / echo6(m)])
    time.sleep(0.5)

    flood = [bytes(f) for f in (
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / option(0x5E) / echo6(b"FLOOD"),
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / option(0x9E) / echo6(b"FLOOD"),
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / option(0xDE) / echo6(b"FLOOD"),
        multicast / IPv6(src=KERNEL6, dst=ALL_NODES) / option(0x9E) / echo6(b"FLOOD"),
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / routing0(1) / echo6(b"FLOOD"),
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / echo6(b"FLOOD"),
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / chain(9) / echo6(b"FLOOD"),
        unicast / IPv6(src=KERNEL6, dst=NETSTACK6) / chain(120) / echo6(b"FLOOD"),
    )]
    budget = Budget(args)
    while budget.more():
        wire.send(flood[budget.used % len(flood)])
    time.sleep(0.5)
    capture.stop()
    probes.report(capture)
    budget.report()


def fragment6(src, dst, ident, offset, more, data, next_header=58):
    """The bytes of an IPv6 packet holding one fragment (RFC 8200 §4.5) of `data` at `offset`."""
    fragment = struct.pack("!BxHI", next_header, offset | (1 if more else 0), ident)
    return IPv6(src=src, dst=dst, nh=44) / Raw(fragment + bytes(data))


def frag6(args):
    """Overlapping fragments (RFC 5722), a first fragment without the upper-layer header (RFC 7112),
    atomic fragments (RFC 8200 §4.5, RFC 6946); then never-completed fragment trains from many
    sources and identifications."""
    wire = Wire(args.iface)
    capture = Capture(args)
    probes = Probes(args, wire)
    e = Ether(dst=args.mac, src=args.kernel_mac)

    def message(marker, size):
        # The whole echo request (checksum over the reassembled datagram), to be cut into fragments.
        return bytes(IPv6(src=KERNEL6, dst=NETSTACK6) / echo6(marker, size=size))[40:]

    def frag(ident, offset, more, data, next_header=58):
        return e / fragment6(KERNEL6, NETSTACK6, ident, offset, more, data, next_header)

    m = probes.marker()
    whole = message(m, 1200)   # 1,208 bytes: the reply fits one frame
    # 0..<608 (more), then 600..<1208 overlapping it by 8 bytes, then the honest 608..<1208.
    probes.send("overlap", m, [frag(0x5722, 0, True, whole[:608]), frag(0x5722, 600, False, whole[600:]),
                               frag(0x5722, 608, False, whole[608:])], gap=0.3)
    m = probes.marker()
    whole = message(m, 1200)
    probes.send("overlap-control", m, [frag(0x5723, 0, True, whole[:608]), frag(0x5723, 608, False, whole[608:])],
                gap=0.3)
    # A destination options header, then only 8 bytes of the TCP header, in a first fragment: the
    # identification is the marker (the parameter problem quotes the fragment header).
    options = bytes(IPv6ExtHdrDestOpt(nh=6))
    probes.send("tiny-first", struct.pack("!I", 0x71127112),
                [frag(0x71127112, 0, True, options + b"\x00" * 8, next_header=60)], gap=0.3)
    # A datagram in progress under identification 0x6946, then an atomic fragment with the same
    # identification carrying a whole echo request: answered at once, and the first still completes.
    first = probes.marker()
    held = message(first, 1200)
    m = probes.marker()
    probes.send("atomic", m, [frag(0x6946, 0, True, held[:608]), frag(0x6946, 0, False, message(m, 24))], gap=0.3)
    probes.send("atomic-in-flight", first, [frag(0x6946, 608, False, held[608:])], gap=0.3)
    time.sleep(0.5)

    # Never completed: first and middle fragments, and overlapping pairs, from 2001:db8:<n>::<h>
    # (1,024 /64s), each datagram under a fresh identification. One template, patched per frame.
    template = bytearray(bytes(frag(0, 0, True, b"Z" * 1232)))
    budget = Budget(args)
    source_at, ident_at, offset_at = 14 + 8, 14 + 40 + 4, 14 + 40 + 2
    while budget.more():
        n = budget.used
        kind = n % 4
        # Kinds 2 and 3 are the two halves of one overlapping pair (same source and identification).
        key = n if kind < 2 else n - kind + 2
        struct.pack_into("!HHHH", template, source_at, 0x2001, 0xDB8, 0x1000 + key % 1024, 0)
        struct.pack_into("!H", template, source_at + 14, (key >> 10) & 0xFFFF)
        struct.pack_into("!I", template, ident_at, key & 0xFFFFFFFF)
        offset = (0, 2464, 1232, 1224)[kind]
        struct.pack_into("!H", template, offset_at, offset | 1)
        wire.send(bytes(template))
    time.sleep(0.5)
    capture.stop()
    probes.report(capture)
    budget.report()


def ndp6(args):
    """Neighbour discovery floods: solicitations from many spoofed sources and for many targets,
    unsolicited advertisements for many targets; solicitations and advertisements with hop limit 254
    (from off the link: RFC 4861 §7.1.1, §7.1.2), and solicitations behind a fragment header (RFC 6980)."""
    wire = Wire(args.iface)
    capture = Capture(args)
    probes = Probes(args, wire)
    group = solicited_node(NETSTACK6)
    group_mac = multicast_mac(group)

    def solicitation(src, target, mac, hop_limit=255, dst=group, dst_mac=group_mac):
        body = struct.pack("!I", 0) + addr6(target) + b"\x01\x01" + mac_bytes(mac)
        return ip6_frame(dst_mac, mac, src, dst, 58, icmp6_message(src, dst, 135, 0, body), hop_limit)

    def advertisement(src, target, mac, flags=0x20, hop_limit=255, dst=ALL_NODES):
        body = struct.pack("!I", flags << 24) + addr6(target) + b"\x02\x01" + mac_bytes(mac)
        return ip6_frame(multicast_mac(dst), mac, src, dst, 58, icmp6_message(src, dst, 136, 0, body), hop_limit)

    # The marker of a solicitation is its source: NetStack's advertisement in answer is sent there.
    for name, source, target, hop_limit in (("ns-hop255", "2001:db8::77", NETSTACK6, 255),
                                            ("ns-hop254", "2001:db8::78", NETSTACK6, 254),
                                            ("ns-not-ours", "2001:db8::79", "2001:db8::99", 255)):
        probes.send(name, addr6(source), [solicitation(source, target, "02:00:00:00:77:%02x" % hop_limit, hop_limit)],
                    gap=0.2)
    # RFC 6980 §5: NDP in a packet with a fragment header is ignored, even an atomic fragment.
    probes.send("ns-atomic-fragment", addr6("2001:db8::7a"),
                in_fragments(solicitation("2001:db8::7a", NETSTACK6, "02:00:00:00:77:7a"), 0x6980), gap=0.2)
    probes.send("ns-fragmented", addr6("2001:db8::7b"),
                in_fragments(solicitation("2001:db8::7b", NETSTACK6, "02:00:00:00:77:7b"), 0x6981, cut=16), gap=0.2)
    # From off the link, an override of the kernel's entry towards another MAC: ignored (the test reads `neigh`).
    probes.send("na-hop254-override", b"\x02\x66\x66\x66\x66\x66",
                [advertisement(KERNEL6, KERNEL6, "02:66:66:66:66:66", flags=0x20, hop_limit=254)], gap=0.2)
    time.sleep(0.5)

    # The flood, one template per kind patched per frame: NS for NetStack from spoofed
    # 2001:db8::7:<n> (each would be a new neighbour), NS for targets 2001:db8::5:<n> that are not
    # NetStack's, unsolicited NAs for targets 2001:db8::6:<n>, and every tenth an NS with hop limit 254.
    templates = [
        (bytearray(solicitation("2001:db8::7:0:0", NETSTACK6, "02:07:00:00:00:00")), 0x7, False),
        (bytearray(solicitation("2001:db8::7:0:0", "2001:db8::5:0:0", "02:05:00:00:00:00")), 0x5, True),
        (bytearray(advertisement("2001:db8::6:0:0", "2001:db8::6:0:0", "02:06:00:00:00:00")), 0x6, True),
    ]
    off_link = bytearray(solicitation("2001:db8::8:0:0", NETSTACK6, "02:08:00:00:00:00", hop_limit=254))
    budget = Budget(args)
    src_at, dst_at, icmp_at, target_at, mac_at = 14 + 8, 14 + 24, 54, 62, 80
    while budget.more():
        n = budget.used
        frame, group_word, target_varies = (off_link, 0x8, False) if n % 10 == 9 else templates[n % 3]
        struct.pack_into("!HHH", frame, src_at + 10, group_word, (n >> 16) & 0xFFFF, n & 0xFFFF)
        if target_varies:
            struct.pack_into("!HHH", frame, target_at + 10, group_word, (n >> 16) & 0xFFFF, n & 0xFFFF)
        struct.pack_into("!BBBBBB", frame, mac_at, 2, group_word, 0, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)
        frame[6:12] = frame[mac_at:mac_at + 6]
        struct.pack_into("!H", frame, icmp_at + 2, 0)
        pseudo = bytes(frame[src_at:src_at + 32]) + struct.pack("!IxxxB", len(frame) - icmp_at, 58)
        struct.pack_into("!H", frame, icmp_at + 2, checksum(pseudo + bytes(frame[icmp_at:])))
        wire.send(bytes(frame))
    time.sleep(0.5)
    capture.stop()
    probes.report(capture)
    budget.report()


def router_advertisement(source, prefixes=(), lifetime=1800, hop_limit=255, mtu=None, mac="02:00:00:00:ba:d0",
                         valid=86_400, preferred=14_400):
    """An RA frame to all nodes with on-link, autonomous /64 prefixes, built by hand (RFC 4861 §4.2,
    §4.6): scapy takes seconds for ra6's flood."""
    body = struct.pack("!BBHII", 64, 0, lifetime, 0, 0) + b"\x01\x01" + mac_bytes(mac)
    if mtu is not None:
        body += struct.pack("!BBHI", 5, 1, 0, mtu)
    for prefix in prefixes:
        body += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, valid, preferred, 0) + addr6(prefix)  # L and A
    return ip6_frame(multicast_mac(ALL_NODES), mac, source, ALL_NODES, 58,
                     icmp6_message(source, ALL_NODES, 134, 0, body), hop_limit)


def router6(args):
    """The legitimate router of the ra6 test: --router (a link-local address of the kernel's) with the
    kernel's MAC advertises --prefix (on-link, autonomous) and a default route every 0.5 s, for --seconds."""
    wire = Wire(args.iface)
    frame = router_advertisement(args.router, [args.prefix], mac=args.kernel_mac)
    print("advertising", flush=True)
    budget = Budget(args, count=int(2 * min(args.seconds, MAX_SECONDS)) + 1)
    while budget.more():
        wire.send(frame)
        time.sleep(0.5)
    budget.report()


def ra6(args):
    """Spoofed router advertisements: with hop limit 254, from a global source (both ignored,
    RFC 4861 §6.1.2) and behind a fragment header (ignored, RFC 6980), one with an MTU of 100, the two-hour rule (RFC 4862 §5.5.3 e) against a
    short lifetime for NetStack's own SLAAC prefix, and a flood from many routers with many prefixes.

    A probe's marker is its prefix's first 8 bytes: NetStack's duplicate address detection for an
    address formed from it (an NS for that target) is a frame that holds them.
    """
    wire = Wire(args.iface)
    capture = Capture(args)
    probes = Probes(args, wire)
    for name, source, prefix, hop_limit, lifetime in (
            ("ra-hop254", "fe80::bad:1", "2001:db8:bad:1::", 254, 1800),
            ("ra-global-source", "2001:db8::bad", "2001:db8:bad:2::", 255, 1800),
            # The control: a valid advertisement (no default route) whose prefix NetStack does take.
            ("ra-control", "fe80::bad:3", "2001:db8:bad:3::", 255, 0)):
        probes.send(name, addr6(prefix)[:8], [router_advertisement(source, [prefix], lifetime, hop_limit)], gap=0.2)
    # RFC 6980 §5: an RA in a packet with a fragment header (atomic, or in two fragments: the way
    # round RA guards) is ignored.
    for name, prefix, cut in (("ra-atomic-fragment", "2001:db8:bad:6::", None), ("ra-fragmented", "2001:db8:bad:7::", 16)):
        probes.send(name, addr6(prefix)[:8], in_fragments(router_advertisement("fe80::bad:6", [prefix]), 0x6980, cut),
                    gap=0.2)
    m = probes.marker()
    probes.send("ra-mtu100", NO_ANSWER, [router_advertisement("fe80::bad:4", lifetime=0, mtu=100)], gap=0.2)
    # 1,448 bytes of echo request: under an MTU of 1,500 the reply leaves whole; under 100 or 1,280 in fragments.
    probes.send("echo-after-mtu100", m, [Ether(dst=args.mac, src=args.kernel_mac)
                                         / IPv6(src=KERNEL6, dst=NETSTACK6) / echo6(m, size=1400)], gap=0.3)
    # The real router's own address and prefix, with a valid lifetime of 4 s: the two-hour rule
    # keeps NetStack's SLAAC address two hours at least. Its echo reply 5 s later shows it is still there.
    probes.send("lifetime-trick", NO_ANSWER,
                [router_advertisement(args.router, [args.prefix], valid=4, preferred=2, mac=args.kernel_mac)], gap=5.0)
    m = probes.marker()
    probes.send("echo-slaac-after-trick", m, [Ether(dst=args.mac, src=args.kernel_mac)
                                              / IPv6(src=KERNEL6, dst=args.slaac) / echo6(m)], gap=0.3)
    time.sleep(0.5)

    # The flood: 200 routers fe80::1:<n>, each advertising 20 prefixes 2001:db8:f<n>:<i>::/64 (4,000 in all).
    frames = []
    for n in range(200):
        prefixes = ["2001:db8:%x:%x::" % (0xF000 + n, i) for i in range(20)]
        frames.append(router_advertisement("fe80::1:%x" % n, prefixes, mac="02:01:00:00:%02x:%02x" % (n >> 8, n & 0xFF)))
    budget = Budget(args)
    while budget.more():
        wire.send(frames[budget.used % len(frames)])
    time.sleep(1.5)   # the SLAAC addresses the flood made are being checked (DAD)
    capture.stop()
    probes.report(capture)
    budget.report()


def ptb6(args):
    """Packet too big during a transfer from NetStack to the kernel: a few quoting a real segment
    with MTUs below 1,280 (RFC 8201 §4: never below the minimum), then a flood for many quoted
    destinations (NetStack's path MTU table must stay bounded), one in eight quoting a packet not
    NetStack's (RFC 4443 §3.2, counted as an input error)."""
    wire = Wire(args.iface)
    capture = Capture(args)
    router = "2001:db8::fe"

    def too_big(mtu, quote):
        body = struct.pack("!I", mtu) + quote[:1232]
        return ip6_frame(args.mac, args.kernel_mac, router, NETSTACK6, 58, icmp6_message(router, NETSTACK6, 2, 0, body))

    def tcp_to_kernel(frame):
        return frame[20] == 6 and frame[38:54] == addr6(KERNEL6)

    # Wait (up to 15 s) for the transfer: NetStack's full-sized TCP segments to the kernel.
    deadline = time.monotonic() + 15
    segment = None
    while segment is None and time.monotonic() < deadline:
        time.sleep(0.05)
        segment = next((f for _, f in reversed(capture.frames[-50:]) if tcp_to_kernel(f) and len(f) > 1400), None)
    if segment is None:
        print("error no transfer seen")
        capture.stop()
        sys.exit(2)
    print("transfer seen", flush=True)
    lowered_at = time.monotonic()
    for mtu in (600, 100, 0, 1279):
        wire.send(too_big(mtu, segment[14:]))
        time.sleep(0.02)

    # The flood, one template patched per frame: a quoted echo request of 1,400 bytes from NetStack
    # to 2001:db8:9:<n>::<n>, or (one in eight) from 2001:db8::1234, which is not NetStack.
    quote = bytearray(struct.pack("!IHBB", 0x60000000, 1400, 58, 64) + addr6(NETSTACK6) + addr6("2001:db8:9::")
                      + b"\x80\x00\x00\x00\xde\xad\x00\x01")
    foreign = addr6("2001:db8::1234")
    budget = Budget(args)
    while budget.more():
        n = budget.used
        quote[8:24] = foreign if n % 8 == 7 else addr6(NETSTACK6)
        struct.pack_into("!HH", quote, 24 + 6, (n >> 16) & 0xFFFF, n & 0xFFFF)
        struct.pack_into("!H", quote, 24 + 14, n & 0xFFFF)
        wire.send(too_big(1280, bytes(quote)))
    time.sleep(1.0)
    capture.stop()
    after = [len(f) - 14 for t, f in capture.frames if t > lowered_at + 0.2 and tcp_to_kernel(f)]
    print(f"segments-after {len(after)}")
    print(f"largest-after {max(after, default=0)}")
    print(f"fragments {sum(1 for _, f in capture.frames if f[20] == 44)}")
    budget.report()


CLASSES = {f.__name__: f for f in (malformed, garbage, tcpopts, synflood, inject, fragments, martian, arpflood,
                                     handshakes, timewait, slowread, ooo, icmpspray, slowdns,
                                     ext6, frag6, ndp6, router6, ra6, ptb6)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("attack", choices=sorted(CLASSES))
    parser.add_argument("--iface", default="tap0")
    parser.add_argument("--mac", default="02:00:00:00:00:02", help="NetStack's MAC")
    parser.add_argument("--kernel-mac", default=None)
    parser.add_argument("--pid", type=int, default=0, help="NetStack's pid (for the RSS safety valve)")
    parser.add_argument("--rss-cap", type=int, default=1024, help="stop when NetStack's RSS passes this (MiB)")
    parser.add_argument("--count", type=int, default=MAX_PACKETS)
    parser.add_argument("--count-cap", type=int, default=MAX_PACKETS)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0, help="packets a second at most (0: as fast as possible)")
    parser.add_argument("--sport", type=int, default=40000)
    parser.add_argument("--dport", type=int, default=8080)
    parser.add_argument("--sources", default=KERNEL)
    parser.add_argument("--http", type=int, default=0)
    parser.add_argument("--others", type=int, default=0)
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=65536)
    parser.add_argument("--ports", default="32768-60999")
    parser.add_argument("--client", default=NETSTACK)
    parser.add_argument("--server", default=KERNEL)
    parser.add_argument("--answer", default=KERNEL)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--prefix", default="2001:db8:1::", help="NetStack's SLAAC prefix (a /64), for ra6")
    parser.add_argument("--router", default="fe80::1", help="the legitimate router's link-local address, for router6 and ra6")
    parser.add_argument("--slaac", default="2001:db8:1::1", help="NetStack's SLAAC address, for ra6")
    args = parser.parse_args()
    if args.kernel_mac is None:
        with open(f"/sys/class/net/{args.iface}/address") as f:
            args.kernel_mac = f.read().strip()
    CLASSES[args.attack](args)


if __name__ == "__main__":
    main()
