#!/usr/bin/env bash
# Installs, from Debian's packages, the kernel-side peers the interop tests
# (Tests/NetStackInteropTests; SOCKS5 servers for the tunnel's, radvd for SLAAC) and the hostile-network suite (Tests/NetStackHostileTests,
# scapy) run in their network namespaces, and the headless browser of the demo page's test (Tests/Browser), when missing.
# Idempotent and quiet: prints one line only when it installs something.
# Installing needs root; the interop tests themselves are skipped without it.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

# command -> Debian package. dnsmasq-base is the program without the system
# service (the `dnsmasq` package would start a resolver on the machine itself).
declare -A package=(
    [ip]=iproute2 [ss]=iproute2 [ping]=iputils-ping [dnsmasq]=dnsmasq-base [curl]=curl
    [python3]=python3 [socat]=socat [nc]=netcat-openbsd [sysctl]=procps [sha256sum]=coreutils
    [tshark]=tshark [ethtool]=ethtool [scapy]=python3-scapy [microsocks]=microsocks [danted]=dante-server
    [chromium]=chromium [chromedriver]=chromium-driver [radvd]=radvd
)

missing=()
for command in "${!package[@]}"; do
    command -v "$command" >/dev/null 2>&1 && continue
    case " ${missing[*]-} " in *" ${package[$command]} "*) ;; *) missing+=("${package[$command]}") ;; esac
done
# Selenium is a module, not a command (for Debian's own python3, which the browser test runs under).
/usr/bin/python3 -c 'import selenium' >/dev/null 2>&1 || missing+=(python3-selenium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "scripts/interop-deps.sh: missing ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "== installing ${missing[*]} for the interop tests"
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt's chatter goes to the log, shown only when something fails.
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
