/* tapack.c - the do-nothing TCP receiver on a TAP device, for IPv4 and IPv6 alike: the ceiling a
 * user-space stack on a TAP faces, per family, so that a stack's IPv6/IPv4 ratio can be read
 * against the device's own. bench-tap.sh's "do-nothing receiver (tapack)" row.
 *
 *   tapack DEV MAXSEC IDLE_MS [--ackevery K]
 *
 * Attaches to TAP DEV (IFF_TAP | IFF_NO_PI, no IFF_VNET_HDR, TUNSETOFFLOAD 0: one frame of at
 * most 1514 bytes per read(), nonblocking, poll() when the queue is empty) and is 192.0.2.2 and
 * 2001:db8::2 at MAC 02:00:00:00:00:02:
 *   - ARP requests for 192.0.2.2 -> ARP reply;
 *   - neighbour solicitations for 2001:db8::2 (to it or to its solicited-node group
 *     ff02::1:ff00:2) -> solicited neighbour advertisement with the target link-layer option;
 *   - SYN -> SYN-ACK with the same options for both families: MSS (1460 over IPv4, 1440 over
 *     IPv6: the same 1500-byte frames), window scale 7, window 65535 << 7 = 8 MiB; no timestamps,
 *     no SACK;
 *   - in-order data -> cumulative ACK every K segments (default 2) and whenever the TAP queue is
 *     drained (read() says EAGAIN); out-of-order -> an immediate duplicate ACK;
 *   - FIN (in order) -> FIN-ACK, and the run ends.
 * Checksums of what arrives are not verified (like the anchors' tapsink tcp without --csum); what
 * it sends carries correct ones. One connection at a time (a new SYN starts over).
 *
 * Prints "ready", then at the end one line:
 *   tapack family=IPv4|IPv6 bytes=N secs=S MBps=M Gbps=G frames=F data_frames=D avg_payload=P
 *          acks=A ooo=O ackevery=K receiver_cpu_s=C fin=yes|no
 * secs and receiver_cpu_s run from the first in-order data segment to the FIN (without a FIN:
 * to the end of the last batch of frames).
 * Bounded by MAXSEC (and an alarm shortly after); stops IDLE_MS after the last frame once data
 * has flowed, or at the FIN.
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

static const uint8_t MAC[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t IP4[4] = {192, 0, 2, 2};
static const uint8_t IP6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
/* solicited-node multicast group of 2001:db8::2: ff02::1:ff00:2 */
static const uint8_t SNM6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x02};

enum { WSCALE = 7, WINDOW = 65535 };

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* Internet checksum (RFC 1071), big-endian words, over a partial sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
    for (; n >= 2; p += 2, n -= 2) sum += get16(p);
    if (n) sum += (uint32_t)p[0] << 8;
    return sum;
}
static uint16_t csum_done(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
/* pseudo-header sum for either family: addresses, upper-layer length, protocol */
static uint32_t csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto, uint32_t len) {
    uint32_t s = csum_add(0, src, alen);
    s = csum_add(s, dst, alen);
    return s + (len >> 16) + (len & 0xffff) + proto;
}

static int tap_fd = -1;

static void emit(const uint8_t *frame, size_t len) {
    if (write(tap_fd, frame, len) < 0 && errno != EAGAIN) perror("tapack: write");
}

/* ------------------------------------------------------------------ neighbours */
static void on_arp(const uint8_t *f, size_t n) {
    if (n < 14 + 28) return;
    const uint8_t *a = f + 14;
    if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 || get16(a + 6) != 1) return;
    if (memcmp(a + 24, IP4, 4)) return;
    uint8_t r[60] = {0};
    memcpy(r, a + 8, 6);
    memcpy(r + 6, MAC, 6);
    put16(r + 12, 0x0806);
    uint8_t *ra = r + 14;
    put16(ra, 1); put16(ra + 2, 0x0800); ra[4] = 6; ra[5] = 4; put16(ra + 6, 2);
    memcpy(ra + 8, MAC, 6); memcpy(ra + 14, IP4, 4); /* sender: us */
    memcpy(ra + 18, a + 8, 6); memcpy(ra + 24, a + 14, 4); /* target: the asker */
    emit(r, sizeof r);
}

static void on_icmp6(const uint8_t *f, const uint8_t *ip6, size_t plen) {
    const uint8_t *m = ip6 + 40;
    if (plen < 24 || m[0] != 135 || m[1] != 0 || ip6[7] != 255) return; /* NS, hop limit 255 */
    if (memcmp(m + 8, IP6, 16)) return;                                /* target: us */
    if (memcmp(ip6 + 24, IP6, 16) && memcmp(ip6 + 24, SNM6, 16)) return;
    static const uint8_t unspec[16];
    if (!memcmp(ip6 + 8, unspec, 16)) return; /* someone's DAD probe for our address: not answered */
    uint8_t r[14 + 40 + 32] = {0};
    memcpy(r, f + 6, 6);
    memcpy(r + 6, MAC, 6);
    put16(r + 12, 0x86dd);
    uint8_t *ip = r + 14, *na = ip + 40;
    ip[0] = 0x60; put16(ip + 4, 32); ip[6] = 58; ip[7] = 255;
    memcpy(ip + 8, IP6, 16); memcpy(ip + 24, ip6 + 8, 16);
    na[0] = 136;                    /* neighbour advertisement */
    na[4] = 0x40 | 0x20;            /* solicited, override */
    memcpy(na + 8, IP6, 16);        /* target */
    na[24] = 2; na[25] = 1;         /* target link-layer address option, 8 bytes */
    memcpy(na + 26, MAC, 6);
    put16(na + 2, csum_done(csum_add(csum_pseudo(ip + 8, ip + 24, 16, 58, 32), na, 32)));
    emit(r, sizeof r);
}

