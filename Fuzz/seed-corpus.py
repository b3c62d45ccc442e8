#!/usr/bin/env python3
"""Seeds one corpus directory per fuzzer from the golden Linux captures.

Usage: seed-corpus.py CAPTURES_DIR CORPUS_DIR

Each fuzzer gets the bytes of the layer it parses: whole frames (and the same
frames with an FCS appended) for FuzzEthernet, the ARP packet, the IPv4
datagram, the ICMP message, UDP and TCP with their 8 bytes of pseudo-header
addresses in front (the fuzzers read them from there), the DNS message, and
whole capture files for FuzzPcap. IPv6 packets seed FuzzIPv6, and their ICMPv6,
NDP and MLD messages (behind a flag byte and the two addresses) FuzzICMPv6,
FuzzNDP and FuzzMLD; FuzzIPv6Address gets address texts. Files are named by content hash, so seeding
twice adds nothing.

The fuzzers that drive a Host read their input as a program of operations
(see their main.swift): FuzzStack gets every captured frame as a "feed this
frame" operation followed by "poll until quiet", plus hand-made hostile frames
(a land SYN, a UDP datagram from our port 7 to our port 7, a fragment at
offset 65,528); FuzzHTTPRequest and FuzzHTTPResponse get the HTTP bytes of
the captured session (and a few hand-written messages: pipelined, chunked,
bodies) behind their parameter bytes; FuzzResolver gets short programs that
start lookups and answer them.
"""
import hashlib
import os
import struct
import sys
import zlib


def records(data):
    """The captured bytes of each record of a classic pcap file."""
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
             b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}[magic]
    offset = 24
    while offset + 16 <= len(data):
        caplen = struct.unpack(order + "I", data[offset + 8:offset + 12])[0]
        yield data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen


def layers(frame):
    """(fuzzer, seed) pairs for one Ethernet frame."""
    yield "FuzzEthernet", frame
    yield "FuzzEthernet", frame + struct.pack("<I", zlib.crc32(frame))
    if len(frame) < 14:
        return
    ethertype = struct.unpack(">H", frame[12:14])[0]
    payload = frame[14:]
    if ethertype == 0x0806:
        yield "FuzzARP", payload
    if ethertype == 0x86DD:
        yield from ipv6_layers(payload)
    if ethertype != 0x0800 or len(payload) < 20:
        return
    yield "FuzzIPv4", payload
    ihl = (payload[0] & 0x0F) * 4
    total = struct.unpack(">H", payload[2:4])[0]
    flags = struct.unpack(">H", payload[6:8])[0]
    if flags & 0x3FFF:  # a fragment: the transport header is not whole
        return
    proto, addresses, body = payload[9], payload[12:20], payload[ihl:total]
    if proto == 1:
        yield "FuzzICMPv4", body
    elif proto == 17:
        yield "FuzzUDP", addresses + body
        ports = struct.unpack(">HH", body[0:4])
        if 53 in ports:
            yield "FuzzDNS", body[8:]
        if 67 in ports or 68 in ports:
            yield "FuzzDHCP", body[8:]
    elif proto == 6:
        yield "FuzzTCP", addresses + body


def ipv6_upper_layer(packet):
    """(next header, offset) of the upper layer behind the extension headers, or None
    for a fragment after the first (RFC 8200 §4; the same headers IPv6ExtensionHeaders walks)."""
    next_header, offset = packet[6], 40
    while next_header in (0, 43, 44, 51, 60) and offset + 8 <= len(packet):
        if next_header == 44:
            if struct.unpack(">H", packet[offset + 2:offset + 4])[0] & 0xFFF8:
                return None
            length = 8
        elif next_header == 51:
            length = (packet[offset + 1] + 2) * 4
        else:
            length = (packet[offset + 1] + 1) * 8
        next_header, offset = packet[offset], offset + length
    return next_header, offset


def ipv6_layers(payload):
    """Seeds for the IPv6 fuzzers from one IPv6 packet. ICMPv6, NDP and MLD inputs start
    with a flag byte (3: fix the checksum, the hop limit NDP or MLD wants), then source
    and destination, as their main.swift read them."""
    if len(payload) < 40:
        return
    packet = payload[:40 + struct.unpack(">H", payload[4:6])[0]]
    yield "FuzzIPv6", packet
    upper = ipv6_upper_layer(packet)
    if upper is None or upper[0] != 58 or upper[1] + 8 > len(packet):
        return
    addresses, message = packet[8:40], packet[upper[1]:]
    yield "FuzzICMPv6", bytes([3]) + addresses + message
    if 133 <= message[0] <= 137:
        yield "FuzzNDP", bytes([3]) + addresses + message
    if message[0] == 143:
        yield "FuzzMLD", bytes([3]) + addresses + message


IPV6_TEXTS = [b"2001:db8::1", b"::", b"::1", b"fe80::ff:fe00:6a01%eth0", b"::ffff:192.0.2.1", b"64:ff9b::198.51.100.7",
              b"2001:0db8:0000:0000:0000:0000:0000:0001", b"1:2:3:4:5:6:7::", b"2001:db8:1::/64", b"::/0",
              b"192.0.2.1", b"1::2::3", b"2001:db8::1.2.3.4"]


# Host A of the captures, which FuzzStack's host under test also is.
MAC_A = bytes.fromhex("02000000" "0a01")
MAC_B = bytes.fromhex("02000000" "0a02")
IP_A = bytes([192, 0, 2, 1])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, frag=0):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def transport(src, dst, proto, segment, checksum_offset):
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(segment))
    value = checksum(pseudo + segment)
    if proto == 17 and value == 0:
        value = 0xFFFF
    return segment[:checksum_offset] + struct.pack("!H", value) + segment[checksum_offset + 2:]


