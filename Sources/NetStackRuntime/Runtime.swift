// The real-time driver of the stack core over Linux TAP/TUN devices (epoll,
// monotonic clock) arrives with the "real network" issue. The module exists now
// so the layering of DESIGN.md is visible from the start.

/// Marker for the runtime layer; the TAP/TUN driver lands in a later issue.
public enum NetStackRuntime {}