/* ------------------------------------------------------------------ TCP */
static struct {
    int open, v6;
    uint8_t peer_mac[6], peer_ip[16];
    uint16_t peer_port, my_port;
    uint32_t rcv_nxt, snd_nxt, acked; /* acked: the rcv_nxt our last segment carried */
    int pending;                      /* in-order segments since that segment */
} c;
static long acks;

static void send_tcp(uint8_t flags, int syn) {
    uint8_t f[14 + 40 + 28] = {0};
    int v6 = c.v6, iplen = v6 ? 40 : 20, tlen = syn ? 28 : 20;
    memcpy(f, c.peer_mac, 6);
    memcpy(f + 6, MAC, 6);
    put16(f + 12, v6 ? 0x86dd : 0x0800);
    uint8_t *ip = f + 14, *t = ip + iplen;
    const uint8_t *src, *dst;
    if (v6) {
        ip[0] = 0x60; put16(ip + 4, (uint16_t)tlen); ip[6] = 6; ip[7] = 64;
        memcpy(ip + 8, IP6, 16); memcpy(ip + 24, c.peer_ip, 16);
        src = ip + 8; dst = ip + 24;
    } else {
        ip[0] = 0x45; put16(ip + 2, (uint16_t)(20 + tlen)); ip[6] = 0x40; /* DF */ ip[8] = 64; ip[9] = 6;
        memcpy(ip + 12, IP4, 4); memcpy(ip + 16, c.peer_ip, 4);
        put16(ip + 10, csum_done(csum_add(0, ip, 20)));
        src = ip + 12; dst = ip + 16;
    }
    put16(t, c.my_port); put16(t + 2, c.peer_port);
    put32(t + 4, c.snd_nxt); put32(t + 8, c.rcv_nxt);
    t[12] = (uint8_t)(tlen / 4 << 4); t[13] = flags;
    put16(t + 14, WINDOW);
    if (syn) {
        t[20] = 2; t[21] = 4; put16(t + 22, v6 ? 1440 : 1460); /* MSS */
        t[24] = 1; t[25] = 3; t[26] = 3; t[27] = WSCALE;        /* NOP, window scale */
    }
    put16(t + 16, csum_done(csum_add(csum_pseudo(src, dst, v6 ? 16 : 4, 6, (uint32_t)tlen), t, (size_t)tlen)));
    emit(f, (size_t)(14 + iplen + tlen));
    c.acked = c.rcv_nxt;
    c.pending = 0;
    acks++;
}

