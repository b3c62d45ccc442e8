#ifndef CNETSTACKSHIM_H
#define CNETSTACKSHIM_H
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <signal.h>

/// Opens /dev/net/tun and attaches a TAP (tap != 0: Ethernet frames) or TUN
/// (IP packets) interface named `name` (created when missing), without packet
/// information headers, non-blocking, close-on-exec. Writes the kernel's name
/// of the interface into `actual` (IFNAMSIZ bytes). Returns the fd or -errno.
int ns_tun_open(const char *name, int tap, char *actual);

/// Sets the MTU of interface `name` (SIOCSIFMTU on a helper socket). 0 or -errno.
int ns_interface_mtu(const char *name, int *mtu);

/// Blocks SIGINT and SIGTERM in the calling thread (and threads it creates) and
/// returns a non-blocking signalfd that reads them, or -errno.
int ns_signalfd_int_term(void);

/// EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP as plain integers.
uint32_t ns_epollin(void);
uint32_t ns_epollout(void);
#endif
