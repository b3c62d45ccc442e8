#!/usr/bin/env bash
# Runs every NetStack test. First installs, from Debian's packages, what the
# tests use as oracles and peers (tshark decodes our captures), if missing.
# Needs root only for that install step; CI runs it as root on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "scripts/test.sh: needs ${missing[*]}; run as root (or install them) first" >&2
        exit 1
    fi
    echo "== installing ${missing[*]} from Debian"
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

quiet() { grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Applying)|^Test .* started|^◇ Test'; }

echo "== swift test (debug: every suite, runtime exclusivity checks on)"
swift test 2>&1 | quiet
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || exit "$status"

# The long TCP soak (100 MiB each way through a hostile link, 20 seeds) takes
# hours in a debug build and about two minutes in a release one.
echo "== swift test -c release --filter SoakTests"
swift test -c release -Xswiftc -enable-testing --scratch-path .build-release --filter SoakTests 2>&1 | quiet
exit "${PIPESTATUS[0]}"