int main(int argc, char **argv) {
    int ackevery = 2, nargs = 0;
    const char *args[3];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ackevery") && i + 1 < argc) ackevery = atoi(argv[++i]);
        else if (nargs < 3) args[nargs++] = argv[i];
        else nargs = 4;
    }
    if (nargs != 3 || ackevery < 1) {
        fprintf(stderr, "usage: tapack DEV MAXSEC IDLE_MS [--ackevery K]\n");
        return 2;
    }
    int maxsec = atoi(args[1]), idle_ms = atoi(args[2]);
    if (maxsec <= 0 || idle_ms <= 0) { fprintf(stderr, "tapack: MAXSEC and IDLE_MS must be positive\n"); return 2; }
    alarm((unsigned)maxsec + 10);

    tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (tap_fd < 0) { perror("tapack: /dev/net/tun"); return 1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", args[0]);
    if (ioctl(tap_fd, TUNSETIFF, &ifr) < 0) { perror("tapack: TUNSETIFF"); return 1; }
    /* A persistent device keeps the offloads an earlier opener set (NetStack's --offload on,
     * tapgsotx): without a virtio-net header they would bring partial checksums and 64 KiB
     * frames. Off, as `netstack serve --offload off` leaves them. */
    if (ioctl(tap_fd, TUNSETOFFLOAD, 0UL) < 0) { perror("tapack: TUNSETOFFLOAD"); return 1; }

    static uint8_t buf[65536];
    long frames = 0, data_frames = 0, ooo = 0;
    long long bytes = 0;
    double t0 = clock_s(CLOCK_MONOTONIC), deadline = t0 + maxsec;
    double t_first = 0, cpu_first = 0, t_end = 0, cpu_end = 0;
    int fin = 0;
    printf("ready\n");
    fflush(stdout);

    while (!fin && clock_s(CLOCK_MONOTONIC) < deadline) {
        struct pollfd p = {tap_fd, POLLIN, 0};
        int pr = poll(&p, 1, data_frames ? idle_ms : 200);
        if (pr < 0 && errno != EINTR) { perror("tapack: poll"); break; }
        if (pr == 0) { if (data_frames) break; continue; }
        for (;;) { /* drain the queue */
            ssize_t n = read(tap_fd, buf, sizeof buf);
            if (n < 0) {
                if (errno != EAGAIN && errno != EINTR) perror("tapack: read");
                break;
            }
            frames++;
            if (n < 14) continue;
            const uint8_t *f = buf, *ip, *t, *src;
            uint16_t type = get16(f + 12);
            size_t seglen;
            int v6;
            if (type == 0x0806) { on_arp(f, (size_t)n); continue; }
            if (type == 0x0800) {
                ip = f + 14;
                if (n < 14 + 20 || ip[9] != 6 || memcmp(ip + 16, IP4, 4)) continue;
                size_t ihl = (size_t)(ip[0] & 15) * 4, tot = get16(ip + 2);
                if (ihl < 20 || tot < ihl + 20 || tot > (size_t)n - 14) continue;
                if (get16(ip + 6) & 0x3fff) continue; /* a fragment: not a whole segment */
                t = ip + ihl; seglen = tot - ihl; src = ip + 12; v6 = 0;
            } else if (type == 0x86dd) {
                ip = f + 14;
                if (n < 14 + 40) continue;
                size_t plen = get16(ip + 4);
                if (plen > (size_t)n - 54) continue;
                if (ip[6] == 58) { on_icmp6(f, ip, plen); continue; }
                if (ip[6] != 6 || plen < 20 || memcmp(ip + 24, IP6, 16)) continue;
                t = ip + 40; seglen = plen; src = ip + 8; v6 = 1;
            } else continue;

            size_t thl = (size_t)(t[12] >> 4) * 4;
            if (thl < 20 || thl > seglen) continue;
            uint32_t seq = get32(t + 4), len = (uint32_t)(seglen - thl);
            uint8_t flags = t[13];
            if (flags & 0x04) continue; /* RST */
            if (flags & 0x02) {         /* SYN: a (new) connection */
                memset(&c, 0, sizeof c);
                c.open = 1; c.v6 = v6;
                memcpy(c.peer_mac, f + 6, 6);
                memcpy(c.peer_ip, src, v6 ? 16 : 4);
                c.peer_port = get16(t); c.my_port = get16(t + 2);
                c.rcv_nxt = seq + 1;
                c.snd_nxt = 0x7a9ac000;
                send_tcp(0x12, 1); /* SYN|ACK */
                c.snd_nxt++;
                continue;
            }
            if (!c.open || c.v6 != v6 || get16(t) != c.peer_port || get16(t + 2) != c.my_port) continue;
            if (len) {
                if (seq == c.rcv_nxt) {
                    if (!data_frames) { t_first = clock_s(CLOCK_MONOTONIC); cpu_first = clock_s(CLOCK_PROCESS_CPUTIME_ID); }
                    data_frames++;
                    bytes += len;
                    c.rcv_nxt += len;
                    if (++c.pending >= ackevery) send_tcp(0x10, 0);
                } else {
                    ooo++;
                    send_tcp(0x10, 0); /* duplicate ACK */
                }
            }
            if ((flags & 0x01) && seq + len == c.rcv_nxt) {
                c.rcv_nxt++;
                t_end = clock_s(CLOCK_MONOTONIC); cpu_end = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                send_tcp(0x11, 0); /* FIN|ACK */
                c.snd_nxt++;
                fin = 1;
                break;
            }
        }
        if (c.open && c.acked != c.rcv_nxt) send_tcp(0x10, 0); /* queue drained */
        if (data_frames && !fin) t_end = clock_s(CLOCK_MONOTONIC); /* the last batch, for a run without FIN */
    }
    if (!fin) cpu_end = clock_s(CLOCK_PROCESS_CPUTIME_ID); /* waiting in poll() since costs none */

    double secs = t_end - t_first;
    printf("tapack family=%s bytes=%lld secs=%.3f MBps=%.1f Gbps=%.3f frames=%ld data_frames=%ld avg_payload=%.0f "
           "acks=%ld ooo=%ld ackevery=%d receiver_cpu_s=%.3f fin=%s\n",
           !c.open ? "none" : c.v6 ? "IPv6" : "IPv4", bytes, secs, secs > 0 ? bytes / secs / 1e6 : 0,
           secs > 0 ? bytes * 8 / secs / 1e9 : 0, frames, data_frames, data_frames ? (double)bytes / data_frames : 0,
           acks, ooo, ackevery, cpu_end - cpu_first, fin ? "yes" : "no");
    fflush(stdout);
    usleep(200000); /* the peer's last ACK reaches the device before it goes away */
    return fin ? 0 : 1;
}
