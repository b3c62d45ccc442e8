#ifndef CNETSTACKSHIM_H
#define CNETSTACKSHIM_H
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <signal.h>

/// Opens /dev/net/tun and attaches a TAP (tap != 0: Ethernet frames) or TUN
/// (IP packets) interface named `name` (which must exist: -ENXIO if not), without packet
/// information headers, non-blocking, close-on-exec. Writes the kernel's name
/// of the interface into `actual` (IFNAMSIZ bytes). Returns the fd or -errno.
/// `offload` (may be NULL): when it points at a non-zero value, asks for IFF_VNET_HDR
/// with a 10-byte struct virtio_net_hdr (TUNSETVNETHDRSZ) and TUNSETOFFLOAD
/// TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6; left as is when granted, set to -errno (and the device
/// attached without them) when the kernel refused. Without offload, the device's offloads
/// are turned off (TUNSETOFFLOAD 0): a persistent device keeps those an earlier opener set.
int ns_tun_open(const char *name, int tap, char *actual, int *offload);

/// Like ns_tun_open, but opens the device inside the network namespace at
/// `netns` (e.g. /var/run/netns/NAME; NULL: the current one) by switching the
/// calling thread into it and back. Also reads the device's MTU into `mtu`.
int ns_tun_open_in(const char *netns, const char *name, int tap, char *actual, int *mtu, int *offload);

/// Reads the MTU of interface `name` (SIOCSIFMTU on a helper socket). 0 or -errno.
int ns_interface_mtu(const char *name, int *mtu);

/// TUNGETIFF on an open tun/tap descriptor (one handed over by another process):
/// the interface's name (IFNAMSIZ bytes into `name`), whether it is a TAP, and
/// whether frames carry a packet-information header (IFF_NO_PI unset). 0 or -errno
/// (-EBADFD: not attached to an interface; -EINVAL/-ENOTTY: not a tun/tap descriptor).
int ns_tun_info(int fd, char *name, int *tap, int *packet_info);

/// The MTU of the interface the tun/tap descriptor `fd` is attached to (named `name`),
/// read in the device's own network namespace (TUNGETDEVNETNS, needs CAP_NET_ADMIN);
/// in the current namespace when that is not possible. 0 or -errno.
int ns_tun_mtu(int fd, const char *name, int *mtu);

/// Blocks SIGINT and SIGTERM in the calling thread (and threads it creates) and
/// returns a non-blocking signalfd that reads them, or -errno.
int ns_signalfd_int_term(void);

/// EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP as plain integers.
uint32_t ns_epollin(void);
uint32_t ns_epollout(void);
uint32_t ns_epollerr(void);
uint32_t ns_epollhup(void);
/// epoll_wait with a nanosecond timeout (negative: forever), through epoll_pwait2 (Linux 5.11):
/// a pacing or retransmission deadline 300 µs away is slept 300 µs, not a whole millisecond.
/// Falls back to epoll_wait, the timeout rounded up to milliseconds, where the kernel lacks it.
/// Returns the number of ready events, or -1 with errno set.
int ns_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, int64_t timeout_ns);
/// accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC): the new fd, or -1 with errno set.
int ns_accept_nonblock(int listener);
#endif
