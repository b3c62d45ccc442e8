#ifndef NETSTACK_ALLOCATION_COUNTER_H
#define NETSTACK_ALLOCATION_COUNTER_H

/// Heap allocations (malloc, calloc, realloc, aligned allocations) made by this
/// process so far. Linked only into the `netstack` executable, whose
/// `bench tcp` reports allocations per segment with it.
unsigned long long netstack_allocation_count(void);

/// Bytes of heap in use now (glibc's mallinfo2: allocated arena bytes plus
/// mmapped blocks). `bench connections` divides its growth by connections.
unsigned long long netstack_heap_in_use(void);

#endif
