#ifndef NETSTACK_ALLOCATION_COUNTER_H
#define NETSTACK_ALLOCATION_COUNTER_H

/// Heap allocations (malloc, calloc, realloc, aligned allocations) made by this
/// process so far. Linked only into the `netstack` executable, whose
/// `bench tcp` reports allocations per segment with it.
unsigned long long netstack_allocation_count(void);

#endif
