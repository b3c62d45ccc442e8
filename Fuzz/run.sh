#!/usr/bin/env bash
# Builds every NetStack fuzzer with libFuzzer and AddressSanitizer, seeds its
# corpus from the golden captures, runs it, and reports execs/s and crashes.
#
# Usage: Fuzz/run.sh [SECONDS_PER_TARGET] [FuzzX ...]
#   SECONDS_PER_TARGET  how long each fuzzer runs (default 20)
#   FuzzX ...           which fuzzers (default: all of them)
#
# Corpora grow under Fuzz/corpus/<target>; inputs that once found a bug are kept
# in Fuzz/regressions/<target> (committed) and run first. Crashing inputs and logs land in
# Fuzz/artifacts/<target> (both git-ignored). Exits non-zero when any fuzzer
# fails to build, crashes, leaks, times out or breaks an invariant.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
seconds=${1:-20}
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(FuzzEthernet FuzzARP FuzzIPv4 FuzzICMPv4 FuzzUDP FuzzTCP FuzzDNS FuzzPcap FuzzDHCP
             FuzzIPv6 FuzzICMPv6 FuzzNDP FuzzMLD FuzzIPv6Address
             FuzzStack FuzzResolver FuzzHTTPRequest FuzzHTTPResponse FuzzControl)
fi

scratch=.build-fuzz
mkdir -p "$scratch" Fuzz/corpus Fuzz/artifacts

# The system's gold linker stops with an internal error on ASan objects, so
# link with the toolchain's lld; a toolset file is how SwiftPM takes a linker.
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
toolset="$root/$scratch/fuzz-toolset.json"
printf '{ "schemaVersion": "1.0", "linker": { "path": "%s/ld.lld" } }\n' "$swift_bin" > "$toolset"

python3 Fuzz/seed-corpus.py Tests/Fixtures/captures Fuzz/corpus || exit 2

build_flags=(-c release --package-path Fuzz --scratch-path "$scratch" --toolset "$toolset"
             -Xswiftc -sanitize=fuzzer,address)
bin_path=$(swift build "${build_flags[@]}" --show-bin-path) || exit 2

failed=0
summary=()
for target in "${targets[@]}"; do
    echo "=== $target: building"
    if ! swift build "${build_flags[@]}" --product "$target"; then
        summary+=("$target: BUILD FAILED")
        failed=1
        continue
    fi
    artifacts="Fuzz/artifacts/$target"
    mkdir -p "$artifacts" "Fuzz/corpus/$target"
    log="$artifacts/fuzz.log"
    echo "=== $target: fuzzing for ${seconds}s (log: $log)"
    corpora=("Fuzz/corpus/$target")
    [ -d "Fuzz/regressions/$target" ] && corpora+=("Fuzz/regressions/$target")
    SWIFT_BACKTRACE=enable=no "$bin_path/$target" "${corpora[@]}" \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" > "$log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ "$status" -eq 0 ]; then
        summary+=("$target: ok, ${runs:-?} runs, ${execs:-?} execs/s, ${coverage:-cov: ?}")
    else
        failed=1
        summary+=("$target: FAILED (exit $status), ${execs:-?} execs/s; see $log")
        grep -m3 -E 'ERROR: |Fatal error|invariant broken|deadly signal|timeout' "$log" | sed 's/^/    /'
        for crash in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
            [ -e "$crash" ] || continue
            summary+=("    input $crash: $(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().hex())' "$crash")")
        done
    fi
done

echo
echo "=== fuzzing summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
