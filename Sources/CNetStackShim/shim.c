#define _GNU_SOURCE
#include <sched.h>
#include "CNetStackShim.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <time.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_tun.h>

// Opens and attaches; `flags` adds IFF_VNET_HDR or not.
static int tun_attach(const char *name, int tap, short flags, char *actual) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | flags;
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &request) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    if (actual) memcpy(actual, request.ifr_name, IFNAMSIZ);
    return fd;
}

// The virtio-net header and the offloads on an attached descriptor: 0 or -errno.
static int tun_offload(int fd) {
    int size = 10;  // struct virtio_net_hdr
    if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) return -errno;
#ifdef TUNSETVNETLE
    int little = 1;
    (void)ioctl(fd, TUNSETVNETLE, &little);  // already so on a little-endian machine; EINVAL on old kernels
#endif
    // TSO6 too: the kernel then hands over IPv6 TCP super-segments as it does IPv4 ones.
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) return -errno;
    return 0;
}

int ns_tun_open(const char *name, int tap, char *actual, int *offload) {
    // Attach only to a device that exists: TUNSETIFF would silently create a new,
    // unconfigured one for a mistyped name.
    if (if_nametoindex(name) == 0) return -ENXIO;
    if (offload && *offload) {
        int fd = tun_attach(name, tap, IFF_VNET_HDR, actual);
        if (fd < 0) {
            *offload = fd;
        } else {
            int refused = tun_offload(fd);
            if (refused == 0) return fd;
            *offload = refused;
            close(fd);
        }
        // Refused: the plain device, one frame per read and write.
    }
    int fd = tun_attach(name, tap, 0, actual);
    // A persistent device keeps the offloads an earlier opener asked for: without a
    // virtio-net header to say so, the kernel would hand over partial checksums.
    if (fd >= 0) (void)ioctl(fd, TUNSETOFFLOAD, 0UL);
    return fd;
}

// SIOCGIFMTU for `name` through `sock`, which it closes: the interface is looked
// up in the namespace the socket was made in.
static int mtu_through(int sock, const char *name, int *mtu) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int result = ioctl(sock, SIOCGIFMTU, &request);
    int error = errno;
    close(sock);
    if (result < 0) return -error;
    *mtu = request.ifr_mtu;
    return 0;
}

int ns_interface_mtu(const char *name, int *mtu) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -errno;
    return mtu_through(sock, name, mtu);
}

int ns_signalfd_int_term(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -EINVAL;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

uint32_t ns_epollin(void) { return EPOLLIN; }
uint32_t ns_epollout(void) { return EPOLLOUT; }
uint32_t ns_epollerr(void) { return EPOLLERR; }
uint32_t ns_epollhup(void) { return EPOLLHUP; }

int ns_tun_open_in(const char *netns, const char *name, int tap, char *actual, int *mtu, int *offload) {
    if (!netns) {
        int fd = ns_tun_open(name, tap, actual, offload);
        if (fd >= 0) ns_interface_mtu(actual, mtu);
        return fd;
    }
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return -errno;
    int target = open(netns, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        int error = errno;
        close(self);
        return -error;
    }
    if (setns(target, CLONE_NEWNET) != 0) {
        int error = errno;
        close(self);
        close(target);
        return -error;
    }
    int fd = ns_tun_open(name, tap, actual, offload);
    if (fd >= 0) ns_interface_mtu(actual, mtu);
    setns(self, CLONE_NEWNET);
    close(self);
    close(target);
    return fd;
}

int ns_accept_nonblock(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int ns_tun_info(int fd, char *name, int *tap, int *packet_info) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    if (ioctl(fd, TUNGETIFF, &request) < 0) return -errno;
    if (name) memcpy(name, request.ifr_name, IFNAMSIZ);
    *tap = (request.ifr_flags & IFF_TAP) != 0;
    *packet_info = (request.ifr_flags & IFF_NO_PI) == 0;
    return 0;
}

int ns_tun_mtu(int fd, const char *name, int *mtu) {
#ifdef TUNGETDEVNETNS
    // A descriptor handed over from another namespace names an interface there, not here.
    int netns = ioctl(fd, TUNGETDEVNETNS);
    if (netns >= 0) {
        int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int sock = -1;
        if (self >= 0 && setns(netns, CLONE_NEWNET) == 0) {
            // A socket stays in the namespace it was made in.
            sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            setns(self, CLONE_NEWNET);
        }
        if (self >= 0) close(self);
        close(netns);
        if (sock >= 0) return mtu_through(sock, name, mtu);
    }
#endif
    return ns_interface_mtu(name, mtu);
}

int ns_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, int64_t timeout_ns) {
#ifdef SYS_epoll_pwait2
    // Set once the kernel answers ENOSYS; racing threads can only both set it.
    static int lacks_pwait2;
    if (!__atomic_load_n(&lacks_pwait2, __ATOMIC_RELAXED)) {
        struct timespec timeout, *pointer = NULL;
        if (timeout_ns >= 0) {
            timeout.tv_sec = (time_t)(timeout_ns / 1000000000);
            timeout.tv_nsec = (long)(timeout_ns % 1000000000);
            pointer = &timeout;
        }
        long result = syscall(SYS_epoll_pwait2, epfd, events, maxevents, pointer, NULL, (size_t)8);
        if (result >= 0 || errno != ENOSYS) return (int)result;
        __atomic_store_n(&lacks_pwait2, 1, __ATOMIC_RELAXED);
    }
#endif
    int milliseconds = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
    return epoll_wait(epfd, events, maxevents, milliseconds);
}
