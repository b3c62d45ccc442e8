/* tcpsend.c - a kernel-side bulk TCP sender for either IP version, for bench-tap.sh's IPv6 rows
 * (the anchors' blast speaks IPv4 only). It sends as blast's "tcp" mode does, so the two families
 * are measured alike: the same tool for the IPv4 and the IPv6 row of a comparison.
 *
 *   tcpsend ADDR PORT BYTES MAXSEC
 *       ADDR is numeric, IPv4 or IPv6. Connects (retrying for up to 5 s while the peer starts),
 *       write()s BYTES in 64 KiB writes, shuts its side down and waits for the peer's FIN.
 *       Prints "tcpsend bytes=N secs=S MBps=M sender_cpu_s=C": the time from the first write
 *       to the peer's FIN.
 *
 * Bounded by BYTES and MAXSEC (an alarm ends a run that hangs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: tcpsend ADDR PORT BYTES MAXSEC\n"); return 2; }
    long long bytes = atoll(argv[3]);
    int maxsec = atoi(argv[4]);
    if (bytes <= 0 || maxsec <= 0) { fprintf(stderr, "tcpsend: BYTES and MAXSEC must be positive\n"); return 2; }
    alarm(maxsec + 10);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *peer;
    int err = getaddrinfo(argv[1], argv[2], &hints, &peer);
    if (err) { fprintf(stderr, "tcpsend: %s: %s\n", argv[1], gai_strerror(err)); return 2; }
    int fd = -1;
    for (int tries = 0; tries < 50; tries++) {
        fd = socket(peer->ai_family, SOCK_STREAM, 0);
        if (fd < 0) { perror("socket"); return 1; }
        if (connect(fd, peer->ai_addr, peer->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
        usleep(100000);
    }
    freeaddrinfo(peer);
    if (fd < 0) { perror("connect"); return 1; }
    static char chunk[65536];
    memset(chunk, 'a', sizeof chunk);
    long long sent = 0;
    double start = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
    double deadline = start + maxsec;
    while (sent < bytes) {
        size_t n = bytes - sent < (long long)sizeof chunk ? (size_t)(bytes - sent) : sizeof chunk;
        ssize_t w = write(fd, chunk, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            perror("write");
            break;
        }
        sent += w;
        if (seconds(CLOCK_MONOTONIC) > deadline) { fprintf(stderr, "tcpsend: time limit\n"); break; }
    }
    shutdown(fd, SHUT_WR);
    char sink[256];
    while (read(fd, sink, sizeof sink) > 0) {}
    double elapsed = seconds(CLOCK_MONOTONIC) - start;
    printf("tcpsend bytes=%lld secs=%.3f MBps=%.1f sender_cpu_s=%.3f\n", sent, elapsed, sent / elapsed / 1e6,
           seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu);
    close(fd);
    return sent == bytes ? 0 : 1;
}
