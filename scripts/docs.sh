#!/usr/bin/env bash
# Builds the DocC documentation of every library target (swift-docc-plugin's
# `swift package generate-documentation`) and fails if DocC warns about
# anything: an unresolved symbol link, an ambiguous one, a bad article.
#
#   scripts/docs.sh [TARGET …]      (default: every library product's target)
# Archives land in .build/plugins/Swift-DocC/outputs/TARGET.doccarchive.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(NetStackWire NetStackCore NetStackDevices NetStackSimulator NetStackServices NetStackRuntime)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
for target in "${targets[@]}"; do
    if ! swift package generate-documentation --target "$target" >"$log" 2>&1; then
        cat "$log" >&2
        echo "docs: $target: generate-documentation failed" >&2
        failed=1
        continue
    fi
    warnings=$(grep -c 'warning:' "$log" || true)
    if [ "$warnings" != 0 ]; then
        grep -A8 'warning:' "$log" >&2
        echo "docs: $target: $warnings DocC warnings" >&2
        failed=1
    else
        echo "docs: $target: no warnings"
    fi
done
exit "$failed"
