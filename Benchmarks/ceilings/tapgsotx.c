/* tapgsotx.c - the ceiling for sending TCP with segmentation offload through a TAP: a do-nothing
 * sender of 64 KiB TSO super-segments, as ../shared/anchors/src/tapsink.c is the ceiling for
 * receiving.
 *
 *   tapgsotx DEV BYTES MAXSEC KMAC
 *       Opens DEV with IFF_VNET_HDR, connects from 192.0.2.2:9001 (MAC 02:00:00:00:00:02) to a
 *       kernel TCP listener at 192.0.2.1:9000 (MAC KMAC; the kernel needs a permanent neighbour
 *       entry for 192.0.2.2), then write()s BYTES of data as prebuilt super-segments of up to
 *       64 KiB marked gso_type TCPV4, gso_size = the kernel's MSS, partial checksum: exactly what
 *       NetStack hands the TAP with --offload on, with no stack work at all. It reads the kernel's
 *       ACKs only to stay within its window (no retransmission: a loss ends the run as failed).
 *       Prints the rate of data the kernel acknowledged.
 *
 * Bounded by BYTES and MAXSEC.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* virtio-net header (10 bytes) */
struct vnet_hdr { uint8_t flags, gso_type; uint16_t hdr_len, gso_size, csum_start, csum_offset; };
enum { VNET_NEEDS_CSUM = 1, VNET_GSO_NONE = 0, VNET_GSO_TCPV4 = 1, VHL = 10 };
enum { SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01, RST = 0x04 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static uint16_t fold(uint64_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}
static uint64_t sum16(const uint8_t *p, size_t n) {
    uint64_t s = 0;
    for (; n >= 2; p += 2, n -= 2) s += (uint16_t)(p[0] << 8 | p[1]);
    if (n) s += (uint16_t)(p[0] << 8);
    return s;
}
static void put16(uint8_t *p, uint32_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v & 0xff; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static const uint8_t MYMAC[6] = {2, 0, 0, 0, 0, 2}, SRC[4] = {192, 0, 2, 2}, DST[4] = {192, 0, 2, 1};
static uint8_t kmac[6];
static int fd;
static uint32_t snd_una, snd_nxt, rcv_nxt, peer_wnd;
static int wscale, mss = 1460, peer_fin;

/* Builds a segment in frame (vnet header first): flags, payload length len from the pattern;
   a super-segment when len > mss. Returns the frame's length. */
static size_t build(uint8_t *frame, uint8_t flags, uint32_t seq, int len, int syn_options) {
    uint8_t *eth = frame + VHL, *ip = eth + 14, *tcp = ip + 20;
    int thl = syn_options ? 24 : 20, iplen = 20 + thl + len;
    struct vnet_hdr vh = {VNET_NEEDS_CSUM, len > mss ? VNET_GSO_TCPV4 : VNET_GSO_NONE,
                          (uint16_t)(14 + 20 + thl), (uint16_t)(len > mss ? mss : 0), 14 + 20, 16};
    memcpy(frame, &vh, sizeof vh);
    memcpy(eth, kmac, 6); memcpy(eth + 6, MYMAC, 6); eth[12] = 0x08; eth[13] = 0x00;
    memset(ip, 0, 20);
    ip[0] = 0x45; put16(ip + 2, iplen); ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
    memcpy(ip + 12, SRC, 4); memcpy(ip + 16, DST, 4);
    put16(ip + 10, (uint16_t)~fold(sum16(ip, 20)));
    memset(tcp, 0, thl);
    put16(tcp, 9001); put16(tcp + 2, 9000); put32(tcp + 4, seq); put32(tcp + 8, rcv_nxt);
    tcp[12] = (uint8_t)(thl / 4) << 4; tcp[13] = flags; put16(tcp + 14, 65535);
    if (syn_options) { tcp[20] = 2; tcp[21] = 4; put16(tcp + 22, 1460); }
    /* NEEDS_CSUM: the pseudo-header sum, not inverted; the kernel adds header and payload. */
    put16(tcp + 16, fold(sum16(SRC, 4) + sum16(DST, 4) + 6 + (uint64_t)(thl + len)));
    return VHL + 14 + iplen;
}

/* Reads every frame the kernel has queued; tracks its ACKs. Returns -1 on RST. */
static int drain(int wait_ms) {
    static uint8_t buf[VHL + 65536];
    struct pollfd p = {fd, POLLIN, 0};
    if (wait_ms >= 0 && poll(&p, 1, wait_ms) <= 0) return 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) return 0;
        uint8_t *eth = buf + VHL, *ip = eth + 14;
        if (n < VHL + 14 + 40 || eth[12] != 0x08 || eth[13] != 0x00 || ip[9] != 6) continue;
        uint8_t *tcp = ip + (ip[0] & 15) * 4;
        uint8_t flags = tcp[13];
        if (flags & RST) return -1;
        if ((flags & (SYN | ACK)) == (SYN | ACK)) {
            rcv_nxt = get32(tcp + 4) + 1;
            snd_una = get32(tcp + 8);
            for (uint8_t *o = tcp + 20; o < tcp + (tcp[12] >> 4) * 4 && *o;) {
                if (*o == 1) { o++; continue; }
                if (o[0] == 2) mss = o[2] << 8 | o[3];
                if (o[0] == 3) wscale = o[2];
                if (o[1] < 2) break;
                o += o[1];
            }
            peer_wnd = (uint32_t)(tcp[14] << 8 | tcp[15]);
            continue;
        }
        if (flags & ACK) {
            uint32_t ack = get32(tcp + 8);
            if ((int32_t)(ack - snd_una) > 0) snd_una = ack;
            peer_wnd = (uint32_t)(tcp[14] << 8 | tcp[15]) << wscale;
        }
        if (flags & FIN) { peer_fin = 1; rcv_nxt = get32(tcp + 4) + 1; }
    }
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: tapgsotx DEV BYTES MAXSEC KMAC\n"); return 2; }
    long long bytes = atoll(argv[2]);
    int maxsec = atoi(argv[3]);
    if (sscanf(argv[4], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &kmac[0], &kmac[1], &kmac[2], &kmac[3], &kmac[4], &kmac[5]) != 6
        || bytes <= 0 || maxsec <= 0) {
        fprintf(stderr, "tapgsotx: bad arguments\n");
        return 2;
    }
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (fd < 0) { perror("open /dev/net/tun"); return 1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
    int hdrsz = VHL;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0) { perror("TUNSETVNETHDRSZ"); return 1; }
    if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) < 0) { perror("TUNSETOFFLOAD"); return 1; }

    static uint8_t frame[VHL + 14 + 65535];
    double deadline = now() + maxsec;
    uint32_t iss = 0x1000;
    /* Handshake: SYN until the SYN-ACK (the listener may need a moment). */
    while (!rcv_nxt && now() < deadline) {
        size_t n = build(frame, SYN, iss, 0, 1);
        if (write(fd, frame, n) < 0) { perror("write"); return 1; }
        if (drain(200) < 0) { fprintf(stderr, "tapgsotx: connection refused\n"); return 1; }
    }
    if (!rcv_nxt) { fprintf(stderr, "tapgsotx: no SYN-ACK\n"); return 1; }
    snd_nxt = iss + 1;
    size_t n = build(frame, ACK, snd_nxt, 0, 0);
    if (write(fd, frame, n) < 0) { perror("write"); return 1; }
    /* The payload pattern, written once: every super-segment carries the same bytes. */
    int per = 65535 - 40;
    per -= per % mss;
    uint8_t *payload = frame + VHL + 14 + 40;
    for (int i = 0; i < per; i++) payload[i] = (uint8_t)(i * 31 + 7);

    double start = now();
    long long sent = 0;
    long frames = 0;
    while (snd_una - (iss + 1) < (uint64_t)bytes && now() < deadline) {
        uint32_t in_flight = snd_nxt - snd_una;
        long long left = bytes - sent;
        int len = left < per ? (int)left : per;
        if (len > 0 && in_flight + (uint32_t)len <= peer_wnd) {
            /* Rebuild only the headers: the payload stays in place. */
            n = build(frame, ACK | PSH, snd_nxt, len, 0);
            if (write(fd, frame, n) < 0) {
                if (errno != EAGAIN) { perror("write"); return 1; }
                drain(1);
                continue;
            }
            snd_nxt += len; sent += len; frames++;
            if (drain(-1) < 0) { fprintf(stderr, "tapgsotx: reset\n"); return 1; }
        } else if (drain(100) < 0) {
            fprintf(stderr, "tapgsotx: reset\n");
            return 1;
        }
    }
    double secs = now() - start;
    long long acked = (long long)(uint32_t)(snd_una - (iss + 1));
    n = build(frame, FIN | ACK, snd_nxt, 0, 0);
    if (write(fd, frame, n) < 0) perror("write");
    printf("tap_gso_tx bytes_acked=%lld frames=%ld mss=%d secs=%.3f MBps=%.1f\n", acked, frames, mss, secs,
           acked / secs / 1e6);
    return acked >= bytes ? 0 : 1;
}
