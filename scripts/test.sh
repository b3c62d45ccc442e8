#!/usr/bin/env bash
# Runs every NetStack test. First installs, from Debian's packages, what the
# tests use as oracles and peers (tshark decodes our captures; curl, dnsmasq,
# iputils-ping, python3, socat … talk to NetStack from the Linux kernel's side
# in the interop tests), if missing. Installing needs root; so do the interop
# tests (they create network namespaces) — CI runs this as root on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
    scripts/interop-deps.sh
else
    for tool in tshark python3; do
        command -v "$tool" >/dev/null 2>&1 || { echo "scripts/test.sh: needs $tool; run as root (or install it) first" >&2; exit 1; }
    done
    echo "== not root: the interop tests against the Linux kernel will be skipped"
fi

quiet() { grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Applying)|^Test .* started|^◇ Test'; }

# One release build serves the interop tests (NetStack as a real peer of the
# kernel, at full speed) and the long TCP soak below.
echo "== swift build -c release"
swift build -c release -Xswiftc -enable-testing --scratch-path .build-release 2>&1 | quiet
[ "${PIPESTATUS[0]}" = 0 ] || exit 1
export NETSTACK_BIN="$PWD/.build-release/release/netstack"

echo "== swift test (debug: every suite, runtime exclusivity checks on except the hot properties marked unchecked; interop tests use the release netstack)"
swift test 2>&1 | quiet
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || exit "$status"
if [ "$(id -u)" = 0 ]; then
    echo "== swift test --filter NetStackInteropTests, again with every serve on --offload on (virtio-net headers, TSO, GSO; not the impaired link, where --impair keeps offload off)"
    NETSTACK_INTEROP_OFFLOAD=on swift test --skip-build --filter NetStackInteropTests --skip ImpairedLink 2>&1 | quiet
    [ "${PIPESTATUS[0]}" = 0 ] || exit 1
fi

# The demo's HTML page in headless Chromium: stepped, clicked, compared with
# tshark's decoding; its three screenshots are kept under a temporary directory.
if command -v chromedriver >/dev/null 2>&1 && /usr/bin/python3 -c 'import selenium' >/dev/null 2>&1; then
    echo "== the demo's page in headless Chromium (Tests/Browser)"
    timeout 300 /usr/bin/python3 Tests/Browser/demo_page_test.py "$NETSTACK_BIN" "$(mktemp -d -t netstack-page-shots-XXXXXX)" || exit 1
else
    [ "$(id -u)" != 0 ] || { echo "scripts/test.sh: chromium-driver or python3-selenium missing" >&2; exit 1; }
    echo "== not root: chromium-driver or python3-selenium missing, the browser test of the demo's page is skipped"
fi

# A brief fuzz run of the stack and service fuzzers under ASan (root, i.e. CI, only).
[ "$(id -u)" != 0 ] || Fuzz/run.sh 20 FuzzStack FuzzHTTPRequest FuzzHTTPResponse FuzzResolver || exit 1

# The DocC documentation of every library target, with no warning (unresolved links …).
echo "== documentation (DocC)"
scripts/docs.sh || exit 1

# NetStack as another package's dependency by version: a throw-away tag on a
# clone of HEAD, a consumer using every library product, built and run.
echo "== consumer package"
scripts/consumer-test.sh || exit 1

# Examples/: three small programs using NetStack as a library, built; the
# simulated one (no device, no root) is also run.
echo "== examples"
swift build --package-path Examples 2>&1 | quiet
[ "${PIPESTATUS[0]}" = 0 ] || exit 1
timeout 300 swift run --skip-build --package-path Examples TwoLANTest || exit 1

# The long TCP soak (100 MiB each way through a hostile link, 20 seeds) takes
# hours in a debug build and about two minutes in a release one.
echo "== swift test -c release --filter SoakTests"
swift test -c release -Xswiftc -enable-testing --scratch-path .build-release --filter SoakTests 2>&1 | quiet
exit "${PIPESTATUS[0]}"
