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
192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24, plus the martian literals of
the land/martian class, which never leave the namespace.

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

from scapy.all import (ARP, ICMP, IP, TCP, UDP, AsyncSniffer, Ether, Raw,  # noqa: F401
                       conf, fragment)

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


CLASSES = {f.__name__: f for f in (malformed, garbage, tcpopts, synflood, inject, fragments, martian, arpflood,
                                     handshakes, timewait, slowread, ooo, icmpspray, slowdns)}


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
    args = parser.parse_args()
    if args.kernel_mac is None:
        with open(f"/sys/class/net/{args.iface}/address") as f:
            args.kernel_mac = f.read().strip()
    CLASSES[args.attack](args)


if __name__ == "__main__":
    main()
