// The interop tests against the Linux kernel. Each test makes a network
// namespace of its own with a persistent TAP (or TUN) device, runs
// `netstack` and the kernel's tools inside it, and deletes it at the end.
// They need root; as another user every test is skipped, saying why.
//
// One at a time: the bulk transfers compete for the CPU, and a busy machine
// would turn their timeouts into false failures.

import Testing

/// Every interop suite nests in this one, which serializes them and skips them without root.
@Suite("Interop with the Linux kernel", .serialized, .needsRoot)
struct InteropTests {}
