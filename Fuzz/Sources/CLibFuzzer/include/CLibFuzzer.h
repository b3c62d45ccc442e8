// libFuzzer's entry point for programs that have their own main
// (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
// Only a declaration: the definition comes from the libFuzzer runtime that
// `-sanitize=fuzzer` links in.

#ifndef NETSTACK_CLIBFUZZER_H
#define NETSTACK_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the given command line, calling `UserCb` once per input.
/// Returns the process exit status libFuzzer wants (non-zero after a crash it caught).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
