#!/usr/bin/env python3
"""Seeds one corpus directory per fuzzer from the golden Linux captures.

Usage: seed-corpus.py CAPTURES_DIR CORPUS_DIR

Each fuzzer gets the bytes of the layer it parses: whole frames (and the same
frames with an FCS appended) for FuzzEthernet, the ARP packet, the IPv4
datagram, the ICMP message, UDP and TCP with their 8 bytes of pseudo-header
addresses in front (the fuzzers read them from there), the DNS message, and
whole capture files for FuzzPcap. Files are named by content hash, so seeding
twice adds nothing.
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
    elif proto == 6:
        yield "FuzzTCP", addresses + body


def main():
    captures, corpus = sys.argv[1], sys.argv[2]
    seeds = []
    for name in sorted(os.listdir(captures)):
        if not name.endswith(".pcap"):
            continue
        with open(os.path.join(captures, name), "rb") as f:
            data = f.read()
        seeds.append(("FuzzPcap", data))
        for frame in records(data):
            seeds.extend(layers(frame))
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