def stack_feed(frame):
    """FuzzStack: op 0 (feed), kind 7 (raw bytes), MAC pick, source MAC of B, long, length, bytes, no header."""
    return bytes([0, 7, 0, 1, 1]) + struct.pack("!H", len(frame)) + frame + bytes([0])


STACK_SETTLE = bytes([10])


def stack_seeds():
    eth = MAC_A + MAC_B + b"\x08\x00"
    # Land: a SYN from our own address and port 80 to our port 80 (a listener).
    syn = struct.pack("!HHIIBBHHH", 80, 80, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    land_syn = eth + ipv4(IP_A, IP_A, 6, transport(IP_A, IP_A, 6, syn, 16))
    # A UDP datagram from our port 7 to our port 7 (the UDP echo service).
    udp = struct.pack("!HHHH", 7, 7, 12, 0) + b"land"
    land_udp = eth + ipv4(IP_A, IP_A, 17, transport(IP_A, IP_A, 17, udp, 6))
    # A 21-byte fragment at offset 65,528 (what reassembly once held 64 KiB for).
    far = eth + ipv4(bytes([192, 0, 2, 2]), IP_A, 1, b"x", ident=7, frag=65528 // 8)
    for frame in (land_syn, land_udp, far):
        yield "FuzzStack", stack_feed(frame) + STACK_SETTLE


HTTP_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n",
    b"\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
]
HTTP_RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
]


def http_seeds(frames):
    """The client's and the server's TCP payloads of the captured HTTP session, plus hand-written ones."""
    client, server = b"", b""
    for frame in frames:
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        if len(tcp) < 20:
            continue
        payload = tcp[(tcp[12] >> 4) * 4:]
        if struct.unpack(">H", tcp[2:4])[0] == 80:
            client += payload
        elif struct.unpack(">H", tcp[0:2])[0] == 80:
            server += payload
    for request in ([client] if client else []) + HTTP_REQUESTS:
        yield "FuzzHTTPRequest", bytes([0, 0, 0]) + request
        yield "FuzzHTTPRequest", bytes([0x90, 3, 7]) + request
    for response in ([server] if server else []) + HTTP_RESPONSES:
        yield "FuzzHTTPResponse", bytes([0, 0]) + response
        yield "FuzzHTTPResponse", bytes([0x80, 9]) + response


def resolver_seeds():
    """Programs for FuzzResolver: settings, then operations (see its main.swift)."""
    settings = bytes([1, 2, 3, 4, 3])  # one server, 3 attempts, 1 s timeout, cache 5, CNAME chain 4
    resolve = bytes([0, 1, 0])  # resolve "example.com"
    # answer the latest query, genuinely: response, rcode 0, one question, one A record
    genuine = bytes([2, 1, 0x40, 1, 0x24, 1, 1, 1, 60, 0, 5, 0, 1, 0, 3])
    cname = bytes([2, 1, 0x40, 1, 0x24, 1, 2, 1, 1, 60, 2, 4, 0, 1, 0, 3])
    truncated = bytes([2, 1, 0x40, 1, 0x20, 0, 1, 0, 3])
    icmp = bytes([5, 0, 0, 1, 0, 0])
    wait = bytes([7, 7, 7, 7])
    yield "FuzzResolver", settings + resolve + genuine
    yield "FuzzResolver", settings + resolve + cname + genuine
    yield "FuzzResolver", settings + resolve + truncated + wait
    yield "FuzzResolver", settings + resolve + icmp + icmp + icmp + wait
    yield "FuzzResolver", settings + resolve + resolve + wait + wait


def main():
    captures, corpus = sys.argv[1], sys.argv[2]
    seeds = []
    # The DHCP exchange lives beside the captures (Tests/Fixtures/dhcp), out of their frame-count test.
    dhcp = os.path.join(os.path.dirname(os.path.abspath(captures)), "dhcp")
    paths = [os.path.join(captures, name) for name in sorted(os.listdir(captures))]
    paths += [os.path.join(dhcp, name) for name in sorted(os.listdir(dhcp))] if os.path.isdir(dhcp) else []
    for path in paths:
        if not path.endswith(".pcap"):
            continue
        with open(path, "rb") as f:
            data = f.read()
        seeds.append(("FuzzPcap", data))
        frames = list(records(data))
        for frame in frames:
            seeds.extend(layers(frame))
            seeds.append(("FuzzStack", stack_feed(frame) + STACK_SETTLE))
        seeds.extend(http_seeds(frames))
    seeds.extend(("FuzzIPv6Address", text) for text in IPV6_TEXTS)
    seeds.extend(stack_seeds())
    seeds.extend(resolver_seeds())
    # The control socket's requests, each behind the piece-size byte FuzzControl reads first.
    for request in [b"netstat", b"netstat -v", b"netstat --verbose", b"netstat -s", b"netstat --statistics",
                    b"route", b"arp", b"link", b"  route\r", b"bogus"]:
        for piece in [0, 3, 255]:
            seeds.append(("FuzzControl", bytes([piece]) + request + b"\n"))
    counts = {}
    for fuzzer, seed in seeds:
        directory = os.path.join(corpus, fuzzer)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "seed-" + hashlib.sha1(seed).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(seed)
        counts[fuzzer] = counts.get(fuzzer, 0) + 1
    print("seeds: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
